package cacheddb

import (
	"context"
	"fmt"
	"testing"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cachestore"
	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/internal/testenv"
	"github.com/djsession/djsession/pyvalue"
)

func interopData(i int) *pyvalue.Dict {
	d := pyvalue.NewDict(4)
	d.Set("i", int64(i))
	d.Set("s", fmt.Sprintf("caf\u00e9 \u4e2d %d \U0001F600", i))
	d.Set("f", 0.25+float64(i))
	d.Set("l", []any{int64(1), "two", nil, true})
	return d
}

// TestDjangoInterop pairs the engine with Django 3.2's cached_db on SQLite
// and PostgreSQL (pymemcache and pylibmc): each side reads what the other
// wrote, both from the cache and, with the cache entry removed, from the
// database row (which the reader then puts back in the cache).
func TestDjangoInterop(t *testing.T) {
	peer.Require(t)
	addr := testenv.Memcached(t)
	ctx := context.Background()
	total := 0
	for _, name := range []string{"sqlite", "postgresql"} {
		for _, backend := range []string{cachestore.BackendPyMemcache, cachestore.BackendPyLibMC} {
			t.Run(name+"/"+backend[len("django.core.cache.backends.memcached."):], func(t *testing.T) {
				tdb := openDB(t, name)
				cfg := cfgFor(tdb, backend, addr, "3.2")
				cfg["CACHES"].(map[string]any)["default"].(map[string]any)["KEY_PREFIX"] = name + backend[len(backend)-8:]
				s := loadSettings(t, cfg)
				st, _ := newStores(t, tdb, s)
				m, _ := djangosession.NewManager(st, s)
				dj := peer.Django(t).Start(t, cfg)
				for i := 0; i < 8; i++ {
					data := interopData(i)
					res := dj.Do(t, peer.Call{Sub: "write", Stdin: []byte(`{"data":` + string(mustJSON(t, data)) + `}`)}).OK(t)
					key := res.Str(t, "session_key")
					for pass := 0; pass < 2; pass++ {
						if pass == 1 {
							// Force the database path.
							st.Cache().Delete(ctx, KeyPrefix+key)
						}
						got, err := m.Session(key).Data(ctx)
						if err != nil || !pyvalue.Equal(got, data) {
							t.Fatalf("pass %d: Go read %v (%v), Django wrote %v", pass, got, err, data)
						}
						if pass == 1 {
							// The refill's TTL is the time left until the
							// row Django wrote expires.
							stored := st.Cache().MakeKey(KeyPrefix + key)
							if _, _, ttl, ok := testenv.MemcachedMetaGet(t, addr, stored); !ok || ttl > 1209600 || ttl < 1209590 {
								t.Fatalf("refill ttl %d (%v)", ttl, ok)
							}
						}
					}
					total++
				}
				for i := 0; i < 8; i++ {
					data := interopData(50 + i)
					sess := m.Session("")
					sess.Update(ctx, data)
					if err := sess.Save(ctx); err != nil {
						t.Fatal(err)
					}
					key := sess.Key()
					for pass := 0; pass < 2; pass++ {
						if pass == 1 {
							st.Cache().Delete(ctx, KeyPrefix+key)
						}
						res := dj.Do(t, peer.Call{Sub: "read", Args: []string{key}}).OK(t)
						if !res.Bool(t, "exists") || !pyvalue.Equal(res.Dict(t, "data"), data) {
							t.Fatalf("pass %d: Django read %s, Go wrote %v", pass, res, data)
						}
					}
					// Django's refill is readable by Go again.
					if v, ok, err := st.Cache().Get(ctx, KeyPrefix+key); err != nil || !ok || !pyvalue.Equal(v, data) {
						t.Fatalf("Django's refill: %v %v %v", v, ok, err)
					}
					dj.Do(t, peer.Call{Sub: "delete", Args: []string{key}}).OK(t)
					if ok, err := st.Exists(ctx, key); ok || err != nil {
						t.Fatalf("exists after Django's delete: %v %v", ok, err)
					}
					total++
				}
			})
		}
	}
	t.Logf("%d interop sessions", total)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := pyvalue.MarshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
