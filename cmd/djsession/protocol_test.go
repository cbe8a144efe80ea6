package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/pyvalue"
	"github.com/djsession/djsession/signing"
)

func cfg32() map[string]any {
	return map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": "3.2"}
}

func TestCapabilitiesShape(t *testing.T) {
	r := goRun(t, nil, "capabilities", nil, nil)
	if r.RC != exitOK {
		t.Fatalf("rc %d: %s", r.RC, r.Stdout)
	}
	d := parse(t, r)
	want := []string{"implementation", "engines", "serializers", "cache_backends", "databases",
		"secret_key_fallbacks", "hashing_algorithms", "subcommands", "http"}
	if got := keysOf(d); !slices.Equal(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	subs, _ := d.Get("subcommands")
	var got []string
	for _, s := range subs.([]any) {
		got = append(got, s.(string))
	}
	if !slices.Equal(got, protocolNames()) {
		t.Errorf("subcommands %v, want the wired ones %v", got, protocolNames())
	}
	// Every listed subcommand must exist; nothing aspirational.
	for _, s := range got {
		if findCommand(s) == nil {
			t.Errorf("capabilities lists %q, which does not exist", s)
		}
	}
	if !slices.Contains(got, "http") {
		t.Errorf("http is built, but not listed")
	}
	if h, _ := d.Get("http"); h != true {
		t.Errorf("http = %v, want true", h)
	}
	if cb, _ := d.Get("cache_backends"); mustJSON(t, cb) != `["pymemcache","pylibmc","redis"]` {
		t.Errorf("cache_backends %v", cb)
	}
	engines, _ := d.Get("engines")
	if got := mustJSON(t, engines); got != `["db","file","signed_cookies","cache","cached_db"]` {
		t.Errorf("engines %s", got)
	}
	dbs, _ := d.Get("databases")
	if n := len(dbs.([]any)); n != 3 {
		t.Errorf("databases %v, want sqlite, postgresql, mysql", dbs)
	}
	// Arguments are a usage error.
	if r := goRun(t, nil, "capabilities", []string{"x"}, nil); r.RC != exitUsage {
		t.Errorf("capabilities x: rc %d", r.RC)
	}
}

func TestUsageErrors(t *testing.T) {
	cfg := `{"SECRET_KEY":"k"}`
	tests := []struct {
		name  string
		argv  []string
		stdin string
		want  int
	}{
		{"no subcommand", nil, "", exitUsage},
		{"unknown subcommand", []string{"frobnicate"}, "", exitUsage},
		{"unknown option", []string{"--verbose", "capabilities"}, "", exitUsage},
		{"config without value", []string{"--config"}, "", exitUsage},
		{"config not JSON", []string{"--config", "{nope", "dumps"}, `{"value":1}`, exitUsage},
		{"config file missing", []string{"--config", "@/nonexistent/cfg.json", "dumps"}, `{"value":1}`, exitUsage},
		{"dumps without stdin", []string{"--config", cfg, "dumps"}, "", exitUsage},
		{"dumps stdin not JSON", []string{"--config", cfg, "dumps"}, "{", exitUsage},
		{"dumps stdin not object", []string{"--config", cfg, "dumps"}, "[1]", exitUsage},
		{"dumps without value", []string{"--config", cfg, "dumps"}, `{"salt":"x"}`, exitUsage},
		{"dumps salt not string", []string{"--config", cfg, "dumps"}, `{"value":1,"salt":3}`, exitUsage},
		{"dumps compress not bool", []string{"--config", cfg, "dumps"}, `{"value":1,"compress":1}`, exitUsage},
		{"dumps extra argument", []string{"--config", cfg, "dumps", "x"}, `{"value":1}`, exitUsage},
		{"loads without token", []string{"--config", cfg, "loads"}, `{}`, exitUsage},
		{"loads token not string", []string{"--config", cfg, "loads"}, `{"token":1}`, exitUsage},
		{"loads max_age string", []string{"--config", cfg, "loads"}, `{"token":"a:b:c","max_age":"1"}`, exitUsage},
		{"encode without data", []string{"--config", cfg, "encode"}, `{}`, exitUsage},
		{"encode data not object", []string{"--config", cfg, "encode"}, `{"data":[1]}`, exitUsage},
		{"decode without session_data", []string{"--config", cfg, "decode"}, `{}`, exitUsage},
		{"inspect without token", []string{"inspect"}, "", exitUsage},
		{"help unknown", []string{"help", "nope"}, "", exitUsage},
		{"key - without key on stdin", []string{"inspect", "-"}, `{}`, exitUsage},
		{"key - with non-string key", []string{"inspect", "-"}, `{"key":1}`, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goRunArgv(t, tt.argv, tt.stdin)
			if r.RC != tt.want {
				t.Fatalf("rc %d, want %d: %s", r.RC, tt.want, r.Stdout)
			}
			d := parse(t, r)
			if got := keysOf(d); !slices.Equal(got, []string{"error"}) {
				t.Fatalf("stdout %s: want only an error", r.Stdout)
			}
			if !strings.HasPrefix(str(t, d, "error"), "usage: ") {
				t.Errorf("error %q does not start with usage:", str(t, d, "error"))
			}
		})
	}
}

func TestConfigFileAndUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cfg.json")
	// Unknown keys (Django settings this tool has no use for, and nonsense)
	// are ignored, as in a Django settings module.
	cfgText := `{"SECRET_KEY":"` + testSecret + `","INSTALLED_APPS":["x"],"NOT_A_SETTING":{"a":[1,2]},"lower":1}`
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	r := goRunArgv(t, []string{"--config", "@" + path, "dumps"}, `{"value":"hello"}`)
	if r.RC != exitOK {
		t.Fatalf("rc %d: %s %s", r.RC, r.Stdout, r.Stderr)
	}
	tok := str(t, parse(t, r), "token")
	for _, argv := range [][]string{
		{"--config", cfgText, "loads"},
		{"--config=" + cfgText, "loads"},
		{"loads", "--config", cfgText},
	} {
		r := goRunArgv(t, argv, raw("token", mustJSON(t, tok)))
		if r.RC != exitOK || string(r.Stdout) != `{"value":"hello"}` {
			t.Errorf("%v: rc %d %s", argv[:1], r.RC, r.Stdout)
		}
	}
}

func TestDumpsLoadsExact(t *testing.T) {
	cfg := map[string]any{"SECRET_KEY": testSecret}
	value := `{"i":3,"f":3.0,"z":-0.0,"big":18446744073709551617,"neg":-18446744073709551617,"e":1e+16,"s":"caf\u00e9 \ud83d\ude00 \ud800","t":true,"n":null,"l":[1,[2.5,{"k":NaN}]],"inf":-Infinity}`
	for _, compress := range []string{"false", "true"} {
		r := goRun(t, cfg, "dumps", nil, raw("value", value, "compress", compress))
		if r.RC != exitOK {
			t.Fatalf("dumps: rc %d %s", r.RC, r.Stdout)
		}
		d := parse(t, r)
		if got := keysOf(d); !slices.Equal(got, []string{"token"}) {
			t.Fatalf("dumps stdout %s", r.Stdout)
		}
		tok := str(t, d, "token")
		if compress == "true" != strings.HasPrefix(tok, ".") {
			t.Errorf("compress=%s gave %q", compress, tok)
		}
		r = goRun(t, cfg, "loads", nil, raw("token", mustJSON(t, tok)))
		if r.RC != exitOK {
			t.Fatalf("loads: rc %d %s", r.RC, r.Stdout)
		}
		if want := `{"value":` + value + `}`; string(r.Stdout) != want {
			t.Errorf("loads gave\n%s\nwant\n%s", r.Stdout, want)
		}
	}
	// Django's own output (DJANGO_FORMATS.md §2.7, dumps at the frozen
	// clock) loads, and reports expiry against today's clock.
	vcfg := map[string]any{"SECRET_KEY": vectorKey}
	for tok, want := range map[string]string{
		"ImhlbGxvIg:1r31eq:KZpP1Kxk4ze4iBRTvIFdMJFlvkoenQvz23aX8fsWYcE":                                                    `{"value":"hello"}`,
		".eJwFwcERACAIwLCF-rCiILN47r-GyZVJsNgkxaFxoDgxcOHGxMKD_T7vhAml:1r31eq:TIfgKSuUHQq1tHVpNEDhhySoDi3Ae_AlP1TML8mI08w": `{"value":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19]}`,
	} {
		if r := goRun(t, vcfg, "loads", nil, raw("token", mustJSON(t, tok))); string(r.Stdout) != want {
			t.Errorf("loads(%s) = %s, want %s", tok, r.Stdout, want)
		}
		if r := goRun(t, vcfg, "loads", nil, raw("token", mustJSON(t, tok), "max_age", "86400")); !strings.Contains(string(r.Stdout), `"kind":"expired"`) {
			t.Errorf("loads(%s, max_age=1 day) = %s, want expired", tok, r.Stdout)
		}
	}
}

const vectorKey = "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"

func TestLoadsErrorKinds(t *testing.T) {
	cfg := map[string]any{"SECRET_KEY": testSecret}
	old, err := signing.NewTimestampSigner(signing.Options{Key: testSecret, Salt: "django.core.signing",
		Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	oldTok, err := old.SignObject(pyvalue.NewDict(0), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	notJSON := old.Sign("bm90IGpzb24") // base64 of "not json", validly signed
	tests := []struct {
		name  string
		stdin []byte
		kind  string
	}{
		{"tampered", raw("token", mustJSON(t, oldTok+"x")), "bad_signature"},
		{"no separator", raw("token", `"abc"`), "bad_signature"},
		{"wrong salt", raw("token", mustJSON(t, oldTok), "salt", `"other"`), "bad_signature"},
		{"expired", raw("token", mustJSON(t, oldTok), "max_age", "100"), "expired"},
		{"expired float", raw("token", mustJSON(t, oldTok), "max_age", "3599.5"), "expired"},
		{"negative max_age", raw("token", mustJSON(t, oldTok), "max_age", "-1"), "expired"},
		{"payload not JSON", raw("token", mustJSON(t, notJSON)), "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goRun(t, cfg, "loads", nil, tt.stdin)
			if r.RC != exitError {
				t.Fatalf("rc %d: %s", r.RC, r.Stdout)
			}
			d := parse(t, r)
			if got := keysOf(d); !slices.Equal(got, []string{"error", "kind"}) {
				t.Fatalf("stdout %s", r.Stdout)
			}
			if k := str(t, d, "kind"); k != tt.kind {
				t.Errorf("kind %q, want %q (%s)", k, tt.kind, r.Stdout)
			}
		})
	}
	// Within max_age it loads.
	r := goRun(t, cfg, "loads", nil, raw("token", mustJSON(t, oldTok), "max_age", "3700"))
	if r.RC != exitOK || string(r.Stdout) != `{"value":{}}` {
		t.Errorf("within max_age: rc %d %s", r.RC, r.Stdout)
	}
}

func TestLoadsVersionRules(t *testing.T) {
	oldKey := "old-secret"
	sign := func(key, alg string) string {
		ts, err := signing.NewTimestampSigner(signing.Options{Key: key, Salt: "django.core.signing", Algorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := ts.SignObject("v", nil, false)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	fallback := sign(oldKey, "sha256")
	sha1 := sign(testSecret, "sha1")
	tests := []struct {
		name    string
		version string
		token   string
		ok      bool
	}{
		{"fallback key on 4.2", "4.2", fallback, true},
		{"fallback key on 3.2", "3.2", fallback, false},
		{"sha1 on 3.2", "3.2", sha1, true},
		{"sha1 on 4.2", "4.2", sha1, false},
		{"sha1 on 6.0", "6.0", sha1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := map[string]any{"SECRET_KEY": testSecret, "SECRET_KEY_FALLBACKS": []string{oldKey},
				"TARGET_DJANGO_VERSION": tt.version}
			r := goRun(t, cfg, "loads", nil, raw("token", mustJSON(t, tt.token)))
			if ok := r.RC == exitOK; ok != tt.ok {
				t.Fatalf("rc %d: %s", r.RC, r.Stdout)
			}
		})
	}
	// Signing uses SHA-1 when a 3.2 target says DEFAULT_HASHING_ALGORITHM=sha1.
	cfg := cfg32()
	cfg["DEFAULT_HASHING_ALGORITHM"] = "sha1"
	tok := str(t, parse(t, goRun(t, cfg, "dumps", nil, `{"value":"v"}`)), "token")
	if sig := tok[strings.LastIndexByte(tok, ':')+1:]; len(sig) != 27 {
		t.Errorf("sha1 signature %q has %d chars, want 27", sig, len(sig))
	}
}

func TestEncodeDecode(t *testing.T) {
	for _, engine := range []string{"django.contrib.sessions.backends.db", "django.contrib.sessions.backends.signed_cookies"} {
		t.Run(engine[strings.LastIndexByte(engine, '.')+1:], func(t *testing.T) {
			cfg := map[string]any{"SECRET_KEY": testSecret, "SESSION_ENGINE": engine}
			data := `{"a":1,"f":3.0,"s":"\u00e9","_auth_user_id":"42","l":[true,null]}`
			r := goRun(t, cfg, "encode", nil, raw("data", data))
			if r.RC != exitOK {
				t.Fatalf("encode: rc %d %s", r.RC, r.Stdout)
			}
			d := parse(t, r)
			if got := keysOf(d); !slices.Equal(got, []string{"session_data"}) {
				t.Fatalf("encode stdout %s", r.Stdout)
			}
			sd := str(t, d, "session_data")
			r = goRun(t, cfg, "decode", nil, raw("session_data", mustJSON(t, sd)))
			if want := `{"data":` + data + `,"valid":true}`; r.RC != exitOK || string(r.Stdout) != want {
				t.Fatalf("decode: rc %d\n%s\nwant\n%s", r.RC, r.Stdout, want)
			}
			for _, bad := range []string{sd + "x", "", "garbage", sd[:len(sd)/2]} {
				r = goRun(t, cfg, "decode", nil, raw("session_data", mustJSON(t, bad)))
				if r.RC != exitOK || string(r.Stdout) != `{"data":{},"valid":false}` {
					t.Errorf("decode(%q): rc %d %s", bad, r.RC, r.Stdout)
				}
			}
			// Another key does not verify.
			other := map[string]any{"SECRET_KEY": "another", "SESSION_ENGINE": engine}
			r = goRun(t, other, "decode", nil, raw("session_data", mustJSON(t, sd)))
			if string(r.Stdout) != `{"data":{},"valid":false}` {
				t.Errorf("decode with another key: %s", r.Stdout)
			}
		})
	}
	// The db engine's session_data and a cookie have different salts.
	db := map[string]any{"SECRET_KEY": testSecret}
	ck := map[string]any{"SECRET_KEY": testSecret, "SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies"}
	sd := str(t, parse(t, goRun(t, db, "encode", nil, `{"data":{"a":1}}`)), "session_data")
	if r := goRun(t, ck, "decode", nil, raw("session_data", mustJSON(t, sd))); string(r.Stdout) != `{"data":{},"valid":false}` {
		t.Errorf("session_data accepted as a cookie: %s", r.Stdout)
	}
}

func TestDecodeLegacyFormat(t *testing.T) {
	// §3.3: {"a":1} in the pre-3.1 format, readable by a 3.2 target only.
	const legacy = "NWQ3MDg0MzZmZGFlN2M1M2ZkMWU4OWE2MTBiZWZmZTZiNmFiNzc3YTp7ImEiOjF9"
	const key = vectorKey
	for _, tt := range []struct {
		version, want string
	}{{"3.2", `{"data":{"a":1},"valid":true}`}, {"4.2", `{"data":{},"valid":false}`}} {
		cfg := map[string]any{"SECRET_KEY": key, "TARGET_DJANGO_VERSION": tt.version}
		r := goRun(t, cfg, "decode", nil, raw("session_data", mustJSON(t, legacy)))
		if string(r.Stdout) != tt.want {
			t.Errorf("%s: %s, want %s", tt.version, r.Stdout, tt.want)
		}
	}
}

func TestUnsupported(t *testing.T) {
	pickle := map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": "5.2",
		"SESSION_SERIALIZER": "django.contrib.sessions.serializers.PickleSerializer"}
	for _, sub := range []string{"encode", "decode"} {
		r := goRun(t, pickle, sub, nil, `{"data":{},"session_data":"x"}`)
		if r.RC != exitUnsupported {
			t.Fatalf("%s with pickle on 5.2: rc %d %s", sub, r.RC, r.Stdout)
		}
		if got := keysOf(parse(t, r)); !slices.Equal(got, []string{"unsupported"}) {
			t.Errorf("stdout %s", r.Stdout)
		}
	}
	// Without CACHES, Django's cache is a per-process LocMemCache, which
	// nothing can share.
	for _, engine := range []string{"cache", "cached_db"} {
		cfg := map[string]any{"SECRET_KEY": testSecret, "SESSION_ENGINE": "django.contrib.sessions.backends." + engine}
		for _, sub := range []string{"write", "read", "clear-expired"} {
			if findCommand(sub) == nil {
				continue
			}
			args := []string(nil)
			if sub == "read" {
				args = []string{"abcdefghijklmnopqrstuvwxyz012345"}
			}
			r := goRun(t, cfg, sub, args, `{"data":{}}`)
			if r.RC != exitUnsupported {
				t.Errorf("%s %s: rc %d %s", engine, sub, r.RC, r.Stdout)
			}
		}
	}
}

func TestValidationError(t *testing.T) {
	// An empty SECRET_KEY is Django's ImproperlyConfigured: an error, exit 1.
	r := goRun(t, map[string]any{}, "dumps", nil, `{"value":1}`)
	if r.RC != exitError {
		t.Fatalf("rc %d %s", r.RC, r.Stdout)
	}
	if got := keysOf(parse(t, r)); !slices.Equal(got, []string{"error"}) {
		t.Errorf("stdout %s", r.Stdout)
	}
}

func TestHelp(t *testing.T) {
	for _, argv := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		var out strings.Builder
		rc := run(t.Context(), argv, strings.NewReader(""), &out, &strings.Builder{})
		if rc != exitOK || !strings.Contains(out.String(), "SUBCOMMAND") || !strings.Contains(out.String(), "inspect") {
			t.Errorf("%v: rc %d %q", argv, rc, out.String())
		}
	}
	var out strings.Builder
	if rc := run(t.Context(), []string{"help", "loads"}, strings.NewReader(""), &out, &strings.Builder{}); rc != exitOK ||
		!strings.Contains(out.String(), `"token": str`) {
		t.Errorf("help loads: rc %d %q", rc, out.String())
	}
}
