package cacheddb

import (
	"context"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cachestore"
	"github.com/djsession/djsession/internal/testenv"
	"github.com/djsession/djsession/pyvalue"
)

func benchSetup(b *testing.B) (*Store, *djangosession.Record) {
	addr := testenv.Memcached(b)
	tdb := openDBB(b)
	s := loadSettings(b, map[string]any{
		"SECRET_KEY": "bench", "SESSION_ENGINE": djangosession.EngineCachedDB, "USE_TZ": true,
		"DATABASES": map[string]any{"default": tdb.django},
		"CACHES":    map[string]any{"default": map[string]any{"BACKEND": cachestore.BackendPyMemcache, "LOCATION": addr}},
	})
	st, _ := newStores(b, tdb, s)
	d := pyvalue.NewDict(3)
	d.Set("_auth_user_id", "1")
	d.Set("_auth_user_backend", "django.contrib.auth.backends.ModelBackend")
	d.Set("_auth_user_hash", "0618db4cc18c08b09c2268f1900e29d1cf5eef02f321e78135302313d1fe7aa5")
	r := &djangosession.Record{Key: "benchkey12345678", Data: d, ExpiryAge: 1209600, ExpireDate: time.Now().Add(1209600 * time.Second)}
	if err := st.Save(context.Background(), r, true); err != nil {
		b.Fatal(err)
	}
	return st, r
}

// BenchmarkLoad: cache hit (no database), and cache miss (database read,
// expire_date read, cache refill).
func BenchmarkLoad(b *testing.B) {
	st, r := benchSetup(b)
	ctx := context.Background()
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := st.Load(ctx, &djangosession.Record{Key: r.Key}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			st.Cache().Delete(ctx, KeyPrefix+r.Key)
			if err := st.Load(ctx, &djangosession.Record{Key: r.Key}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSave: an update (database UPDATE, then cache set).
func BenchmarkSave(b *testing.B) {
	st, r := benchSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := st.Save(ctx, r, false); err != nil {
			b.Fatal(err)
		}
	}
}
