package dbstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/pyvalue"
)

// The session API over the db engine: create, read back, cycle, flush, and
// a logout racing a request (never resurrected).
func TestSessionOverStore(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, tdb *testDB) {
		s := settings(t, map[string]any{"USE_TZ": true})
		st := newStore(t, tdb, s)
		m, err := djangosession.NewManager(st, s)
		if err != nil {
			t.Fatal(err)
		}
		a := m.Session("")
		if err := a.Set(ctx, "user", "alice"); err != nil {
			t.Fatal(err)
		}
		if err := a.SetExpiry(ctx, int64(300)); err != nil {
			t.Fatal(err)
		}
		if err := a.Save(ctx); err != nil {
			t.Fatal(err)
		}
		key := a.Key()
		if len(key) != 32 {
			t.Fatalf("key %q", key)
		}
		b := m.Session(key)
		if v, err := b.GetString(ctx, "user"); err != nil || v != "alice" {
			t.Fatalf("read back %q, %v", v, err)
		}
		if age, err := b.ExpiryAge(ctx); err != nil || age != 300 {
			t.Fatalf("ExpiryAge %v, %v", age, err)
		}

		if err := b.CycleKey(ctx); err != nil {
			t.Fatal(err)
		}
		if b.Key() == key {
			t.Fatal("CycleKey kept the key")
		}
		if ok, _ := st.Exists(ctx, key); ok {
			t.Fatal("old key survives CycleKey")
		}
		if v, err := m.Session(b.Key()).GetString(ctx, "user"); err != nil || v != "alice" {
			t.Fatalf("after CycleKey: %q, %v", v, err)
		}

		// A request holding the session while another logs out.
		req := m.Session(b.Key())
		if _, _, err := req.Get(ctx, "user"); err != nil {
			t.Fatal(err)
		}
		logout := m.Session(b.Key())
		if err := logout.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := req.Set(ctx, "cart", int64(1)); err != nil {
			t.Fatal(err)
		}
		if err := req.Save(ctx); !errors.Is(err, djangosession.ErrSessionInterrupted) {
			t.Fatalf("save after logout = %v, want ErrSessionInterrupted", err)
		}
		if rows := tdb.rows(t, DefaultTable); len(rows) != 0 {
			t.Fatalf("rows after logout: %+v", rows)
		}
		// A key that is not stored loads as a new, empty session whose next
		// save creates a fresh key (a client never chooses its key).
		c := m.Session("attackerchosenkey0000000000000000")
		if n, err := c.Len(ctx); err != nil || n != 0 {
			t.Fatalf("unknown key: %d, %v", n, err)
		}
		if err := c.Set(ctx, "x", int64(1)); err != nil {
			t.Fatal(err)
		}
		if err := c.Save(ctx); err != nil {
			t.Fatal(err)
		}
		if c.Key() == "attackerchosenkey0000000000000000" || c.Key() == "" {
			t.Fatalf("saved under key %q", c.Key())
		}
	})
}

// Session-level interop: a Go Session and Django's SessionStore share rows.
func TestSessionInterop(t *testing.T) {
	peer.Require(t)
	ctx := context.Background()
	for _, b := range []backend{allBackends[0], allBackends[2], allBackends[3]} {
		t.Run(b.name, func(t *testing.T) {
			tdb := openDB(t, b)
			for _, ic := range []interopConfig{{true, "Asia/Kathmandu", false}, {false, "America/Chicago", false}} {
				t.Run(fmt.Sprintf("USE_TZ=%v", ic.useTZ), func(t *testing.T) {
					cfg := map[string]any{
						"SECRET_KEY": "session-interop", "TARGET_DJANGO_VERSION": "3.2",
						"SESSION_ENGINE": "django.contrib.sessions.backends.db",
						"DATABASES":      map[string]any{"default": tdb.django},
						"USE_TZ":         ic.useTZ, "TIME_ZONE": ic.zone,
					}
					s := settings(t, cfg)
					st := newStore(t, tdb, s)
					m, err := djangosession.NewManager(st, s)
					if err != nil {
						t.Fatal(err)
					}
					dj := startPeer(t, cfg, ic.zone)
					for i, exp := range []any{nil, int64(0), int64(4000)} {
						g := m.Session("")
						if err := g.Set(ctx, "n", int64(i)); err != nil {
							t.Fatal(err)
						}
						if exp != nil {
							if err := g.SetExpiry(ctx, exp); err != nil {
								t.Fatal(err)
							}
						}
						if err := g.Save(ctx); err != nil {
							t.Fatal(err)
						}
						res := dj.Do(t, peer.Call{Sub: "read", Args: []string{g.Key()}}).OK(t)
						data, _ := g.Data(ctx)
						if !res.Bool(t, "exists") || !pyvalue.Equal(res.Dict(t, "data"), data) {
							t.Fatalf("Django read %s, Go wrote %v", res, data)
						}
						bc, _ := g.ExpireAtBrowserClose(ctx)
						if res.Bool(t, "expire_at_browser_close") != bc {
							t.Fatalf("browser close: Django %s, Go %v", res, bc)
						}
						// Django modifies, Go reads.
						dj.Do(t, peer.Call{Sub: "modify", Args: []string{g.Key()}, Stdin: map[string]any{"set": map[string]any{"django": true}}}).OK(t)
						r := m.Session(g.Key())
						if v, err := r.GetBool(ctx, "django"); err != nil || !v {
							t.Fatalf("Go read Django's modification: %v, %v", v, err)
						}
					}
				})
			}
		})
	}
}
