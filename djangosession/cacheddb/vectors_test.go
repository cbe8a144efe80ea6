package cacheddb

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cachestore"
	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
)

// TestCacheUnreachableVectors replays every cache_values.json "cache
// unreachable" case for the implemented clients against a cache address
// nothing listens on, for both engines: what raises, what is returned, and
// whether the row was written or updated.
func TestCacheUnreachableVectors(t *testing.T) {
	ctx := context.Background()
	down := map[string]map[string]any{
		"pymemcache": {"BACKEND": cachestore.BackendPyMemcache, "LOCATION": "127.0.0.1:1"},
		"pylibmc":    {"BACKEND": cachestore.BackendPyLibMC, "LOCATION": "127.0.0.1:1"},
		"redis":      {"BACKEND": cachestore.BackendRedis, "LOCATION": "redis://127.0.0.1:1/0"},
	}
	n := 0
	for _, c := range vectors.Select(vectors.Load(t, "cache_values.json"), "cache unreachable") {
		cache, ok := down[c.Str("client_library")]
		if !ok {
			continue // python-memcached
		}
		t.Run(c.Name(), func(t *testing.T) {
			c := c.WithT(t)
			tdb := openDB(t, "sqlite")
			s := loadSettings(t, map[string]any{
				"SECRET_KEY": "down", "TARGET_DJANGO_VERSION": c.DjangoVersion()[:3], "USE_TZ": true,
				"SESSION_ENGINE": "django.contrib.sessions.backends." + c.Str("session_backend"),
				"DATABASES":      map[string]any{"default": tdb.django},
				"CACHES":         map[string]any{"default": cache},
			})
			var logBuf bytes.Buffer
			st, dbs := newStores(t, tdb, s, WithLogger(slog.New(slog.NewTextHandler(&logBuf, nil))))
			var store djangosession.Store = st
			if c.Str("session_backend") == "cache" {
				cs, err := cachestore.New(s, cachestore.WithCache(st.Cache()))
				if err != nil {
					t.Fatal(err)
				}
				store = cs
			}
			m, err := djangosession.NewManager(store, s)
			if err != nil {
				t.Fatal(err)
			}
			raised := c.Str("outcome") == "raised"
			a1 := pyvalue.NewDict(1)
			a1.Set("a", int64(1))
			const key = "existingkey12345"
			row := &djangosession.Record{Key: key, Data: a1, ExpiryAge: 1209600, ExpireDate: time.Now().Add(time.Hour)}
			var err2 error
			switch c.Str("scenario") {
			case "save() of a new session":
				sess := m.Session("")
				sess.Set(ctx, "a", int64(1))
				err2 = sess.Save(ctx)
				if c.Has("db_row_written") {
					var rows int
					tdb.db.QueryRow("SELECT COUNT(*) FROM django_session").Scan(&rows)
					if (rows > 0) != c.Bool("db_row_written") {
						t.Errorf("rows %d", rows)
					}
				}
			case "load() of an existing key":
				sess := m.Session(key)
				d, err := sess.Data(ctx)
				err2 = err
				if err == nil && (d.Len() != 0 || sess.Key() != "") {
					t.Errorf("loaded %v key %q", d, sess.Key())
				}
			case "load() of a session that is in the DB":
				if err := dbs.Save(ctx, row, true); err != nil {
					t.Fatal(err)
				}
				d, err := m.Session(key).Data(ctx)
				err2 = err
				if err == nil && !pyvalue.Equal(d, a1) {
					t.Errorf("loaded %v", d)
				}
			case "save() of an existing session":
				if err := dbs.Save(ctx, row, true); err != nil {
					t.Fatal(err)
				}
				upd := pyvalue.NewDict(1)
				upd.Set("a", int64(2))
				err2 = st.Save(ctx, &djangosession.Record{Key: key, Data: upd, ExpiryAge: 100, ExpireDate: time.Now().Add(time.Hour)}, false)
				got := &djangosession.Record{Key: key}
				if err := dbs.Load(ctx, got); err != nil {
					t.Fatal(err)
				}
				if v, _ := got.Data.Get("a"); (v == int64(2)) != c.Bool("db_row_updated") {
					t.Errorf("row %v", got.Data)
				}
				if c.Has("logged") && !bytes.Contains(logBuf.Bytes(), []byte("Error saving to cache")) {
					t.Errorf("not logged: %q", logBuf.String())
				}
			default:
				t.Fatalf("unknown scenario %q", c.Str("scenario"))
			}
			if (err2 != nil) != raised {
				t.Fatalf("outcome %s, got error %v", c.Str("outcome"), err2)
			}
			if err2 != nil && !errors.Is(err2, djangosession.ErrUnavailable) {
				t.Fatalf("error %v is not ErrUnavailable", err2)
			}
			n++
		})
	}
	if n != 55 {
		t.Fatalf("%d cases", n)
	}
}
