package djangosession_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cookiestore"
	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/pyvalue"
)

// TestLiveAuthDjango32 logs users in on one side and verifies them on the
// other (django.contrib.auth.login / get_user of Debian's Django 3.2), over
// the signed_cookies engine so that no database is needed: the session is
// the cookie. Both hash algorithms of 3.2 are covered.
func TestLiveAuthDjango32(t *testing.T) {
	django := peer.Django(t)
	ctx := context.Background()
	for _, alg := range []string{"sha256", "sha1"} {
		t.Run(alg, func(t *testing.T) {
			cfg := map[string]any{
				"SECRET_KEY":                "live-auth-secret-\u00fc",
				"SESSION_ENGINE":            djangosession.EngineSignedCookies,
				"DEFAULT_HASHING_ALGORITHM": alg,
				"TARGET_DJANGO_VERSION":     "3.2",
			}
			s, err := djangosession.LoadSettings(mustJSONMap(t, cfg))
			if err != nil {
				t.Fatal(err)
			}
			store, err := cookiestore.New(s)
			if err != nil {
				t.Fatal(err)
			}
			m, err := djangosession.NewManager(store, s)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, map[string]uint64{"sha256": 1, "sha1": 2}[alg]))
			type user struct{ id, pw, other string }
			users := make([]user, 60)
			var calls []peer.Call
			goCookies := make([]string, len(users))
			for i := range users {
				u := user{
					id:    fmt.Sprint(1 + r.IntN(1e6)),
					pw:    fmt.Sprintf("pbkdf2_sha256$600000$s%d$h\u00e9%x=", i, r.Uint64()),
					other: fmt.Sprintf("argon2$new%x", r.Uint64()),
				}
				users[i] = u
				// Go logs in.
				sess := m.Session("")
				if err := djangosession.Login(ctx, sess, u.id, u.pw, ""); err != nil {
					t.Fatal(err)
				}
				if err := sess.Save(ctx); err != nil {
					t.Fatal(err)
				}
				goCookies[i] = sess.Key()
				calls = append(calls,
					peer.Call{Sub: "login-session", Args: []string{u.id, u.pw}},
					peer.Call{Sub: "verify-auth", Args: []string{goCookies[i], u.pw}},
					peer.Call{Sub: "verify-auth", Args: []string{goCookies[i], u.other}},
				)
			}
			res := django.Batch(t, cfg, calls)
			for i, u := range users {
				// Django logged in → Go verifies, and holds the same dict.
				cookie := res[3*i].OK(t).Str(t, "session_key")
				dj := m.Session(cookie)
				djData, err := dj.Items(ctx)
				if err != nil {
					t.Fatal(err)
				}
				goData, err := m.Session(goCookies[i]).Items(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !pyvalue.Equal(djData, goData) || djData.Len() != 3 {
					t.Errorf("login dicts differ: Django %v, Go %v", djData, goData)
				}
				res1, err := djangosession.VerifyAuth(ctx, dj, u.pw)
				if err != nil || !res1.Accepted || res1.Flushed {
					t.Errorf("Go rejects Django's login: %+v %v", res1, err)
				}
				res2, err := djangosession.VerifyAuth(ctx, m.Session(cookie), u.other)
				if err != nil || res2.Accepted || !res2.Flushed {
					t.Errorf("Go accepts Django's login with another password: %+v %v", res2, err)
				}
				// Go logged in → Django verifies.
				if a := res[3*i+1].OK(t); !a.Bool(t, "accepted") || a.Bool(t, "flushed") {
					t.Errorf("Django rejects Go's login: %s", a)
				}
				if a := res[3*i+2].OK(t); a.Bool(t, "accepted") || !a.Bool(t, "flushed") {
					t.Errorf("Django accepts Go's login with another password: %s", a)
				}
			}
		})
	}
}

func mustJSONMap(t *testing.T, m map[string]any) []byte {
	d := pyvalue.NewDict(len(m))
	for k, v := range m {
		d.Set(k, v)
	}
	b, err := pyvalue.MarshalJSON(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
