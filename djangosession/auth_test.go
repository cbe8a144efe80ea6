package djangosession

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
)

const vectorPassword = "pbkdf2_sha256$600000$fixedsalt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

func TestAuthHashVectors(t *testing.T) {
	n := 0
	for _, c := range vectors.Select(vectors.Load(t, "auth_hash.json"), "get_session_auth_hash", "_legacy_get_session_auth_hash", "get_session_auth_fallback_hash") {
		c := c.WithT(t)
		s := caseSettings(t, c)
		pw := c.Str("password_field")
		switch c.Op() {
		case "get_session_auth_hash":
			if got := SessionAuthHash(s, pw); got != c.Str("result") {
				t.Errorf("%v: SessionAuthHash = %s, want %s", c, got, c.Str("result"))
			}
			if c.Has("check_sha1") {
				if got := LegacySessionAuthHash(s, pw); got != c.Str("check_sha1") {
					t.Errorf("%v: sha1 = %s", c, got)
				}
			}
		case "_legacy_get_session_auth_hash":
			if got := LegacySessionAuthHash(s, pw); got != c.Str("result") {
				t.Errorf("%v: LegacySessionAuthHash = %s", c, got)
			}
		case "get_session_auth_fallback_hash":
			var want []string
			for _, v := range c.List("result") {
				want = append(want, v.(string))
			}
			if got := SessionAuthFallbackHashes(s, pw); !reflect.DeepEqual(got, want) {
				t.Errorf("%v: fallback hashes %v, want %v", c, got, want)
			}
		}
		n++
	}
	if n != 20 {
		t.Errorf("%d cases, want 20", n)
	}
	// 3.2 has no fallback hashes even when the setting is present.
	s, _ := LoadSettings([]byte(`{"SECRET_KEY":"k","SECRET_KEY_FALLBACKS":["old"],"TARGET_DJANGO_VERSION":"3.2"}`))
	if fb := SessionAuthFallbackHashes(s, "x"); len(fb) != 0 {
		t.Errorf("3.2 fallback hashes %v", fb)
	}
}

func TestLoginVectors(t *testing.T) {
	ctx := context.Background()
	n := 0
	for _, c := range vectors.Select(vectors.Load(t, "auth_hash.json"), "login") {
		t.Run(c.Name(), func(t *testing.T) {
			c := c.WithT(t)
			js := `{"SECRET_KEY":"spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz","USE_TZ":true,"TARGET_DJANGO_VERSION":"` +
				c.DjangoVersion()[:3] + `"`
			if c.Has("settings", "DEFAULT_HASHING_ALGORITHM") {
				js += `,"DEFAULT_HASHING_ALGORITHM":"sha1"`
			}
			e := newTestEnv(t, js+`}`)
			s := e.m.Session("")
			uid := strings.TrimSpace(string(mustJSON(t, c.Value("user_pk"))))
			if err := Login(ctx, s, uid, c.Str("password_field"), ""); err != nil {
				t.Fatal(err)
			}
			want := c.Value("session_dict").(*pyvalue.Dict)
			got, _ := s.Data(ctx)
			if !pyvalue.Equal(got, want) {
				t.Fatalf("session %v, want %v", got, want)
			}
			// Django's stored value decodes to the same dict.
			assertDecodes(t, e.codec, c.Str("session_data"), want)
			if err := s.Save(ctx); err != nil {
				t.Fatal(err)
			}
			enc := e.store.rows[s.Key()].data
			if data := c.Str("session_data"); !strings.HasPrefix(data, ".") && enc != data {
				t.Errorf("stored %s, want %s", enc, data)
			}
			if exp := e.store.rows[s.Key()].expire.UTC().Format("2006-01-02T15:04:05+00:00"); exp != c.Str("expire_date") {
				t.Errorf("expire_date %s, want %s", exp, c.Str("expire_date"))
			}
			n++
		})
	}
	if n != 5 {
		t.Errorf("%d login cases", n)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := pyvalue.MarshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGetUserVectors(t *testing.T) {
	ctx := context.Background()
	n := 0
	for _, c := range vectors.Select(vectors.Load(t, "auth_hash.json"), "get_user") {
		t.Run(c.Name(), func(t *testing.T) {
			c := c.WithT(t)
			s := caseSettings(t, c)
			e := newTestEnv(t, string(mustJSON(t, settingsDict(t, s))))
			sess := e.m.Session("")
			must(t, sess.Set(ctx, SessionKeyUserID, "42"))
			must(t, sess.Set(ctx, SessionKeyBackend, ModelBackend))
			if h, _ := c.Lookup("session_hash"); h != nil {
				must(t, sess.Set(ctx, SessionKeyHash, h))
			}
			must(t, sess.Save(ctx))
			key := sess.Key()

			req := e.m.Session(key)
			res, err := VerifyAuth(ctx, req, vectorPassword)
			if err != nil {
				t.Fatal(err)
			}
			if res.Accepted != c.Bool("authenticated") {
				t.Errorf("Accepted %v, want %v", res.Accepted, c.Bool("authenticated"))
			}
			if changed := res.KeyAfter != key; changed != c.Bool("session_key_changed") {
				t.Errorf("key changed %v, want %v (%+v)", changed, c.Bool("session_key_changed"), res)
			}
			if res.Flushed == res.Accepted || res.KeyAfter != req.Key() {
				t.Errorf("inconsistent result %+v", res)
			}
			after, _ := req.Data(ctx)
			if want := c.Value("session_after"); !pyvalue.Equal(after, want) {
				t.Errorf("session after %v, want %v", after, want)
			}
			if res.Flushed {
				if _, ok := e.store.rows[key]; ok {
					t.Error("flushed session's record kept")
				}
			}
			if res.Rotated {
				if _, ok := e.store.rows[key]; ok {
					t.Error("old record kept after rotation")
				}
				must(t, req.Save(ctx))
				again, err := VerifyAuth(ctx, e.m.Session(req.Key()), vectorPassword)
				if err != nil || !again.Accepted || again.Rotated {
					t.Errorf("after rotation: %+v %v", again, err)
				}
			}
			n++
		})
	}
	if n != 30 {
		t.Errorf("%d get_user cases", n)
	}
}

func settingsDict(t *testing.T, s *Settings) *pyvalue.Dict {
	d := pyvalue.NewDict(0)
	d.Set("SECRET_KEY", s.SecretKey)
	d.Set("TARGET_DJANGO_VERSION", s.TargetDjangoVersion)
	d.Set("USE_TZ", true)
	if s.DefaultHashingAlgorithm != "" {
		d.Set("DEFAULT_HASHING_ALGORITHM", s.DefaultHashingAlgorithm)
	}
	fb := make([]any, 0)
	for _, k := range s.SecretKeyFallbacks {
		fb = append(fb, k)
	}
	d.Set("SECRET_KEY_FALLBACKS", fb)
	return d
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// login() from the three starting points of DJANGO_FORMATS.md §7.2.
func TestLoginTransitions(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, "")
	pw := vectorPassword

	// Anonymous session with data: cycled, data kept, old record gone.
	s := e.m.Session("")
	must(t, s.Set(ctx, "cart", "3 items"))
	must(t, s.Save(ctx))
	anonKey := s.Key()
	must(t, Login(ctx, s, "42", pw, ""))
	if s.Key() == anonKey || s.Key() == "" {
		t.Fatalf("anonymous login did not cycle the key")
	}
	if v, _, _ := s.Get(ctx, "cart"); v != "3 items" {
		t.Errorf("data lost on login: %v", v)
	}
	if _, ok := e.store.rows[anonKey]; ok {
		t.Error("anonymous record kept")
	}
	must(t, s.Save(ctx))
	userKey := s.Key()

	// Same user, same hash: key and data kept.
	s = e.m.Session(userKey)
	must(t, Login(ctx, s, "42", pw, ""))
	if s.Key() != userKey {
		t.Errorf("same-user login changed the key")
	}
	if v, _, _ := s.Get(ctx, "cart"); v != "3 items" {
		t.Errorf("same-user login lost data")
	}

	// Another user: flushed (no key, old data gone), then logged in.
	s = e.m.Session(userKey)
	must(t, Login(ctx, s, "7", pw, "myapp.Backend"))
	if s.Key() != "" {
		t.Errorf("other-user login kept key %q", s.Key())
	}
	if ok, _ := s.Has(ctx, "cart"); ok {
		t.Error("other-user login kept data")
	}
	if id, ok, _ := UserID(ctx, s); !ok || id != "7" {
		t.Errorf("UserID = %q %v", id, ok)
	}
	if b, _ := s.GetString(ctx, SessionKeyBackend); b != "myapp.Backend" {
		t.Errorf("backend %q", b)
	}

	// Same user, password changed: flushed.
	s = e.m.Session("")
	must(t, Login(ctx, s, "42", pw, ""))
	must(t, s.Save(ctx))
	s = e.m.Session(s.Key())
	must(t, Login(ctx, s, "42", pw+"x", ""))
	if s.Key() != "" {
		t.Errorf("changed-password login kept the key")
	}

	// The stored id compares as the pk's to_python does: 42 (int) and "042".
	for _, stored := range []any{int64(42), "042"} {
		s = e.m.Session("")
		must(t, s.Set(ctx, SessionKeyUserID, stored))
		must(t, s.Set(ctx, SessionKeyHash, SessionAuthHash(e.m.settings, pw)))
		must(t, s.Save(ctx))
		k := s.Key()
		must(t, Login(ctx, s, "42", pw, ""))
		if s.Key() != k {
			t.Errorf("stored id %#v: login flushed", stored)
		}
	}

	// A password change from this session keeps it logged in under a new
	// key; another user's session only gets a new key.
	s = e.m.Session("")
	must(t, Login(ctx, s, "42", pw, ""))
	must(t, s.Save(ctx))
	k := s.Key()
	must(t, UpdateSessionAuthHash(ctx, s, "42", pw+"2"))
	must(t, s.Save(ctx))
	if s.Key() == k {
		t.Error("UpdateSessionAuthHash kept the key")
	}
	if res, err := VerifyAuth(ctx, e.m.Session(s.Key()), pw+"2"); err != nil || !res.Accepted {
		t.Errorf("after UpdateSessionAuthHash: %+v %v", res, err)
	}
	h, _ := s.GetString(ctx, SessionKeyHash)
	must(t, UpdateSessionAuthHash(ctx, s, "7", pw+"3"))
	if h2, _ := s.GetString(ctx, SessionKeyHash); h2 != h {
		t.Error("UpdateSessionAuthHash for another user changed the hash")
	}

	// Logout flushes.
	must(t, Logout(ctx, s))
	if s.Key() != "" || !s.IsEmpty() {
		t.Error("logout did not flush")
	}
}

type mapUsers map[string]string

func (m mapUsers) PasswordHash(_ context.Context, id string) (string, error) {
	if pw, ok := m[id]; ok {
		return pw, nil
	}
	return "", ErrUserNotFound
}

func TestVerifyAuthAnonymousCases(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, "")
	mk := func(kv ...string) *Session {
		s := e.m.Session("")
		for i := 0; i < len(kv); i += 2 {
			must(t, s.Set(ctx, kv[i], kv[i+1]))
		}
		must(t, s.Save(ctx))
		return e.m.Session(s.Key())
	}
	hash := SessionAuthHash(e.m.settings, vectorPassword)
	tests := []struct {
		name string
		s    *Session
	}{
		{"no user", mk("a", "b")},
		{"no backend", mk(SessionKeyUserID, "42", SessionKeyHash, hash)},
		{"unknown backend", mk(SessionKeyUserID, "42", SessionKeyBackend, "other.Backend", SessionKeyHash, "bad")},
		{"user gone", mk(SessionKeyUserID, "99", SessionKeyBackend, ModelBackend, SessionKeyHash, "bad")},
	}
	for _, tt := range tests {
		key := tt.s.Key()
		res, err := VerifyAuthLookup(ctx, tt.s, mapUsers{"42": vectorPassword})
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted || res.Flushed || res.KeyAfter != key || tt.s.Key() != key {
			t.Errorf("%s: %+v (Django leaves the session alone)", tt.name, res)
		}
	}
	// A listed custom backend is accepted.
	e.m.settings.AuthenticationBackends = []string{"other.Backend"}
	s := mk(SessionKeyUserID, "42", SessionKeyBackend, "other.Backend", SessionKeyHash, hash)
	if res, err := VerifyAuthLookup(ctx, s, mapUsers{"42": vectorPassword}); err != nil || !res.Accepted {
		t.Errorf("custom backend: %+v %v", res, err)
	}
	// A lookup failure is an error, not a logout.
	s = mk(SessionKeyUserID, "42", SessionKeyBackend, "other.Backend", SessionKeyHash, hash)
	_, err := VerifyAuthLookup(ctx, s, failingUsers{})
	if !errors.Is(err, ErrUnavailable) || s.Key() == "" {
		t.Errorf("lookup failure: %v, key %q", err, s.Key())
	}
}

type failingUsers struct{}

func (failingUsers) PasswordHash(context.Context, string) (string, error) {
	return "", ErrUnavailable
}
