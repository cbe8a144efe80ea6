package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/djsession/djsession/internal/peer"
)

// sessionConfigs are the engines the protocol tests run without Django.
func sessionConfigs(t *testing.T) map[string]map[string]any {
	return map[string]map[string]any{
		"sqlite": {"SECRET_KEY": testSecret, "USE_TZ": true, "DATABASES": map[string]any{"default": map[string]any{
			"ENGINE": djangoSQLite, "NAME": filepath.Join(t.TempDir(), "s.db"), "PORT": 0}}},
		"file": {"SECRET_KEY": testSecret, "SESSION_ENGINE": "django.contrib.sessions.backends.file",
			"SESSION_FILE_PATH": t.TempDir()},
		"signed_cookies": {"SECRET_KEY": testSecret, "SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies"},
	}
}

func TestSessionCommandsShape(t *testing.T) {
	for name, cfg := range sessionConfigs(t) {
		t.Run(name, func(t *testing.T) {
			cookie := name == "signed_cookies"
			if name == "sqlite" {
				if r := goRun(t, cfg, "migrate", nil, nil); string(r.Stdout) != `{"ok":true}` {
					t.Fatalf("migrate: %s", r.Stdout)
				}
			}
			r := goRun(t, cfg, "write", nil, `{"data":{"a":1,"f":2.0},"expiry":300}`)
			d := parse(t, r)
			if got := strings.Join(keysOf(d), ","); r.RC != 0 || got != "session_key,expiry_age,expire_date,expire_ts" {
				t.Fatalf("write: rc %d %s", r.RC, r.Stdout)
			}
			if age := get(t, d, "expiry_age"); age != int64(300) {
				t.Errorf("expiry_age %v, want int 300", age)
			}
			if _, ok := get(t, d, "expire_ts").(float64); !ok {
				t.Errorf("expire_ts is not a float: %s", r.Stdout)
			}
			if ed := str(t, d, "expire_date"); !strings.HasSuffix(ed, "+00:00") {
				t.Errorf("expire_date %q: want an aware UTC isoformat (USE_TZ)", ed)
			}
			key := str(t, d, "session_key")
			read := func(key string) map[string]any {
				t.Helper()
				args, stdin := []string{key}, any(nil)
				if cookie {
					// A cookie value can exceed the argument limit: "-".
					args, stdin = []string{"-"}, raw("key", mustJSON(t, key))
				}
				r := goRun(t, cfg, "read", args, stdin)
				d := parse(t, r)
				if got := strings.Join(keysOf(d), ","); r.RC != 0 || got != "exists,data,expiry_age,expire_date,expire_ts,expire_at_browser_close" {
					t.Fatalf("read: rc %d %s", r.RC, r.Stdout)
				}
				return map[string]any{"exists": get(t, d, "exists"), "data": mustJSON(t, get(t, d, "data"))}
			}
			if got := read(key); got["exists"] != true || got["data"] != `{"a":1,"f":2.0,"_session_expiry":300}` {
				t.Fatalf("read: %v", got)
			}
			r = goRun(t, cfg, "modify", []string{key}, `{"set":{"b":[1]},"delete":["a","missing"],"expiry":0}`)
			d = parse(t, r)
			if got := keysOf(d); r.RC != 0 || !slices.Equal(got, []string{"session_key"}) {
				t.Fatalf("modify: rc %d %s", r.RC, r.Stdout)
			}
			if k := str(t, d, "session_key"); cookie {
				key = k
			} else if k != key {
				t.Fatalf("modify changed the key")
			}
			if got := read(key); got["data"] != `{"f":2.0,"_session_expiry":0,"b":[1]}` {
				t.Fatalf("after modify: %v", got)
			}
			r = goRun(t, cfg, "cycle", []string{key}, nil)
			newKey := str(t, parse(t, r), "session_key")
			if !cookie && (newKey == key || read(key)["exists"] != false) {
				t.Fatalf("cycle: old key %s still live or unchanged (%s)", key, r.Stdout)
			}
			if got := read(newKey); got["data"] != `{"f":2.0,"_session_expiry":0,"b":[1]}` {
				t.Fatalf("after cycle: %v", got)
			}
			if r := goRun(t, cfg, "delete", []string{newKey}, nil); string(r.Stdout) != `{"ok":true}` {
				t.Fatalf("delete: %s", r.Stdout)
			}
			if !cookie && read(newKey)["exists"] != false {
				t.Fatalf("read after delete: exists")
			}
			if r := goRun(t, cfg, "clear-expired", nil, nil); string(r.Stdout) != `{"ok":true}` {
				t.Fatalf("clear-expired: %s", r.Stdout)
			}
			// Unknown, invalid and path-like keys are simply not there.
			for _, k := range []string{"abcdefghijklmnopqrstuvwxyz012345", "../../etc/passwd", "short", "UPPERCASEKEYUPPERCASEKEY"} {
				if got := read(k); got["exists"] != false || got["data"] != "{}" {
					t.Errorf("read(%q) = %v", k, got)
				}
			}
			// Login, then verify.
			r = goRun(t, cfg, "login-session", []string{"42", "pbkdf2_sha256$1$salt$hash"}, nil)
			lk := str(t, parse(t, r), "session_key")
			r = goRun(t, cfg, "verify-auth", []string{lk, "pbkdf2_sha256$1$salt$hash"}, nil)
			if want := `{"accepted":true,"rotated":false,"flushed":false,"session_key_after":` + mustJSON(t, lk) + `}`; string(r.Stdout) != want {
				t.Fatalf("verify-auth: %s, want %s", r.Stdout, want)
			}
			r = goRun(t, cfg, "verify-auth", []string{lk, "other"}, nil)
			if string(r.Stdout) != `{"accepted":false,"rotated":false,"flushed":true,"session_key_after":null}` {
				t.Fatalf("verify-auth with another password: %s", r.Stdout)
			}
		})
	}
}

func TestSessionCommandsUsage(t *testing.T) {
	cfg := sessionConfigs(t)["file"]
	for _, tt := range []struct {
		sub   string
		args  []string
		stdin string
	}{
		{"read", nil, ""},
		{"read", []string{"a", "b"}, ""},
		{"read", []string{"-"}, `{"nokey":1}`},
		{"delete", nil, ""},
		{"cycle", nil, ""},
		{"modify", []string{"abcdefghij"}, ""},
		{"modify", []string{"abcdefghij"}, `{"set":[1]}`},
		{"modify", []string{"abcdefghij"}, `{"delete":"a"}`},
		{"modify", []string{"abcdefghij"}, `{"expiry":"not a date"}`},
		{"write", nil, `{}`},
		{"write", nil, `{"data":{},"expiry":true}`},
		{"write", nil, `{"data":{"a":{"$tuple":1}},"tagged":true}`},
		{"login-session", []string{"1"}, ""},
		{"verify-auth", []string{"k"}, ""},
		{"clear-expired", []string{"x"}, ""},
	} {
		r := goRun(t, cfg, tt.sub, tt.args, tt.stdin)
		if r.RC != exitUsage {
			t.Errorf("%s %v %s: rc %d %s", tt.sub, tt.args, tt.stdin, r.RC, r.Stdout)
		}
	}
}

func TestDatabaseUnavailable(t *testing.T) {
	// A server that is down is an error (exit 1), never a missing session.
	cfg := map[string]any{"SECRET_KEY": testSecret, "DATABASES": map[string]any{"default": map[string]any{
		"ENGINE": "django.db.backends.postgresql", "NAME": "x", "HOST": "127.0.0.1", "PORT": "1", "USER": "u"}}}
	r := goRun(t, cfg, "read", []string{"abcdefghijklmnopqrstuvwxyz012345"}, nil)
	if r.RC != exitError || !strings.Contains(string(r.Stdout), `"error"`) {
		t.Fatalf("read with the database down: rc %d %s", r.RC, r.Stdout)
	}
}

func TestVerifyAuthFallbackRotation(t *testing.T) {
	// Django >= 4.1: a hash made with a SECRET_KEY_FALLBACKS key is
	// accepted, the key cycled and the hash rewritten.
	dir := t.TempDir()
	old := map[string]any{"SECRET_KEY": "old-key", "TARGET_DJANGO_VERSION": "4.2",
		"SESSION_ENGINE": "django.contrib.sessions.backends.file", "SESSION_FILE_PATH": dir}
	cur := map[string]any{"SECRET_KEY": "new-key", "SECRET_KEY_FALLBACKS": []string{"old-key"}, "TARGET_DJANGO_VERSION": "4.2",
		"SESSION_ENGINE": "django.contrib.sessions.backends.file", "SESSION_FILE_PATH": dir}
	// The session data itself must verify under the new settings: write it
	// with the new key, carrying a hash made with the old one.
	lk := str(t, parse(t, goRun(t, old, "login-session", []string{"7", "pw"}, nil)), "session_key")
	data := get(t, parse(t, goRun(t, old, "read", []string{lk}, nil)), "data")
	key := str(t, parse(t, goRun(t, cur, "write", nil, raw("data", mustJSON(t, data)))), "session_key")
	r := goRun(t, cur, "verify-auth", []string{key, "pw"}, nil)
	d := parse(t, r)
	if get(t, d, "accepted") != true || get(t, d, "rotated") != true || get(t, d, "flushed") != false {
		t.Fatalf("verify-auth with a fallback hash: %s", r.Stdout)
	}
	after := str(t, d, "session_key_after")
	if after == key {
		t.Fatalf("key not cycled: %s", r.Stdout)
	}
	// The rewritten hash now verifies without the fallback.
	plain := map[string]any{"SECRET_KEY": "new-key", "TARGET_DJANGO_VERSION": "4.2",
		"SESSION_ENGINE": "django.contrib.sessions.backends.file", "SESSION_FILE_PATH": dir}
	if r := goRun(t, plain, "verify-auth", []string{after, "pw"}, nil); !strings.Contains(string(r.Stdout), `"accepted":true,"rotated":false`) {
		t.Fatalf("after rotation: %s", r.Stdout)
	}
	// 3.2 has no fallbacks: the same session is flushed.
	cur["TARGET_DJANGO_VERSION"] = "3.2"
	key = str(t, parse(t, goRun(t, cur, "write", nil, raw("data", mustJSON(t, data)))), "session_key")
	if r := goRun(t, cur, "verify-auth", []string{key, "pw"}, nil); !strings.Contains(string(r.Stdout), `"accepted":false,"rotated":false,"flushed":true`) {
		t.Fatalf("3.2 with a fallback hash: %s", r.Stdout)
	}
}

func TestReadGarbledFile(t *testing.T) {
	// A session file whose content does not verify is an empty session to
	// Django; read reports it as not existing.
	cfg := sessionConfigs(t)["file"]
	key := str(t, parse(t, goRun(t, cfg, "write", nil, `{"data":{"a":1}}`)), "session_key")
	path := filepath.Join(cfg["SESSION_FILE_PATH"].(string), "sessionid"+key)
	if err := os.WriteFile(path, []byte("garbage:1r31eq:sig"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := goRun(t, cfg, "read", []string{key}, nil); !strings.HasPrefix(string(r.Stdout), `{"exists":false,"data":{}`) {
		t.Fatalf("garbled file: %s", r.Stdout)
	}
	// An empty file is Django's placeholder: an empty, existing session.
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := goRun(t, cfg, "read", []string{key}, nil); !strings.HasPrefix(string(r.Stdout), `{"exists":true,"data":{}`) {
		t.Fatalf("empty file: %s", r.Stdout)
	}
}

func TestWriteAbsoluteExpiry(t *testing.T) {
	dir := t.TempDir()
	cfg := map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": "4.2", "USE_TZ": true,
		"SESSION_ENGINE": "django.contrib.sessions.backends.file", "SESSION_FILE_PATH": dir}
	// 4.1+: set_expiry(datetime) stores isoformat() text, offset kept.
	r := goRun(t, cfg, "write", nil, `{"data":{},"expiry":"2099-01-02T03:04:05+05:30"}`)
	d := parse(t, r)
	if ed := str(t, d, "expire_date"); ed != "2099-01-02T03:04:05+05:30" {
		t.Fatalf("expire_date %q (%s)", ed, r.Stdout)
	}
	key := str(t, d, "session_key")
	r = goRun(t, cfg, "read", []string{key}, nil)
	if !strings.Contains(string(r.Stdout), `"data":{"_session_expiry":"2099-01-02T03:04:05+05:30"}`) {
		t.Fatalf("read: %s", r.Stdout)
	}
	// "Z" is accepted on input and written as +00:00.
	r = goRun(t, cfg, "write", nil, `{"data":{},"expiry":"2099-01-02T03:04:05Z"}`)
	if ed := str(t, parse(t, r), "expire_date"); ed != "2099-01-02T03:04:05+00:00" {
		t.Fatalf("expire_date %q", ed)
	}
	// 3.2 with JSON cannot store a datetime (Django's save raises): refused.
	cfg["TARGET_DJANGO_VERSION"] = "3.2"
	if r := goRun(t, cfg, "write", nil, `{"data":{},"expiry":"2099-01-02T03:04:05Z"}`); r.RC != exitUnsupported {
		t.Fatalf("3.2 + JSON + datetime expiry: rc %d %s", r.RC, r.Stdout)
	}
}

func TestBinary(t *testing.T) {
	// The real process: flags, stdin, stdout and exit codes through main.
	cli := peer.CLI(t)
	cfg := map[string]any{"SECRET_KEY": testSecret}
	if r := cli.Run(t, nil, "capabilities", nil, nil); r.RC != 0 || !strings.HasPrefix(string(r.Stdout), `{"implementation":"djsession-go"`) {
		t.Fatalf("capabilities: rc %d %s", r.RC, r.Stdout)
	}
	r := cli.Run(t, cfg, "dumps", nil, []byte(`{"value":{"f":3.0,"n":18446744073709551617}}`))
	tok := str(t, parse(t, r), "token")
	if r := cli.Run(t, cfg, "loads", nil, []byte(raw("token", mustJSON(t, tok)))); string(r.Stdout) != `{"value":{"f":3.0,"n":18446744073709551617}}` {
		t.Fatalf("loads: %s", r.Stdout)
	}
	if r := cli.Run(t, nil, "nope", nil, nil); r.RC != exitUsage {
		t.Errorf("unknown subcommand: rc %d", r.RC)
	}
	if r := cli.Run(t, nil, "http", []string{"x"}, nil); r.RC != exitUsage {
		t.Errorf("http x: rc %d", r.RC)
	}
	if r := cli.Run(t, cfg, "loads", nil, []byte(`{"token":"x:y"}`)); r.RC != exitError || !strings.Contains(string(r.Stdout), `"kind":"bad_signature"`) {
		t.Errorf("bad token: rc %d %s", r.RC, r.Stdout)
	}
}
