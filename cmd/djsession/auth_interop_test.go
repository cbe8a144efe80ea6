package main

import (
	"fmt"
	"maps"
	"testing"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
)

// authScenario logs in on one side and verifies on the other, both ways:
// the same session contents, acceptance for the right password field, a
// flush for a wrong one, a pre-3.1 SHA-1 hash (accepted by 3.2 only), and,
// when the config has SECRET_KEY_FALLBACKS, a hash made with a fallback key.
func authScenario(t *testing.T, cfg map[string]any, g gen, goSide, djSide side) {
	t.Helper()
	isCookie := cfg["SESSION_ENGINE"] == "django.contrib.sessions.backends.signed_cookies"
	settings, err := djangosession.LoadSettings([]byte(mustJSON(t, toPy(cfg))))
	if err != nil {
		t.Fatal(err)
	}
	for i, pair := range [][2]side{{goSide, djSide}, {djSide, goSide}, {goSide, djSide}, {djSide, goSide}} {
		login, verify := pair[0], pair[1]
		userID := fmt.Sprint(1 + g.r.IntN(1_000_000))
		if i >= 2 {
			userID = fmt.Sprint(1<<40 + g.r.Int64N(1<<50)) // a bigint primary key
		}
		hash := fmt.Sprintf("pbkdf2_sha256$600000$%s$%s=", g.utf8(8), g.utf8(20))
		key := str(t, must(t, login, "login-session", []string{userID, hash}, nil), "session_key")

		// Both see exactly what login() stores.
		want := obj("_auth_user_id", userID,
			"_auth_user_backend", "django.contrib.auth.backends.ModelBackend",
			"_auth_user_hash", djangosession.SessionAuthHash(settings, hash))
		checkSessionData(t, "login", key, want, login, goSide, djSide)

		args, stdin := keyArgs(key, nil)
		res := must(t, verify, "verify-auth", append(args, hash), stdin)
		if mustJSON(t, res) != mustJSON(t, obj("accepted", true, "rotated", false, "flushed", false, "session_key_after", key)) {
			t.Fatalf("%s verify of %s's login: %s", verify.name, login.name, mustJSON(t, res))
		}
		args, stdin = keyArgs(key, nil)
		res = must(t, verify, "verify-auth", append(args, hash+"x"), stdin)
		if mustJSON(t, res) != `{"accepted":false,"rotated":false,"flushed":true,"session_key_after":null}` {
			t.Fatalf("%s verify with another password of %s's login: %s", verify.name, login.name, mustJSON(t, res))
		}
		if !isCookie {
			// The flush deleted the record for both sides.
			for _, s := range []side{goSide, djSide} {
				args, stdin := keyArgs(key, nil)
				if out := must(t, s, "read", args, stdin); get(t, out, "exists") != false {
					t.Fatalf("%s still reads the session %s flushed", s.name, verify.name)
				}
			}
		}
	}

	// A session from Django < 3.1 carries a SHA-1 hash: 3.2 accepts it,
	// 4.0+ flushes it.
	legacyOK := targetBefore(cfg, 4, 0)
	hash := "argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA"
	data := obj("_auth_user_id", "7", "_auth_user_backend", "django.contrib.auth.backends.ModelBackend",
		"_auth_user_hash", djangosession.LegacySessionAuthHash(settings, hash))
	for _, w := range []side{goSide, djSide} {
		for _, v := range []side{djSide, goSide} {
			_, res := writeThenVerify(t, w, v, data, hash)
			if get(t, res, "accepted") != legacyOK || get(t, res, "flushed") != !legacyOK || get(t, res, "rotated") != false {
				t.Fatalf("%s verify of a SHA-1 auth hash written by %s: %s", v.name, w.name, mustJSON(t, res))
			}
		}
	}

	// 4.1+: a hash made with a SECRET_KEY_FALLBACKS entry is accepted, the
	// key cycled and the hash rewritten with SECRET_KEY; 3.2 flushes it.
	fallbacks, _ := cfg["SECRET_KEY_FALLBACKS"].([]string)
	if len(fallbacks) == 0 {
		return
	}
	old := maps.Clone(cfg)
	old["SECRET_KEY"] = fallbacks[0]
	delete(old, "SECRET_KEY_FALLBACKS")
	oldSettings, err := djangosession.LoadSettings([]byte(mustJSON(t, toPy(old))))
	if err != nil {
		t.Fatal(err)
	}
	rotates := !targetBefore(cfg, 4, 1)
	hash = fmt.Sprintf("pbkdf2_sha256$600000$%s$%s=", g.utf8(8), g.utf8(20))
	data = obj("_auth_user_id", "42", "_auth_user_backend", "django.contrib.auth.backends.ModelBackend",
		"_auth_user_hash", djangosession.SessionAuthHash(oldSettings, hash))
	for _, w := range []side{goSide, djSide} {
		for _, v := range []side{djSide, goSide} {
			key, res := writeThenVerify(t, w, v, data, hash)
			if get(t, res, "accepted") != rotates || get(t, res, "rotated") != rotates || get(t, res, "flushed") != !rotates {
				t.Fatalf("%s verify of a fallback-key auth hash written by %s: %s", v.name, w.name, mustJSON(t, res))
			}
			if !rotates {
				continue
			}
			after, ok := get(t, res, "session_key_after").(string)
			if !ok || after == key {
				t.Fatalf("%s verify of a fallback-key auth hash kept the key: %s", v.name, mustJSON(t, res))
			}
			want := data.Clone()
			want.Set("_auth_user_hash", djangosession.SessionAuthHash(settings, hash))
			checkSessionData(t, "fallback rotation", after, want, v, goSide, djSide)
			if !isCookie {
				for _, s := range []side{goSide, djSide} {
					args, stdin := keyArgs(key, nil)
					if out := must(t, s, "read", args, stdin); get(t, out, "exists") != false {
						t.Fatalf("%s still reads the key %s cycled away", s.name, v.name)
					}
				}
			}
		}
	}
}

// writeThenVerify has w write a session holding data and v run verify-auth
// on it for a user whose password field is hash.
func writeThenVerify(t *testing.T, w, v side, data *pyvalue.Dict, hash string) (key string, res *pyvalue.Dict) {
	t.Helper()
	key = str(t, must(t, w, "write", nil, obj("data", data)), "session_key")
	args, stdin := keyArgs(key, nil)
	return key, must(t, v, "verify-auth", append(args, hash), stdin)
}

// checkSessionData reads key on both sides and compares with want.
func checkSessionData(t *testing.T, stage, key string, want *pyvalue.Dict, writer side, sides ...side) {
	t.Helper()
	for _, s := range sides {
		args, stdin := keyArgs(key, nil)
		out := must(t, s, "read", args, stdin)
		if get(t, out, "exists") != true {
			t.Fatalf("%s: %s cannot read %s's session", stage, s.name, writer.name)
		}
		if got := mustJSON(t, get(t, out, "data")); got != mustJSON(t, want) {
			t.Fatalf("%s: %s read of %s's session:\n got %s\nwant %s", stage, s.name, writer.name, got, mustJSON(t, want))
		}
	}
}

// toPy converts a test config (Go maps) for pyvalue.MarshalJSON.
func toPy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		d := pyvalue.NewDict(len(x))
		for k, e := range x {
			d.Set(k, toPy(e))
		}
		return d
	case []string:
		l := make([]any, len(x))
		for i, s := range x {
			l[i] = s
		}
		return l
	case int:
		return int64(x)
	}
	return v
}
