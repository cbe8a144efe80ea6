package cachestore

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pickle_compat"
	"github.com/djsession/djsession/pyvalue"
)

func flavorOf(lib string) (Flavor, bool) {
	switch lib {
	case "pymemcache":
		return FlavorPyMemcache, true
	case "pylibmc":
		return FlavorPyLibMC, true
	case "redis":
		return FlavorRedis, true
	}
	return 0, false
}

func TestMurmur3(t *testing.T) {
	if got := Murmur3([]byte("hello"), 0); got != 613153351 {
		t.Fatalf("murmur3(hello) = %d, want 613153351", got)
	}
	// DJANGO_FORMATS §4.3 example scores.
	key := ":1:django.contrib.sessions.cache2hafcfgwpbbbw43jflha65pe83ef6cr9"
	want := []uint32{590156180, 2451792898, 3966440298}
	for i, n := range []string{"127.0.0.1:11212", "127.0.0.1:11213", "127.0.0.1:11214"} {
		if got := pyMurmur3(n + "-" + key); got != want[i] {
			t.Errorf("score(%s) = %d, want %d", n, got, want[i])
		}
	}
	if got := OneAtATime(key); got != 2741481639 {
		t.Errorf("one_at_a_time = %d, want 2741481639", got)
	}
}

// TestPlacementVectors checks every key placement Django's clients made on
// three real memcached servers.
func TestPlacementVectors(t *testing.T) {
	n := 0
	for _, c := range vectors.Select(vectors.Load(t, "cache_values.json"), "multi-server placement") {
		lib := c.Str("client_library")
		f, ok := flavorOf(lib)
		if !ok {
			continue // python-memcached (3.2 only) is not implemented
		}
		var locs []string
		for _, l := range c.List("location") {
			locs = append(locs, l.(string))
		}
		m, err := NewMemcached(MemcachedConfig{Flavor: f, Servers: locs, KeyPrefix: "", Version: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range c.List("placements") {
			pd := p.(*pyvalue.Dict)
			k, _ := pd.Get("stored_key")
			obs, _ := pd.Get("observed_server")
			if _, got := m.Server(k.(string)); got != obs.(string) {
				t.Errorf("%s %s: key %q on %s, Django used %s", lib, c.DjangoVersion(), k, got, obs)
			}
			n++
		}
	}
	if n < 400 {
		t.Fatalf("only %d placements checked", n)
	}
	t.Logf("%d placements match", n)
}

// plainValue maps the "value" descriptions of the raw-storage cases.
func plainValue(desc string) (any, bool) {
	switch desc {
	case "int 5":
		return int64(5), true
	case "bool True":
		return true, true
	case "str 'abc'":
		return "abc", true
	case "str non-ASCII":
		return "é", true
	case "bytes b'abc'":
		return pyvalue.Bytes("abc"), true
	case "float 1.5":
		return 1.5, true
	case "dict {'a': 1}":
		d := pyvalue.NewDict(1)
		d.Set("a", int64(1))
		return d, true
	case "big int 2**70":
		return new(big.Int).Lsh(big.NewInt(1), 70), true
	}
	return nil, false
}

func TestRawStorageVectors(t *testing.T) {
	n := 0
	for _, c := range vectors.Select(vectors.Load(t, "cache_values.json"), "raw storage of a plain value via django cache.set") {
		f, ok := flavorOf(c.Str("client_library"))
		if !ok {
			continue
		}
		v, ok := plainValue(c.Str("value"))
		if !ok {
			t.Fatalf("unknown value %q", c.Str("value"))
		}
		t.Run(c.Name(), func(t *testing.T) {
			c := c.WithT(t)
			b, flags, err := encodeValue(f, v)
			if err != nil {
				t.Fatal(err)
			}
			if want := c.Hex("raw", "value_hex"); !bytes.Equal(b, want) {
				t.Errorf("bytes %x, want %x", b, want)
			}
			if f != FlavorRedis && int64(flags) != c.Int("raw", "flags") {
				t.Errorf("flags %d, want %d", flags, c.Int("raw", "flags"))
			}
			// Read back as the same client would.
			var back any
			if f == FlavorRedis {
				back, err = decodeRedis(b)
			} else {
				back, err = decodeMemcached(f, b, flags)
			}
			if err != nil {
				t.Fatal(err)
			}
			if bi, ok := v.(*big.Int); ok {
				v = pyvalue.Int(bi)
			}
			if !pyvalue.Equal(back, v) {
				t.Errorf("read back %#v, want %#v", back, v)
			}
			n++
		})
	}
	if n < 80 {
		t.Fatalf("only %d raw cases", n)
	}
}

// TestSessionSaveVectors checks stored keys, pickled bytes, flags and the
// timeout each client call got, for the cache and cached_db save cases.
func TestSessionSaveVectors(t *testing.T) {
	n := 0
	cases := vectors.Select(vectors.Load(t, "cache_values.json"),
		"cache.SessionStore.save (new session)", "cache.SessionStore.save timeout handling",
		"cache.SessionStore.save (update)", "cached_db.SessionStore.save (new session)")
	for _, c := range cases {
		f, ok := flavorOf(c.Str("client_library"))
		if !ok {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			c := c.WithT(t)
			if c.Has("session_key") {
				prefix, version := "", 1
				if strings.Contains(c.StrOr("", "settings_variant"), "speca") {
					prefix, version = "speca", 7
				}
				engine := KeyPrefix
				if strings.HasPrefix(c.Op(), "cached_db") {
					engine = "django.contrib.sessions.cached_db"
				}
				if got := NewKeyFunc(prefix, version)(engine + c.Str("session_key")); got != c.Str("stored_key") {
					t.Errorf("stored key %q, want %q", got, c.Str("stored_key"))
				}
			}
			if c.Has("raw") && c.Get("raw") != nil {
				data := c.Value("raw", "unpickled")
				b, flags, err := encodeValue(f, data)
				if err != nil {
					t.Fatal(err)
				}
				if want := c.Hex("raw", "value_hex"); !bytes.Equal(b, want) {
					t.Errorf("pickle %x, want %x", b, want)
				}
				if f != FlavorRedis && flags != FlagPickle {
					t.Errorf("flags %d", flags)
				}
			}
			if c.Has("get_expiry_age") {
				age := c.Int("get_expiry_age")
				now := time.Unix(c.Int("now_at_call"), 0)
				calls := c.List("client_calls")
				last := calls[len(calls)-1].(*pyvalue.Dict)
				args, _ := last.Get("args")
				want := args.([]any)[2]
				var got int64
				if f == FlavorRedis {
					got = max(0, age) // what RedisCache.get_backend_timeout makes of it
				} else {
					m := &Memcached{now: func() time.Time { return now }}
					got = m.backendTimeout(age)
				}
				// The client call records the client's argument: for
				// memcached already converted by get_backend_timeout, an
				// absolute time when over 30 days. now_at_call was read just
				// before the call, so the absolute time may be a second later.
				wantT := want.(int64)
				if d := wantT - got; d != 0 && !(age > thirtyDays && f != FlavorRedis && d == 1) {
					t.Errorf("backend timeout %d, want %d", got, wantT)
				}
			}
			n++
		})
	}
	if n < 60 {
		t.Fatalf("only %d cases", n)
	}
}

func TestDecodeAllFlagForms(t *testing.T) {
	d := pyvalue.NewDict(1)
	d.Set("a", int64(1))
	p, _ := pickle_compat.Dumps(d, 5)
	var z bytes.Buffer
	zw := zlibWriter(&z)
	zw.Write(p)
	zw.Close()
	for _, tc := range []struct {
		f     Flavor
		b     []byte
		flags uint32
		want  any
	}{
		{FlavorPyMemcache, []byte("raw"), 0, pyvalue.Bytes("raw")},
		{FlavorPyMemcache, []byte("12"), FlagInteger, int64(12)},
		{FlavorPyMemcache, []byte("12"), FlagLong, int64(12)},
		{FlavorPyLibMC, []byte("1"), FlagInteger, true},
		{FlavorPyMemcache, []byte("é"), FlagText, "é"},
		{FlavorPyMemcache, p, FlagPickle, d},
		{FlavorPyLibMC, z.Bytes(), FlagPickle | FlagCompressed, d},
	} {
		got, err := decodeMemcached(tc.f, tc.b, tc.flags)
		if err != nil {
			t.Errorf("flags %d: %v", tc.flags, err)
			continue
		}
		if !pyvalue.Equal(got, tc.want) {
			t.Errorf("flags %d: %#v, want %#v", tc.flags, got, tc.want)
		}
	}
	for _, bad := range []struct {
		b     []byte
		flags uint32
	}{
		{[]byte("x"), FlagPickle}, {[]byte("1x"), FlagInteger}, {[]byte{0xff}, FlagText},
		{[]byte("notzlib"), FlagCompressed | FlagPickle}, {[]byte("x"), 64},
	} {
		if _, err := decodeMemcached(FlavorPyMemcache, bad.b, bad.flags); err == nil {
			t.Errorf("%x flags %d: no error", bad.b, bad.flags)
		}
	}
}

func TestValidKey(t *testing.T) {
	for k, want := range map[string]bool{
		":1:django.contrib.sessions.cacheabc":       true,
		":1:django.contrib.sessions.cachehas space": false,
		":1:tab\t":                       false,
		":1:del\x7f":                     false,
		":1:" + strings.Repeat("a", 247): true,
		":1:" + strings.Repeat("a", 248): false,
		":1:kéy":                         true,
	} {
		if got := ValidKey(k); got != want {
			t.Errorf("ValidKey(%.20q) = %v", k, got)
		}
	}
}

func TestLocations(t *testing.T) {
	got, err := Locations("a:1; b:2,c:3")
	if err != nil || strings.Join(got, "|") != "a:1|b:2|c:3" {
		t.Fatalf("%q %v", got, err)
	}
	got, _ = Locations([]any{"x:1", "y:2"})
	if len(got) != 2 {
		t.Fatal(got)
	}
	for spec, name := range map[string]string{"127.0.0.1:11212": "127.0.0.1:11212", "[::1]:11211": "::1:11211", "host": "host:11211", "unix:/tmp/m.sock": "/tmp/m.sock", "/tmp/m.sock": "/tmp/m.sock"} {
		_, _, n, err := parseMemcachedServer(spec)
		if err != nil || n != name {
			t.Errorf("%s → %q %v, want %q", spec, n, err, name)
		}
	}
	if _, err := parseRedisURL("http://x"); err == nil {
		t.Error("http:// accepted")
	}
	s, err := parseRedisURL("redis://:pw@127.0.0.1:6380/3")
	if err != nil || s.db != 3 || s.password != "pw" || s.pool.addr != "127.0.0.1:6380" {
		t.Errorf("%+v %v", s, err)
	}
	_ = hex.EncodeToString
}

func TestOpenRefusesPlacementBehaviors(t *testing.T) {
	for _, b := range []map[string]any{{"ketama": true}, {"hash": "md5"}, {"distribution": "consistent"}} {
		_, err := Open(djangosession.Cache{Backend: BackendPyLibMC, Location: "127.0.0.1:1", Options: map[string]any{"behaviors": b}})
		if !errors.Is(err, ErrUnsupportedBackend) {
			t.Errorf("%v: %v", b, err)
		}
	}
	if _, err := Open(djangosession.Cache{Backend: BackendPyLibMC, Location: "127.0.0.1:1", Options: map[string]any{"behaviors": map[string]any{"tcp_nodelay": true, "ketama": false}}}); err != nil {
		t.Error(err)
	}
	if _, err := Open(djangosession.Cache{Backend: "django.core.cache.backends.locmem.LocMemCache"}); !errors.Is(err, ErrUnsupportedBackend) {
		t.Error(err)
	}
}
