package cachestore

import (
	"context"
	"fmt"
	"testing"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/testenv"
	"github.com/djsession/djsession/pyvalue"
)

// loginDict is the session django.contrib.auth.login leaves.
func loginDict() *pyvalue.Dict {
	return sessionDict("_auth_user_id", "1", "_auth_user_backend", "django.contrib.auth.backends.ModelBackend",
		"_auth_user_hash", "0618db4cc18c08b09c2268f1900e29d1cf5eef02f321e78135302313d1fe7aa5")
}

func benchStores(b *testing.B) map[string]*Store {
	addr := testenv.Memcached(b)
	raddr, db := testenv.Redis(b)
	out := map[string]*Store{}
	for name, c := range map[string]map[string]any{
		"pymemcache": {"BACKEND": BackendPyMemcache, "LOCATION": addr},
		"pylibmc":    {"BACKEND": BackendPyLibMC, "LOCATION": addr},
		"redis":      {"BACKEND": BackendRedis, "LOCATION": fmt.Sprintf("redis://%s/%d", raddr, db)},
	} {
		cfg, _ := jsonMarshal(map[string]any{"SECRET_KEY": "x", "CACHES": map[string]any{"default": c}})
		s, err := djangosession.LoadSettings(cfg)
		if err != nil {
			b.Fatal(err)
		}
		st, err := New(s)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		out[name] = st
	}
	return out
}

// BenchmarkLoad: one Store.Load of the login session (a get round trip
// and unpickling).
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	stores := benchStores(b)
	for _, name := range []string{"pymemcache", "pylibmc", "redis"} {
		st := stores[name]
		b.Run(name, func(b *testing.B) {
			key := "benchload" + name
			if err := st.Save(ctx, &djangosession.Record{Key: key, Data: loginDict(), ExpiryAge: 600}, true); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				r := &djangosession.Record{Key: key}
				if err := st.Load(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSave: one update save (Django's get-then-set, two round trips).
func BenchmarkSave(b *testing.B) {
	ctx := context.Background()
	stores := benchStores(b)
	for _, name := range []string{"pymemcache", "pylibmc", "redis"} {
		st := stores[name]
		b.Run(name, func(b *testing.B) {
			key := "benchsave" + name
			r := &djangosession.Record{Key: key, Data: loginDict(), ExpiryAge: 600}
			if err := st.Save(ctx, r, true); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := st.Save(ctx, r, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
