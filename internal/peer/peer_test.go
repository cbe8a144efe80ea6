package peer_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/internal/testenv"
	"github.com/djsession/djsession/pyvalue"
)

// Constants of shared/DJANGO_FORMATS.md and the vectors.
const (
	specSecret   = "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
	specPassword = "pbkdf2_sha256$600000$fixedsalt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	specAuthHash = "0618db4cc18c08b09c2268f1900e29d1cf5eef02f321e78135302313d1fe7aa5"
	modelBackend = "django.contrib.auth.backends.ModelBackend"
)

var serverKey = regexp.MustCompile(`^[a-z0-9]{32}$`)

func engine(name string) string { return "django.contrib.sessions.backends." + name }

// jsonValue decodes JSON text type-exactly, as the peer's answers are.
func jsonValue(t *testing.T, text string) any {
	t.Helper()
	v, err := pyvalue.UnmarshalJSONText([]byte(text))
	if err != nil {
		t.Fatalf("bad test JSON %s: %v", text, err)
	}
	return v
}

func TestCapabilities(t *testing.T) {
	r := peer.Run(t, nil, "capabilities", nil, nil).OK(t)
	m := r.Map(t)
	if !strings.HasPrefix(m["implementation"].(string), "django 3.2") {
		t.Errorf("implementation = %v", m["implementation"])
	}
	for key, want := range map[string]string{
		"engines":            `["db","file","cache","cached_db","signed_cookies"]`,
		"serializers":        `["json","pickle"]`,
		"cache_backends":     `["pymemcache","pylibmc"]`,
		"databases":          `["sqlite","postgresql","mysql"]`,
		"hashing_algorithms": `["sha256","sha1"]`,
	} {
		got, _ := json.Marshal(m[key])
		if string(got) != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	if m["secret_key_fallbacks"] != false {
		t.Errorf("secret_key_fallbacks = %v, want false (Django 3.2)", m["secret_key_fallbacks"])
	}
	subs := fmt.Sprint(m["subcommands"])
	for _, s := range []string{"dumps", "loads", "encode", "decode", "migrate", "write", "read", "modify",
		"delete", "cycle", "clear-expired", "login-session", "verify-auth", "http"} {
		if !strings.Contains(subs, s) {
			t.Errorf("subcommands %s lack %s", subs, s)
		}
	}
}

// TestReleases: the later releases run through the same script, each
// reporting its own version and its own differences from 3.2: fallback
// secrets, no SHA-1 signatures, no pre-3.1 session format, RedisCache, and
// no PickleSerializer from 5.0.
func TestReleases(t *testing.T) {
	old := map[string]any{"SECRET_KEY": "old-" + specSecret}
	rotated := map[string]any{"SECRET_KEY": specSecret, "SECRET_KEY_FALLBACKS": []string{"old-" + specSecret}}
	for _, v := range peer.Versions()[1:] {
		t.Run(v, func(t *testing.T) {
			dj := peer.DjangoAt(t, v)
			if dj.Name() != "django-"+v {
				t.Errorf("Name() = %q", dj.Name())
			}
			m := dj.Run(t, nil, "capabilities", nil, nil).OK(t).Map(t)
			if !strings.HasPrefix(m["implementation"].(string), "django "+v+".") {
				t.Errorf("implementation = %v", m["implementation"])
			}
			serializers := `["json","pickle"]`
			if v >= "5.0" {
				serializers = `["json"]`
			}
			for key, want := range map[string]string{
				"serializers":          serializers,
				"cache_backends":       `["pymemcache","pylibmc","redis"]`,
				"hashing_algorithms":   `["sha256"]`,
				"secret_key_fallbacks": `true`,
			} {
				if got, _ := json.Marshal(m[key]); string(got) != want {
					t.Errorf("%s = %s, want %s", key, got, want)
				}
			}
			token := dj.Run(t, old, "dumps", nil, map[string]any{"value": "hello"}).OK(t).Str(t, "token")
			res := dj.Batch(t, rotated, []peer.Call{
				{Sub: "loads", Stdin: map[string]any{"token": token}},
				{Sub: "loads", Config: old, Stdin: map[string]any{"token": token}},
				{Sub: "loads", Config: map[string]any{"SECRET_KEY": specSecret}, Stdin: map[string]any{"token": token}},
				// SHA-1 (DJANGO_FORMATS §2.7), verified by 3.2 only.
				{Sub: "loads", Config: map[string]any{"SECRET_KEY": specSecret}, Stdin: map[string]any{"token": "ImhlbGxvIg:1r31eq:m-yF-dZwTXNbvSjo1O4wemx30h8"}},
				// The pre-3.1 session format, read by 3.2 only.
				{Sub: "decode", Stdin: map[string]any{"session_data": "NWQ3MDg0MzZmZGFlN2M1M2ZkMWU4OWE2MTBiZWZmZTZiNmFiNzc3YTp7ImEiOjF9"}},
			})
			for i, want := range []int{0, 0, 1, 1, 0} {
				if res[i].RC != want {
					t.Errorf("call %d: want exit %d, got %s", i, want, res[i])
				}
			}
			if got := res[0].OK(t).Str(t, "value"); got != "hello" {
				t.Errorf("loads with a fallback key = %q", got)
			}
			if d := res[4].OK(t); d.Bool(t, "valid") || d.Dict(t, "data").Len() != 0 {
				t.Errorf("decode of the pre-3.1 format: %s", d)
			}
		})
	}
}

func TestUsageAndUnsupported(t *testing.T) {
	cfg := map[string]any{"SECRET_KEY": specSecret, "USE_TZ": true}
	redis := map[string]any{"SECRET_KEY": specSecret, "SESSION_ENGINE": engine("cache"),
		"CACHES": map[string]any{"default": map[string]any{
			"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/1"}}}
	res := peer.Batch(t, cfg, []peer.Call{
		{Sub: "no-such-subcommand"},
		{Sub: "read"},                                               // KEY missing
		{Sub: "encode", Stdin: map[string]any{}},                    // data missing
		{Sub: "write", Stdin: json.RawMessage(`[1]`)},               // stdin not an object
		{Sub: "read", Args: []string{"-"}, Stdin: map[string]any{}}, // "-" without {"key"}
		{Sub: "read", Args: []string{"abcdefghijkl"}, Config: redis},
	})
	for i, want := range []int{2, 2, 2, 2, 2, 3} {
		if res[i].RC != want {
			t.Errorf("call %d: want exit %d, got %s", i, want, res[i])
		}
	}
	if got := res[5].Str(t, "unsupported"); !strings.Contains(got, "RedisCache") {
		t.Errorf("unsupported = %q", got)
	}
	// The single-process path reports usage errors the same way.
	if r := peer.Run(t, cfg, "cycle", nil, nil); r.RC != 2 {
		t.Errorf("cycle without KEY: %s", r)
	}
}

// TestSigningVectors checks the peer against values of DJANGO_FORMATS §2.7.
func TestSigningVectors(t *testing.T) {
	cfg := map[string]any{"SECRET_KEY": specSecret}
	sha1 := map[string]any{"SECRET_KEY": specSecret, "DEFAULT_HASHING_ALGORITHM": "sha1"}
	res := peer.Batch(t, cfg, []peer.Call{
		{Sub: "loads", Stdin: map[string]any{"token": "ImhlbGxvIg:1r31eq:KZpP1Kxk4ze4iBRTvIFdMJFlvkoenQvz23aX8fsWYcE"}},
		{Sub: "loads", Stdin: map[string]any{"token": "eyJhIjoxLCJiIjpbMSwyXX0:1r31eq:Y8FWByWZ3N_68pWci-mKKfphs_AkfOOvaIyjmdFoKSE"}},
		{Sub: "loads", Stdin: map[string]any{"token": ".eJwFwcERACAIwLCF-rCiILN47r-GyZVJsNgkxaFxoDgxcOHGxMKD_T7vhAml:1r31eq:TIfgKSuUHQq1tHVpNEDhhySoDi3Ae_AlP1TML8mI08w"}},
		// SHA-1 signatures are always accepted by 3.2.
		{Sub: "loads", Stdin: map[string]any{"token": "ImhlbGxvIg:1r31eq:m-yF-dZwTXNbvSjo1O4wemx30h8"}},
		{Sub: "loads", Stdin: map[string]any{"token": "ImhlbGxvIg:1r31eq:KZpP1Kxk4ze4iBRTvIFdMJFlvkoenQvz23aX8fsWYcX"}},
		{Sub: "loads", Stdin: map[string]any{"token": "ImhlbGxvIg:1r31eq:KZpP1Kxk4ze4iBRTvIFdMJFlvkoenQvz23aX8fsWYcE", "max_age": 100}},
		{Sub: "loads", Stdin: map[string]any{"token": "no separator"}},
		{Sub: "dumps", Stdin: map[string]any{"value": "hello"}, Config: sha1},
		{Sub: "loads", Stdin: map[string]any{"token": "ImhlbGxvIg:1r31eq:KZpP1Kxk4ze4iBRTvIFdMJFlvkoenQvz23aX8fsWYcE", "salt": "other"}},
	})
	if got := res[0].OK(t).Get(t, "value"); got != "hello" {
		t.Errorf("loads hello: %v", got)
	}
	if v := res[1].OK(t).Get(t, "value"); !pyvalue.Equal(v, jsonValue(t, `{"a":1,"b":[1,2]}`)) {
		t.Errorf("loads dict: %s", res[1])
	}
	var want []any
	for i := int64(1); i < 20; i++ {
		want = append(want, i)
	}
	if v := res[2].OK(t).Get(t, "value"); !pyvalue.Equal(v, want) {
		t.Errorf("loads compressed: %s", res[2])
	}
	if got := res[3].OK(t).Get(t, "value"); got != "hello" {
		t.Errorf("loads sha1: %s", res[3])
	}
	for i, kind := range map[int]string{4: "bad_signature", 5: "expired", 6: "bad_signature", 8: "bad_signature"} {
		if res[i].RC != 1 || res[i].Str(t, "kind") != kind {
			t.Errorf("call %d: want exit 1 kind %s, got %s", i, kind, res[i])
		}
	}
	// A SHA-1 signature is 27 base64 characters.
	tok := res[7].OK(t).Str(t, "token")
	if parts := strings.Split(tok, ":"); len(parts) != 3 || parts[0] != "ImhlbGxvIg" || len(parts[2]) != 27 {
		t.Errorf("sha1 dumps token %q", tok)
	}
}

// randJSON writes a random JSON value as text: unicode of every plane (lone
// surrogates included, as \u escapes), integers beyond 64 bits, floats near
// the edges (-0.0, subnormals, NaN, infinities), nesting.
func randJSON(r *rand.Rand, b *strings.Builder, depth int) {
	k := r.IntN(10)
	if depth > 3 && k >= 8 {
		k = r.IntN(8)
	}
	switch k {
	case 0:
		b.WriteString([]string{"null", "true", "false"}[r.IntN(3)])
	case 1, 2:
		switch r.IntN(3) {
		case 0:
			b.WriteString(strconv.FormatInt(r.Int64N(2000)-1000, 10))
		case 1:
			b.WriteString(strconv.FormatInt(int64(r.Uint64()), 10))
		default: // beyond int64: 2^64+1 and friends
			b.WriteString(fmt.Sprintf("%d%018d", r.IntN(1000)+18, r.Uint64()%1e18))
		}
	case 3:
		fs := []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e16, 1e-7, 5e-324, math.MaxFloat64,
			math.Inf(1), math.Inf(-1), math.NaN(), r.NormFloat64() * 1e6}
		f := fs[r.IntN(len(fs))]
		switch {
		case math.IsNaN(f):
			b.WriteString("NaN")
		case math.IsInf(f, 1):
			b.WriteString("Infinity")
		case math.IsInf(f, -1):
			b.WriteString("-Infinity")
		default: // the exponent form always reads back as a float
			b.WriteString(strconv.FormatFloat(f, 'e', -1, 64))
		}
	case 4, 5, 6, 7:
		randString(r, b)
	case 8:
		b.WriteByte('[')
		for i, n := 0, r.IntN(4); i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			randJSON(r, b, depth+1)
		}
		b.WriteByte(']')
	default:
		randObject(r, b, depth+1)
	}
}

func randObject(r *rand.Rand, b *strings.Builder, depth int) {
	b.WriteByte('{')
	for i, n := 0, r.IntN(5); i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		randString(r, b)
		b.WriteByte(':')
		randJSON(r, b, depth)
	}
	b.WriteByte('}')
}

func randString(r *rand.Rand, b *strings.Builder) {
	b.WriteByte('"')
	for i, n := 0, r.IntN(8); i < n; i++ {
		var c rune
		switch r.IntN(4) {
		case 0:
			c = rune(0x20 + r.IntN(0x5f))
		case 1:
			c = rune(r.IntN(0x800))
		case 2:
			c = rune(r.IntN(0x10000))
		default:
			c = rune(0x10000 + r.IntN(0x100000))
		}
		if c >= 0x10000 {
			c -= 0x10000
			fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(c>>10), 0xdc00+(c&0x3ff))
		} else {
			fmt.Fprintf(b, `\u%04x`, c)
		}
	}
	b.WriteByte('"')
}

// TestRandomRoundTrip: values written by Django come back unchanged and with
// their exact types through dumps/loads and encode/decode, for both
// serializers and the signed-cookie engine.
func TestRandomRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cfgs := []map[string]any{
		{"SECRET_KEY": specSecret},
		{"SECRET_KEY": specSecret, "SESSION_SERIALIZER": "django.contrib.sessions.serializers.PickleSerializer"},
		{"SECRET_KEY": specSecret, "SESSION_ENGINE": engine("signed_cookies")},
	}
	const n = 150
	var calls []peer.Call
	var want []any
	for i := 0; i < n; i++ {
		var v, d strings.Builder
		randJSON(r, &v, 0)
		randObject(r, &d, 0)
		compress := r.IntN(2) == 0
		calls = append(calls,
			peer.Call{Sub: "dumps", Stdin: json.RawMessage(fmt.Sprintf(`{"value":%s,"compress":%t}`, v.String(), compress))},
			peer.Call{Sub: "encode", Config: cfgs[i%3], Stdin: json.RawMessage(`{"data":` + d.String() + `}`)})
		want = append(want, jsonValue(t, v.String()), jsonValue(t, d.String()))
	}
	res := peer.Batch(t, cfgs[0], calls)
	var back []peer.Call
	for i := 0; i < n; i++ {
		back = append(back,
			peer.Call{Sub: "loads", Stdin: map[string]any{"token": res[2*i].OK(t).Str(t, "token")}},
			peer.Call{Sub: "decode", Config: cfgs[i%3], Stdin: map[string]any{"session_data": res[2*i+1].OK(t).Str(t, "session_data")}})
	}
	res = peer.Batch(t, cfgs[0], back)
	for i := 0; i < n; i++ {
		if got := res[2*i].OK(t).Get(t, "value"); !pyvalue.Equal(got, want[2*i]) {
			t.Errorf("loads(dumps(v)) changed v: %s", res[2*i])
		}
		got := res[2*i+1].OK(t)
		if !got.Bool(t, "valid") || !pyvalue.Equal(got.Get(t, "data"), want[2*i+1]) {
			t.Errorf("decode(encode(d)) with config %d: %s", i%3, got)
		}
	}
}

// TestEncodeDecodeVectors checks encode/decode against DJANGO_FORMATS §3.
func TestEncodeDecodeVectors(t *testing.T) {
	cfg := map[string]any{"SECRET_KEY": specSecret}
	pickle := map[string]any{"SECRET_KEY": specSecret, "SESSION_SERIALIZER": "django.contrib.sessions.serializers.PickleSerializer"}
	cookies := map[string]any{"SECRET_KEY": specSecret, "SESSION_ENGINE": engine("signed_cookies")}
	res := peer.Batch(t, cfg, []peer.Call{
		{Sub: "decode", Stdin: map[string]any{"session_data": "eyJmb28iOiJiYXIiLCJuIjoxfQ:1r31eq:Ba-jsv1DmYmzprCnPI2Nvn8JRJl3mt9W99wjRAsAD9Q"}},
		// Pre-3.1 legacy format, still read by 3.2.
		{Sub: "decode", Stdin: map[string]any{"session_data": "NWQ3MDg0MzZmZGFlN2M1M2ZkMWU4OWE2MTBiZWZmZTZiNmFiNzc3YTp7ImEiOjF9"}},
		{Sub: "decode", Stdin: map[string]any{"session_data": "eyJmb28iOiJiYXIiLCJuIjoxfQ:1r31eq:Ba-jsv1DmYmzprCnPI2Nvn8JRJl3mt9W99wjRAsAD9X"}},
		{Sub: "decode", Stdin: map[string]any{"session_data": ""}},
		{Sub: "encode", Stdin: map[string]any{"data": map[string]any{"a": 1}}},
		{Sub: "encode", Config: pickle, Stdin: map[string]any{"data": map[string]any{"a": 1}}},
		// The session salt differs from the cookie salt.
		{Sub: "decode", Config: cookies, Stdin: map[string]any{"session_data": "eyJmb28iOiJiYXIiLCJuIjoxfQ:1r31eq:Ba-jsv1DmYmzprCnPI2Nvn8JRJl3mt9W99wjRAsAD9Q"}},
		{Sub: "encode", Config: cookies, Stdin: map[string]any{"data": map[string]any{"a": 1}}},
		// A bad signature, even on an empty session.
		{Sub: "decode", Stdin: map[string]any{"session_data": "e30:1r31eq:x"}},
	})
	if d := res[0].OK(t); !d.Bool(t, "valid") || !pyvalue.Equal(d.Get(t, "data"), jsonValue(t, `{"foo":"bar","n":1}`)) {
		t.Errorf("decode walkthrough: %s", d)
	}
	if d := res[1].OK(t); !d.Bool(t, "valid") || !pyvalue.Equal(d.Get(t, "data"), jsonValue(t, `{"a":1}`)) {
		t.Errorf("decode legacy: %s", d)
	}
	for _, i := range []int{2, 3, 6, 8} {
		if d := res[i].OK(t); d.Bool(t, "valid") || d.Dict(t, "data").Len() != 0 {
			t.Errorf("call %d: want invalid and empty, got %s", i, d)
		}
	}
	if s := res[4].OK(t).Str(t, "session_data"); !strings.HasPrefix(s, "eyJhIjoxfQ:") {
		t.Errorf("encode {a:1} = %q", s)
	}
	if s := res[5].OK(t).Str(t, "session_data"); !strings.HasPrefix(s, "gAWVCgAAAAAAAAB9lIwBYZRLAXMu:") {
		t.Errorf("pickle encode {a:1} = %q", s)
	}
	cookie := res[7].OK(t).Str(t, "session_data")
	if !strings.HasPrefix(cookie, "eyJhIjoxfQ:") {
		t.Errorf("signed_cookies encode {a:1} = %q", cookie)
	}
	r := peer.Run(t, cookies, "decode", nil, map[string]any{"session_data": cookie}).OK(t)
	if !r.Bool(t, "valid") || !pyvalue.Equal(r.Get(t, "data"), jsonValue(t, `{"a":1}`)) {
		t.Errorf("signed_cookies decode: %s", r)
	}
}

// engineConfigs returns one configuration per engine and database or cache
// client, with fresh databases and a private memcached.
func engineConfigs(t *testing.T) map[string]map[string]any {
	dir := t.TempDir()
	// One directory per serializer: Django 3.2's clear_expired() raises on
	// a file it cannot decode (binascii.Error from the legacy fallback).
	files, pickleFiles := filepath.Join(dir, "json"), filepath.Join(dir, "pickle")
	for _, d := range []string{files, pickleFiles} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	base := func(kv ...any) map[string]any {
		m := map[string]any{"SECRET_KEY": specSecret, "USE_TZ": true, "TIME_ZONE": "UTC"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	dbs := func(entry map[string]any) map[string]any { return map[string]any{"default": entry} }
	mc := testenv.Memcached(t)
	caches := func(backend string) map[string]any {
		return map[string]any{"default": map[string]any{
			"BACKEND": "django.core.cache.backends.memcached." + backend, "LOCATION": mc, "KEY_PREFIX": "peer"}}
	}
	pg := testenv.PostgresParams(t).Django()
	return map[string]map[string]any{
		"sqlite": base("SESSION_ENGINE", engine("db"), "DATABASES",
			dbs(map[string]any{"ENGINE": "django.db.backends.sqlite3", "NAME": filepath.Join(dir, "db.sqlite3")})),
		"postgresql":     base("SESSION_ENGINE", engine("db"), "DATABASES", dbs(pg)),
		"mysql":          base("SESSION_ENGINE", engine("db"), "DATABASES", dbs(testenv.MySQLParams(t).Django())),
		"file":           base("SESSION_ENGINE", engine("file"), "SESSION_FILE_PATH", files),
		"signed_cookies": base("SESSION_ENGINE", engine("signed_cookies")),
		"pymemcache":     base("SESSION_ENGINE", engine("cache"), "CACHES", caches("PyMemcacheCache")),
		"pylibmc":        base("SESSION_ENGINE", engine("cache"), "CACHES", caches("PyLibMCCache")),
		// A schema of its own: the subtests run in parallel, and two
		// migrations of one schema at once race on CREATE TABLE.
		"cached_db": base("SESSION_ENGINE", engine("cached_db"), "DATABASES", dbs(testenv.PostgresParams(t).Django()),
			"CACHES", caches("PyMemcacheCache")),
		"file+pickle": base("SESSION_ENGINE", engine("file"), "SESSION_FILE_PATH", pickleFiles,
			"SESSION_SERIALIZER", "django.contrib.sessions.serializers.PickleSerializer"),
	}
}

// TestEngines runs every server-side and cookie subcommand against each
// engine and checks what Django reports back.
func TestEngines(t *testing.T) {
	peer.Require(t)
	for name, cfg := range engineConfigs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testEngine(t, name, cfg)
		})
	}
}

func testEngine(t *testing.T, name string, cfg map[string]any) {
	p := peer.Django(t).Start(t, cfg)
	do := func(sub string, args []string, stdin any) peer.Result {
		t.Helper()
		return p.Do(t, peer.Call{Sub: sub, Args: args, Stdin: stdin})
	}
	cookies := name == "signed_cookies"
	checkKey := func(key string) {
		t.Helper()
		if !cookies && !serverKey.MatchString(key) {
			t.Errorf("session key %q does not match %s", key, serverKey)
		}
	}
	if e := cfg["SESSION_ENGINE"]; e == engine("db") || e == engine("cached_db") {
		do("migrate", nil, nil).OK(t)
		do("migrate", nil, nil).OK(t) // idempotent
	}

	data := `{"a":1,"f":-0.0,"g":3.0,"big":18446744073709551617,"s":"caf\u00e9 \ud83d\ude00 \udc00","l":[true,null,{"x":[]}]}`
	w := do("write", nil, json.RawMessage(`{"data":`+data+`,"expiry":300}`)).OK(t)
	key := w.Str(t, "session_key")
	checkKey(key)
	if age := w.Int(t, "expiry_age"); age != 300 {
		t.Errorf("write expiry_age = %d", age)
	}
	if ts := w.Float(t, "expire_ts"); ts <= 0 {
		t.Errorf("write expire_ts = %v", ts)
	}

	r := do("read", []string{key}, nil).OK(t)
	want := jsonValue(t, data).(*pyvalue.Dict)
	want.Set("_session_expiry", int64(300))
	if !r.Bool(t, "exists") || !pyvalue.Equal(r.Get(t, "data"), want) {
		t.Errorf("read after write: %s", r)
	}
	if r.Int(t, "expiry_age") != 300 || r.Bool(t, "expire_at_browser_close") {
		t.Errorf("read expiry: %s", r)
	}
	if _, err := pyvalue.ParseISO(r.Str(t, "expire_date")); err != nil {
		t.Errorf("expire_date: %v", err)
	}
	// The key may come on stdin.
	if r2 := do("read", []string{"-"}, map[string]any{"key": key}).OK(t); !pyvalue.Equal(r2.Get(t, "data"), want) {
		t.Errorf("read -: %s", r2)
	}

	m := do("modify", []string{key}, map[string]any{"set": map[string]any{"b": "x"}, "delete": []string{"a", "missing"}, "expiry": 0}).OK(t)
	key2 := m.Str(t, "session_key")
	if !cookies && key2 != key {
		t.Errorf("modify changed the key %s -> %s", key, key2)
	}
	r = do("read", []string{key2}, nil).OK(t)
	want.Delete("a")
	want.Set("_session_expiry", int64(0))
	want.Set("b", "x")
	if !pyvalue.Equal(r.Get(t, "data"), want) || !r.Bool(t, "expire_at_browser_close") {
		t.Errorf("read after modify: %s", r)
	}

	c := do("cycle", []string{key2}, nil).OK(t)
	key3 := c.Str(t, "session_key")
	checkKey(key3)
	if !cookies && key3 == key2 {
		t.Errorf("cycle kept the key")
	}
	if r := do("read", []string{key3}, nil).OK(t); !pyvalue.Equal(r.Get(t, "data"), want) {
		t.Errorf("read after cycle: %s", r)
	}
	// The old key is gone, except that an old signed cookie stays valid.
	if r := do("read", []string{key2}, nil).OK(t); r.Bool(t, "exists") != cookies {
		t.Errorf("old key after cycle: %s", r)
	}
	do("delete", []string{key3}, nil).OK(t)
	if r := do("read", []string{key3}, nil).OK(t); r.Bool(t, "exists") != cookies {
		t.Errorf("read after delete: %s", r)
	}
	do("clear-expired", nil, nil).OK(t)
	if r := do("read", []string{"nosuchkey0000000000000000000000x"}, nil).OK(t); r.Bool(t, "exists") || r.Dict(t, "data").Len() != 0 {
		t.Errorf("read of a missing key: %s", r)
	}

	// An already expired session is not found afterwards by server-side
	// engines that check expiry (db/cached_db: expire_date; cache: TTL).
	if !cookies && !strings.HasPrefix(name, "file") {
		e := do("write", nil, map[string]any{"data": map[string]any{"x": 1}, "expiry": -10}).OK(t)
		if r := do("read", []string{e.Str(t, "session_key")}, nil).OK(t); r.Bool(t, "exists") {
			t.Errorf("expired session still read: %s", r)
		}
		do("clear-expired", nil, nil).OK(t)
	}

	// An absolute expiry: Django 3.2 stores a datetime, which the JSON
	// serializer cannot save, except in the cache (pickled by the client).
	abs := do("write", nil, map[string]any{"data": map[string]any{"x": 1}, "expiry": "2099-01-02T03:04:05Z"})
	jsonStore := name != "pymemcache" && name != "pylibmc" && name != "file+pickle"
	if jsonStore {
		if abs.RC != 1 || !strings.Contains(abs.Str(t, "error"), "not JSON serializable") {
			t.Errorf("datetime expiry with JSON serializer: %s", abs)
		}
	} else {
		abs.OK(t)
		if got := abs.Str(t, "expire_date"); got != "2099-01-02T03:04:05+00:00" {
			t.Errorf("absolute expire_date = %q", got)
		}
		if ts := abs.Float(t, "expire_ts"); ts != 4071006245 {
			t.Errorf("absolute expire_ts = %v", ts)
		}
	}

	// login() and get_user().
	l := do("login-session", []string{"42", specPassword}, nil).OK(t)
	lk := l.Str(t, "session_key")
	checkKey(lk)
	r = do("read", []string{lk}, nil).OK(t)
	wantAuth := jsonValue(t, `{"_auth_user_id":"42","_auth_user_backend":"`+modelBackend+`","_auth_user_hash":"`+specAuthHash+`"}`)
	if !pyvalue.Equal(r.Get(t, "data"), wantAuth) {
		t.Errorf("login session: %s", r)
	}
	v := do("verify-auth", []string{lk, specPassword}, nil).OK(t)
	if !v.Bool(t, "accepted") || v.Bool(t, "flushed") || v.Bool(t, "rotated") || v.Str(t, "session_key_after") != lk {
		t.Errorf("verify-auth with the right password: %s", v)
	}
	v = do("verify-auth", []string{lk, specPassword + "x"}, nil).OK(t)
	if v.Bool(t, "accepted") || !v.Bool(t, "flushed") || v.Get(t, "session_key_after") != nil {
		t.Errorf("verify-auth with a changed password: %s", v)
	}
	// Django flushed the session: gone, except a signed cookie.
	if r := do("read", []string{lk}, nil).OK(t); r.Bool(t, "exists") != cookies {
		t.Errorf("read after flush: %s", r)
	}
	// A session without login data is simply anonymous.
	if v := do("verify-auth", []string{key3, specPassword}, nil).OK(t); v.Bool(t, "accepted") || v.Bool(t, "flushed") {
		t.Errorf("verify-auth of an anonymous session: %s", v)
	}
}

// TestFileTraversalKey: Django's file engine refuses keys with path
// characters before touching the disk.
func TestFileTraversalKey(t *testing.T) {
	dir := t.TempDir()
	cfg := map[string]any{"SECRET_KEY": specSecret, "SESSION_ENGINE": engine("file"), "SESSION_FILE_PATH": dir}
	res := peer.Batch(t, cfg, []peer.Call{
		{Sub: "read", Args: []string{"../../../../etc/passwd"}},
		{Sub: "delete", Args: []string{"../../../../etc/passwd"}},
	})
	if r := res[0].OK(t); r.Bool(t, "exists") {
		t.Errorf("read of a traversal key: %s", r)
	}
	if res[1].RC != 1 || !strings.Contains(res[1].Str(t, "error"), "InvalidSessionKey") {
		t.Errorf("delete of a traversal key: %s", res[1])
	}
}

// TestCLI builds cmd/djsession and checks that it answers the protocol.
func TestCLI(t *testing.T) {
	cli := peer.CLI(t)
	r := cli.Run(t, nil, "capabilities", nil, nil).OK(t)
	if _, ok := r.Map(t)["subcommands"]; !ok {
		t.Errorf("go capabilities: %s", r)
	}
	res := cli.Batch(t, map[string]any{"SECRET_KEY": specSecret}, []peer.Call{
		{Sub: "loads", Stdin: map[string]any{"token": "ImhlbGxvIg:1r31eq:KZpP1Kxk4ze4iBRTvIFdMJFlvkoenQvz23aX8fsWYcE"}},
	})
	if got := res[0].OK(t).Get(t, "value"); got != "hello" {
		t.Errorf("go loads: %s", res[0])
	}
}

// TestHTTP drives Django's SessionMiddleware through the peer's http
// subcommand with a cookie-keeping client.
func TestHTTP(t *testing.T) {
	for _, eng := range []string{"file", "signed_cookies"} {
		t.Run(eng, func(t *testing.T) {
			cfg := map[string]any{"SECRET_KEY": specSecret, "SESSION_ENGINE": engine(eng), "SESSION_FILE_PATH": t.TempDir()}
			base := peer.Django(t).StartHTTP(t, cfg)
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
			get := func(path string) (map[string]any, *http.Response) {
				t.Helper()
				resp, err := client.Get(base + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var m map[string]any
				if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
					t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
				}
				return m, resp
			}
			_, resp := get("/set?a=1&b=%C3%A9")
			sc := resp.Header.Get("Set-Cookie")
			if !strings.HasPrefix(strings.TrimSpace(sc), "sessionid=") ||
				!strings.HasSuffix(sc, "; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax") {
				t.Errorf("Set-Cookie %q", sc)
			}
			if eng == "file" {
				key := strings.TrimPrefix(strings.SplitN(strings.TrimSpace(sc), ";", 2)[0], "sessionid=")
				if !serverKey.MatchString(key) {
					t.Errorf("session key %q", key)
				}
			}
			m, _ := get("/get?k=b")
			if m["exists"] != true || m["value"] != "é" {
				t.Errorf("/get after /set: %v", m)
			}
			_, resp = get("/flush")
			if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, `sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/`) {
				t.Errorf("deletion cookie %q", sc)
			}
			if m, _ := get("/get?k=b"); m["exists"] != false {
				t.Errorf("/get after /flush: %v", m)
			}
		})
	}
}

// TestNaiveLocalTime: with USE_TZ=False Django works in naive local times of
// TIME_ZONE (the peer loads its settings as a deployed project does, which
// sets TZ); expire_ts must still be the right instant.
func TestNaiveLocalTime(t *testing.T) {
	for _, zone := range []string{"Asia/Kathmandu", "America/St_Johns", "UTC"} {
		cfg := map[string]any{"SECRET_KEY": specSecret, "USE_TZ": false, "TIME_ZONE": zone,
			"SESSION_ENGINE": engine("file"), "SESSION_FILE_PATH": t.TempDir()}
		before := time.Now()
		w := peer.Run(t, cfg, "write", nil, map[string]any{"data": map[string]any{"a": 1}, "expiry": 600}).OK(t)
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		date := w.Str(t, "expire_date")
		local, err := time.ParseInLocation("2006-01-02T15:04:05.999999", date, loc)
		if err != nil {
			t.Fatalf("%s: expire_date %q is not a naive ISO time: %v", zone, date, err)
		}
		ts := w.Float(t, "expire_ts")
		if d := float64(local.UnixMicro())/1e6 - ts; math.Abs(d) > 1e-6 {
			t.Errorf("%s: expire_date %s is %v s away from expire_ts %v", zone, date, d, ts)
		}
		// Generous bounds: the peer may start slowly on a loaded machine.
		if lo, hi := float64(before.Unix())+600-5, float64(time.Now().Unix())+600+5; ts < lo || ts > hi {
			t.Errorf("%s: expire_ts %v not within [%v, %v]", zone, ts, lo, hi)
		}
	}
}
