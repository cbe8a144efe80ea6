package cacheddb

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cachestore"
	"github.com/djsession/djsession/internal/testenv"
	"github.com/djsession/djsession/pyvalue"
)

func cfgFor(tdb *testDB, backend, location, version string) map[string]any {
	return map[string]any{
		"SECRET_KEY":            "cached-db-test",
		"TARGET_DJANGO_VERSION": version,
		"SESSION_ENGINE":        djangosession.EngineCachedDB,
		"DATABASES":             map[string]any{"default": tdb.django},
		"CACHES":                map[string]any{"default": map[string]any{"BACKEND": backend, "LOCATION": location}},
		"USE_TZ":                true,
	}
}

// TestLive exercises the engine on SQLite and PostgreSQL with a real
// memcached: the cache is written on every save with get_expiry_age(), a
// hit never touches the database (even a deleted row is served: the cache
// is trusted), a miss reads the row and refills the cache with the seconds
// left until expire_date, a garbled row is cached as {}, delete removes
// both, exists consults both.
func TestLive(t *testing.T) {
	addr := testenv.Memcached(t)
	ctx := context.Background()
	for _, name := range []string{"sqlite", "postgresql"} {
		t.Run(name, func(t *testing.T) {
			tdb := openDB(t, name)
			s := loadSettings(t, cfgFor(tdb, cachestore.BackendPyLibMC, addr, "4.2"))
			st, dbs := newStores(t, tdb, s)
			m, err := djangosession.NewManager(st, s)
			if err != nil {
				t.Fatal(err)
			}
			sess := m.Session("")
			sess.Set(ctx, "a", int64(1))
			if err := sess.SetExpiry(ctx, int64(5000)); err != nil {
				t.Fatal(err)
			}
			if err := sess.Save(ctx); err != nil {
				t.Fatal(err)
			}
			key := sess.Key()
			stored := ":1:" + KeyPrefix + key
			v, flags, ttl, ok := testenv.MemcachedMetaGet(t, addr, stored)
			if !ok || flags != 1 || ttl < 4997 || ttl > 5000 {
				t.Fatalf("cache entry ok=%v flags=%d ttl=%d", ok, flags, ttl)
			}
			d, err := dbLoad(ctx, dbs, key)
			if err != nil {
				t.Fatal(err)
			}
			if !pyvalue.Equal(d, sessionOf(t, v)) {
				t.Fatalf("cache %v, row %v", sessionOf(t, v), d)
			}
			// Miss → DB → refill with the seconds left until expire_date.
			if _, err := st.Cache().Delete(ctx, KeyPrefix+key); err != nil {
				t.Fatal(err)
			}
			if d, err := m.Session(key).Data(ctx); err != nil || d.Len() != 2 {
				t.Fatalf("load after cache miss: %v %v", d, err)
			}
			if _, _, ttl, ok := testenv.MemcachedMetaGet(t, addr, stored); !ok || ttl < 4990 || ttl > 5000 {
				t.Fatalf("refill ok=%v ttl=%d", ok, ttl)
			}
			// Hit without the DB: delete the row behind the cache's back.
			if err := dbs.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			if d, err := m.Session(key).Data(ctx); err != nil || d.Len() != 2 {
				t.Fatalf("cache hit with the row gone: %v %v", d, err)
			}
			if ok, err := st.Exists(ctx, key); !ok || err != nil {
				t.Fatalf("exists via cache: %v %v", ok, err)
			}
			// Delete removes both.
			if err := st.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			if _, _, _, ok := testenv.MemcachedMetaGet(t, addr, stored); ok {
				t.Fatal("delete left the cache entry")
			}
			if ok, _ := st.Exists(ctx, key); ok {
				t.Fatal("exists after delete")
			}
			// A row that does not verify loads as {} and {} is cached.
			bad := m.Session("")
			bad.Set(ctx, "x", "y")
			if err := bad.Save(ctx); err != nil {
				t.Fatal(err)
			}
			st.Cache().Delete(ctx, KeyPrefix+bad.Key())
			if _, err := tdb.db.Exec(`UPDATE django_session SET session_data = 'garbled' WHERE session_key = `+ph(tdb, 1), bad.Key()); err != nil {
				t.Fatal(err)
			}
			if d, err := m.Session(bad.Key()).Data(ctx); err != nil || d.Len() != 0 {
				t.Fatalf("garbled row: %v %v", d, err)
			}
			if v, _, _, ok := testenv.MemcachedMetaGet(t, addr, ":1:"+KeyPrefix+bad.Key()); !ok || sessionOf(t, v).Len() != 0 {
				t.Fatalf("garbled row not cached as {}")
			}
			if err := st.ClearExpired(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func ph(tdb *testDB, n int) string {
	if tdb.name == "postgresql" {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

func dbLoad(ctx context.Context, dbs interface {
	Load(context.Context, *djangosession.Record) error
}, key string) (*pyvalue.Dict, error) {
	r := &djangosession.Record{Key: key}
	err := dbs.Load(ctx, r)
	return r.Data, err
}

func sessionOf(t *testing.T, pickled []byte) *pyvalue.Dict {
	t.Helper()
	v, err := pickleLoads(pickled)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := v.(*pyvalue.Dict)
	if !ok {
		t.Fatalf("cached %T", v)
	}
	return d
}

// TestCacheDown kills memcached and checks the per-version rules of
// DJANGO_FORMATS §4.4, each step on a fresh client as there: a new session
// cannot be saved (the exists probe fails); an update writes the row and
// then fails up to 5.0, or logs "Error saving to cache" and succeeds from
// 5.1; a load falls back to the DB, the refill quietly skipped with
// pymemcache (its get has just failed) and an error with pylibmc.
func TestCacheDown(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		version, backend string
		saveFails        bool
		loadFails        bool
	}{
		{"4.2", cachestore.BackendPyLibMC, true, true},
		{"5.2", cachestore.BackendPyLibMC, false, true},
		{"3.2", cachestore.BackendPyMemcache, true, false},
		{"6.0", cachestore.BackendPyMemcache, false, false},
	} {
		t.Run(tc.version+"/"+tc.backend[strings.LastIndex(tc.backend, ".")+1:], func(t *testing.T) {
			addr, kill := testenv.KillableMemcached(t)
			tdb := openDB(t, "sqlite")
			s := loadSettings(t, cfgFor(tdb, tc.backend, addr, tc.version))
			var logBuf bytes.Buffer
			st, dbs := newStores(t, tdb, s, WithLogger(slog.New(slog.NewTextHandler(&logBuf, nil))))
			m, _ := djangosession.NewManager(st, s)
			sess := m.Session("")
			sess.Set(ctx, "a", "b")
			if err := sess.Save(ctx); err != nil {
				t.Fatal(err)
			}
			key := sess.Key()
			kill()

			st, dbs = newStores(t, tdb, s, WithLogger(slog.New(slog.NewTextHandler(&logBuf, nil))))
			m, _ = djangosession.NewManager(st, s)
			fresh := m.Session("")
			fresh.Set(ctx, "n", "new")
			if err := fresh.Save(ctx); !errors.Is(err, djangosession.ErrUnavailable) {
				t.Fatalf("new session with the cache down: %v", err)
			}
			st, dbs = newStores(t, tdb, s, WithLogger(slog.New(slog.NewTextHandler(&logBuf, nil))))
			m, _ = djangosession.NewManager(st, s)
			upd := m.Session(key)
			_, err := upd.Data(ctx)
			if tc.loadFails != (err != nil) {
				t.Fatalf("load with the cache down: %v", err)
			}
			if err != nil && !errors.Is(err, djangosession.ErrUnavailable) {
				t.Fatalf("load error %v", err)
			}
			r := &djangosession.Record{Key: key, Data: func() *pyvalue.Dict {
				d := pyvalue.NewDict(1)
				d.Set("a", "updated")
				return d
			}(), ExpiryAge: 100, ExpireDate: time.Now().Add(100 * time.Second)}
			st, dbs = newStores(t, tdb, s, WithLogger(slog.New(slog.NewTextHandler(&logBuf, nil))))
			err = st.Save(ctx, r, false)
			if tc.saveFails != (err != nil) {
				t.Fatalf("update with the cache down: %v", err)
			}
			if !tc.saveFails && !strings.Contains(logBuf.String(), "Error saving to cache") {
				t.Errorf("nothing logged: %q", logBuf.String())
			}
			d, err := dbLoad(ctx, dbs, key)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := d.Get("a"); v != "updated" {
				t.Fatalf("row not updated before the cache failed: %v", d)
			}
		})
	}
}
