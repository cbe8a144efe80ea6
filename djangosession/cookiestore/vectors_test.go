package cookiestore

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
	"github.com/djsession/djsession/signing"
)

const (
	frozen     = 1700000000
	specSecret = "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
	oldSecret  = "spec-old-secret-key-ZYXWVUTSRQPONMLKJIHGFEDCBA"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func settingsFrom(t testing.TB, m map[string]any, version string) *djangosession.Settings {
	t.Helper()
	m["SESSION_ENGINE"] = "django.contrib.sessions.backends.signed_cookies"
	if version != "" {
		p := strings.SplitN(version, ".", 3)
		m["TARGET_DJANGO_VERSION"] = p[0] + "." + p[1]
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s, err := djangosession.LoadSettings(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func caseSettings(t *testing.T, c vectors.Case) *djangosession.Settings {
	m := map[string]any{}
	d := c.Dict("settings")
	for i := 0; i < d.Len(); i++ {
		k, v := d.At(i)
		m[k.(string)] = v
	}
	return settingsFrom(t, m, c.DjangoVersion())
}

func newStore(t testing.TB, s *djangosession.Settings, c *clock) *Store {
	t.Helper()
	st, err := New(s, WithClock(c.now))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func dictOf(kv ...any) *pyvalue.Dict {
	d := pyvalue.NewDict(len(kv) / 2)
	for i := 0; i+1 < len(kv); i += 2 {
		d.Set(kv[i], kv[i+1])
	}
	return d
}

func sameDict(a *pyvalue.Dict, b any) bool {
	bd, ok := b.(*pyvalue.Dict)
	if !ok || a == nil || !pyvalue.Equal(a, bd) || a.Len() != bd.Len() {
		return false
	}
	for i := 0; i < a.Len(); i++ {
		k1, _ := a.At(i)
		k2, _ := bd.At(i)
		if !pyvalue.Equal(k1, k2) {
			return false
		}
	}
	return true
}

func TestVectors(t *testing.T) {
	cases := vectors.Load(t, "signed_cookies.json")
	if len(cases) != 90 {
		t.Fatalf("%d cases, want 90", len(cases))
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			c := c.WithT(t)
			s := caseSettings(t, c)
			clk := &clock{time.Unix(frozen, 0)}
			switch c.Op() {
			case "save":
				st := newStore(t, s, clk)
				clk.t = time.Unix(c.Int("frozen_time"), 0)
				r := djangosession.Record{Key: "ignored", Data: c.Value("session_dict").(*pyvalue.Dict)}
				if err := st.Save(ctx, &r, true); err != nil {
					t.Fatal(err)
				}
				want := c.Str("cookie_value")
				if !strings.HasPrefix(want, ".") && !strings.HasPrefix(r.Key, ".") {
					if r.Key != want {
						t.Fatalf("cookie\n got %s\nwant %s", r.Key, want)
					}
				} else {
					// Compressed on either side: Go's deflate bytes (and so
					// sometimes the keep-compressed decision) differ from
					// CPython's zlib (signing package doc). The serialized
					// payload inside must still be Django's, byte for byte,
					// the timestamp the same, and Django's value must load.
					gp, _ := payloadOf(t, r.Key)
					wp, wts := payloadOf(t, want)
					if string(gp) != string(wp) {
						t.Fatalf("serialized payload\n got %q\nwant %q", gp, wp)
					}
					if _, gts := payloadOf(t, r.Key); gts != wts {
						t.Fatalf("timestamp %s, want %s", gts, wts)
					}
					dj := djangosession.Record{Key: want}
					if err := st.Load(ctx, &dj); err != nil || !sameDict(dj.Data, c.Value("session_dict")) {
						t.Fatalf("Django's cookie loads as %v, %v", dj.Data, err)
					}
				}
				// And it reads back.
				r2 := djangosession.Record{Key: r.Key}
				if err := st.Load(ctx, &r2); err != nil || !sameDict(r2.Data, c.Value("session_dict")) {
					t.Fatalf("read back %v, %v", r2.Data, err)
				}
			case "load":
				st := newStore(t, s, clk)
				clk.t = time.Unix(c.Int("now"), 0)
				r := djangosession.Record{Key: c.Str("cookie_value")}
				err := st.Load(ctx, &r)
				want := c.Value("loaded").(*pyvalue.Dict)
				modified := c.Has("modified_after_load") && c.Bool("modified_after_load")
				// Through a Session, as Django's SessionStore: a failed load
				// keeps the cookie as the key and sets modified.
				if c.Has("modified_after_load") {
					m, err := djangosession.NewManager(st, s, djangosession.WithClock(clk.now))
					if err != nil {
						t.Fatal(err)
					}
					sess := m.Session(c.Str("cookie_value"))
					d, err := sess.Data(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if sess.Modified() != modified || sess.Key() != c.Str("session_key_after_load") || !sameDict(d, want) {
						t.Fatalf("Session: modified %v key %q data %v", sess.Modified(), sess.Key(), d)
					}
				}
				if want.Len() == 0 || modified {
					// Django: create() -> modified, data {}, key kept.
					if !errors.Is(err, djangosession.ErrNotFound) {
						t.Fatalf("err = %v, want ErrNotFound", err)
					}
					if r.Key != c.StrOr(c.Str("cookie_value"), "session_key_after_load") {
						t.Fatalf("key changed to %q", r.Key)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !sameDict(r.Data, want) {
					t.Fatalf("loaded %v, want %v", r.Data, want)
				}
			case "cycle_key":
				// Django: cycle_key() = save(): the data re-signed with a new
				// timestamp; the old cookie keeps verifying.
				st := newStore(t, s, clk)
				before := c.Str("before")
				r := djangosession.Record{Key: before}
				if err := st.Load(ctx, &r); err != nil {
					t.Fatal(err)
				}
				after := c.Str("after")
				ts, err := signing.B62Decode(strings.Split(after, ":")[1])
				if err != nil {
					t.Fatal(err)
				}
				clk.t = time.Unix(ts, 0)
				r.Data.Set("b", int64(2))
				if err := st.Save(ctx, &r, false); err != nil {
					t.Fatal(err)
				}
				if r.Key != after {
					t.Fatalf("after cycle\n got %s\nwant %s", r.Key, after)
				}
				old := djangosession.Record{Key: before}
				if err := st.Load(ctx, &old); err != nil {
					t.Fatalf("old cookie no longer valid: %v", err)
				}
			case "delete":
				// Django: key -> None, data {}, modified; nothing stored, so
				// the engine's Delete is a no-op and Exists stays false.
				st := newStore(t, s, clk)
				if err := st.Delete(ctx, "eyJhIjoxfQ:1r31eq:VplhdrUFi_Fm_9wAMUYIHMZLeCyz4tNA7t1-6ly1DeY"); err != nil {
					t.Fatal(err)
				}
				if ok, err := st.Exists(ctx, "eyJhIjoxfQ:1r31eq:VplhdrUFi_Fm_9wAMUYIHMZLeCyz4tNA7t1-6ly1DeY"); ok || err != nil {
					t.Fatalf("Exists = %v, %v", ok, err)
				}
				if c.Bool("is_empty") != true || c.Bool("modified") != true {
					t.Fatal("vector changed")
				}
			default:
				t.Fatalf("unhandled op %q", c.Op())
			}
		})
	}
}

// payloadOf returns the serialized (decompressed) payload of a cookie value
// and its base-62 timestamp.
func payloadOf(t *testing.T, v string) ([]byte, string) {
	t.Helper()
	parts := strings.Split(v, ":")
	if len(parts) != 3 {
		t.Fatalf("not a signed value: %q", v)
	}
	data, _, err := signing.DecodePayload(parts[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	return data, parts[1]
}
