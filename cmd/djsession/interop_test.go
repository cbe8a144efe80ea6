package main

// Live interoperability with real Django 3.2 (testdata/django_peer.py): the
// Go side runs in process (run), Django through one batch process per
// configuration. Every exchange goes both ways on random data.

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/pyvalue"
)

// django starts a peer process of the Django release cfg targets.
func django(t *testing.T, cfg map[string]any) *peer.Proc {
	t.Helper()
	return peer.DjangoAt(t, cfg["TARGET_DJANGO_VERSION"].(string)).Start(t, cfg)
}

func djangoDo(t *testing.T, p *peer.Proc, sub string, args []string, stdin any) peer.Result {
	t.Helper()
	if d, ok := stdin.(*pyvalue.Dict); ok {
		stdin = []byte(mustJSON(t, d))
	}
	return p.Do(t, peer.Call{Sub: sub, Args: args, Stdin: stdin})
}

// get returns field k of a result object.
func get(t *testing.T, d *pyvalue.Dict, k string) any {
	t.Helper()
	v, ok := d.Get(k)
	if !ok {
		t.Fatalf("no %q in %s", k, mustJSON(t, d))
	}
	return v
}

func TestInteropSigning(t *testing.T) {
	peer.Require(t)
	g := gen{r: newRand(t)}
	const n = 200
	for _, variant := range []struct {
		name string
		cfg  map[string]any
	}{
		{"sha256", map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": "3.2"}},
		{"sha1", map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": "3.2", "DEFAULT_HASHING_ALGORITHM": "sha1"}},
		{"4.2", map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": "4.2", "SECRET_KEY_FALLBACKS": []string{"old"}}},
		{"5.2", map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": "5.2"}},
	} {
		t.Run(variant.name, func(t *testing.T) {
			dj := django(t, variant.cfg)
			for i := range n {
				value := g.value(4)
				salt := "django.core.signing"
				if i%3 == 0 {
					salt = g.utf8(6) // Django encodes the salt as UTF-8
				}
				compress := i%2 == 0
				in := obj("value", value, "salt", salt, "compress", compress)
				want := `{"value":` + mustJSON(t, value) + `}`

				// Django dumps, Go loads.
				r := djangoDo(t, dj, "dumps", nil, in)
				if r.RC != 0 {
					t.Fatalf("django dumps %s: %s", mustJSON(t, in), r.Stdout)
				}
				tok := str(t, parse(t, r), "token")
				if got := goRun(t, variant.cfg, "loads", nil, obj("token", tok, "salt", salt)); string(got.Stdout) != want {
					t.Fatalf("go loads of django's %q:\n got %s\nwant %s", tok, got.Stdout, want)
				}
				// Go dumps, Django loads.
				r = goRun(t, variant.cfg, "dumps", nil, in)
				if r.RC != 0 {
					t.Fatalf("go dumps %s: %s", mustJSON(t, in), r.Stdout)
				}
				tok = str(t, parse(t, r), "token")
				if got := djangoDo(t, dj, "loads", nil, obj("token", tok, "salt", salt)); string(got.Stdout) != want {
					t.Fatalf("django loads of go's %q:\n got %s\nwant %s", tok, got.Stdout, want)
				}
				// Both reject a tampered token the same way.
				if i%25 == 0 {
					bad := obj("token", tok[:len(tok)-1]+"A", "salt", salt+"x")
					gr, dr := goRun(t, variant.cfg, "loads", nil, bad), djangoDo(t, dj, "loads", nil, bad)
					if gr.RC != 1 || dr.RC != 1 || get(t, parse(t, gr), "kind") != get(t, parse(t, dr), "kind") {
						t.Fatalf("tampered: go %s / django %s", gr.Stdout, dr.Stdout)
					}
				}
			}
		})
	}
}

// codecConfigs are the encode/decode configurations tested live.
func codecConfigs() []struct {
	name   string
	cfg    map[string]any
	pickle bool
} {
	var out []struct {
		name   string
		cfg    map[string]any
		pickle bool
	}
	for _, engine := range []string{"db", "signed_cookies"} {
		// 3.2 in every form; the later releases (no SHA-1, and no pickle
		// from 5.0) through Django 4.2 and 5.2 themselves.
		for _, ser := range []string{"json", "pickle", "json-sha1", "4.2/json", "4.2/pickle", "5.2/json"} {
			version := "3.2"
			if v, rest, ok := strings.Cut(ser, "/"); ok {
				version, ser = v, rest
			}
			cfg := map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": version,
				"SESSION_ENGINE": "django.contrib.sessions.backends." + engine}
			switch ser {
			case "pickle":
				cfg["SESSION_SERIALIZER"] = "django.contrib.sessions.serializers.PickleSerializer"
			case "json-sha1":
				// 3.2 in the SHA-1 transition: the db engine writes the
				// pre-3.1 format, cookies are signed with SHA-1.
				cfg["DEFAULT_HASHING_ALGORITHM"] = "sha1"
			}
			name := engine + "/" + ser
			if version != "3.2" {
				name = version + "/" + name
			}
			out = append(out, struct {
				name   string
				cfg    map[string]any
				pickle bool
			}{name, cfg, ser == "pickle"})
		}
	}
	return out
}

func requirePickle(t *testing.T) {
	t.Helper()
	if !slices.Contains(serializerNames(), "pickle") {
		t.Fatalf("PickleSerializer is not wired in this build (serializers %v)", serializerNames())
	}
}

func TestInteropEncodeDecode(t *testing.T) {
	peer.Require(t)
	g := gen{r: newRand(t)}
	const n = 100
	for _, c := range codecConfigs() {
		t.Run(c.name, func(t *testing.T) {
			if c.pickle {
				requirePickle(t)
			}
			g := gen{r: g.r, pickle: c.pickle}
			dj := django(t, c.cfg)
			for range n {
				data := g.session()
				in := obj("data", toTagged(data), "tagged", true)
				want := `{"data":` + mustJSON(t, toTagged(data)) + `,"valid":true}`
				// Go encode → Django decode.
				r := goRun(t, c.cfg, "encode", nil, in)
				if r.RC != 0 {
					t.Fatalf("go encode: %s", r.Stdout)
				}
				sd := str(t, parse(t, r), "session_data")
				if got := djangoDo(t, dj, "decode", nil, obj("session_data", sd)); !sameData(t, got.Stdout, want) {
					t.Fatalf("django decode of go's %q:\n got %s\nwant %s", sd, got.Stdout, want)
				}
				// Django encode → Go decode.
				r = djangoDo(t, dj, "encode", nil, in)
				if r.RC != 0 {
					t.Fatalf("django encode: %s", r.Stdout)
				}
				sd = str(t, parse(t, r), "session_data")
				if got := goRun(t, c.cfg, "decode", nil, obj("session_data", sd)); !sameData(t, got.Stdout, want) {
					t.Fatalf("go decode of django's %q:\n got %s\nwant %s", sd, got.Stdout, want)
				}
				// Tampered data is rejected alike.
				bad := obj("session_data", sd[:len(sd)-2])
				gr, dr := goRun(t, c.cfg, "decode", nil, bad), djangoDo(t, dj, "decode", nil, bad)
				if gr.RC != dr.RC || (gr.RC == 0 && string(gr.Stdout) != string(dr.Stdout)) {
					t.Fatalf("tampered %q: go rc %d %s / django rc %d %s", sd, gr.RC, gr.Stdout, dr.RC, dr.Stdout)
				}
			}
		})
	}
}

// sameData compares two protocol outputs: byte-identical, or (pickled
// sets, whose iteration order is Python's own) equal as Python values.
func sameData(t *testing.T, got []byte, want string) bool {
	t.Helper()
	if bytes.Equal(got, []byte(want)) {
		return true
	}
	a, err1 := pyvalue.UnmarshalJSONText(got)
	b, err2 := pyvalue.UnmarshalJSONText([]byte(want))
	if err1 != nil || err2 != nil {
		return false
	}
	ua, err1 := fromTagged(a)
	ub, err2 := fromTagged(b)
	return err1 == nil && err2 == nil && pyvalue.Equal(ua, ub)
}

// pickleValue returns a random value that only pickle carries.
func (g gen) pickleValue() any {
	switch g.r.IntN(9) {
	case 0:
		return pyvalue.Tuple{g.value(1), g.str(4)}
	case 1:
		b := make([]byte, g.r.IntN(20))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		return pyvalue.Bytes(b)
	case 2:
		return pyvalue.DateTime{Year: 1970 + g.r.IntN(100), Month: 1 + g.r.IntN(12), Day: 1 + g.r.IntN(28),
			Hour: g.r.IntN(24), Minute: g.r.IntN(60), Second: g.r.IntN(60), Microsecond: g.r.IntN(2) * g.r.IntN(1000000),
			TZ: pyvalue.UTC()}
	case 3:
		return pyvalue.DateTime{Year: 2000 + g.r.IntN(30), Month: 1 + g.r.IntN(12), Day: 1 + g.r.IntN(28), Hour: g.r.IntN(24)}
	case 4:
		return pyvalue.Date{Year: 1 + g.r.IntN(9999), Month: 1 + g.r.IntN(12), Day: 1 + g.r.IntN(28)}
	case 5:
		return pyvalue.Decimal(fmt.Sprintf("%d.%02d", g.r.IntN(100000)-50000, g.r.IntN(100)))
	case 6:
		var u pyvalue.UUID
		for i := range u {
			u[i] = byte(g.r.IntN(256))
		}
		return u
	case 7:
		d := pyvalue.NewDict(2)
		d.Set(int64(g.r.IntN(100)), g.str(3))
		d.Set(g.str(3), int64(1))
		return d
	default:
		return pyvalue.NewTimeDelta(int64(g.r.IntN(1000)-500), int64(g.r.IntN(86400)), int64(g.r.IntN(1000000)))
	}
}

// TestInteropISOExpiryOn32 covers a session written for Django ≥ 4.1 (an
// ISO-text _session_expiry) and read by a 3.2 project sharing the files:
// 3.2 cannot compute its expiry date, and both sides say so the same way.
func TestInteropISOExpiryOn32(t *testing.T) {
	peer.Require(t)
	t.Run("file", func(t *testing.T) {
		// The file engine's load() itself compares the expiry: it raises.
		isoExpiryOn32(t, map[string]any{"SESSION_ENGINE": "django.contrib.sessions.backends.file", "SESSION_FILE_PATH": t.TempDir()})
	})
	t.Run("sqlite", func(t *testing.T) {
		// The db engine loads; get_expiry_date() raises.
		cfg := map[string]any{"SECRET_KEY": testSecret, "DATABASES": map[string]any{"default": map[string]any{"ENGINE": djangoSQLite, "NAME": filepath.Join(t.TempDir(), "x.db")}}}
		if r := goRun(t, cfg, "migrate", nil, nil); r.RC != 0 {
			t.Fatalf("migrate: %s", r.Stdout)
		}
		isoExpiryOn32(t, cfg)
	})
}

func isoExpiryOn32(t *testing.T, base map[string]any) {
	base["SECRET_KEY"], base["USE_TZ"], base["TIME_ZONE"] = testSecret, true, "UTC"
	cfg42, cfg32 := map[string]any{"TARGET_DJANGO_VERSION": "4.2"}, map[string]any{"TARGET_DJANGO_VERSION": "3.2"}
	for k, v := range base {
		cfg42[k], cfg32[k] = v, v
	}
	r := goRun(t, cfg42, "write", nil, `{"data":{"a":1},"expiry":"2099-01-02T03:04:05+00:00"}`)
	key := str(t, parse(t, r), "session_key")
	g := goRun(t, cfg32, "read", []string{key}, nil)
	d := django(t, cfg32).Do(t, peer.Call{Sub: "read", Args: []string{key}})
	if g.RC != exitError || d.RC != exitError {
		t.Fatalf("rc go %d %s / django %d %s", g.RC, g.Stdout, d.RC, d.Stdout)
	}
	gd, dd := parse(t, g), parse(t, d)
	if strings.Join(keysOf(gd), ",") != strings.Join(keysOf(dd), ",") || get(t, gd, "kind") != get(t, dd, "kind") {
		t.Fatalf("go %s / django %s", g.Stdout, d.Stdout)
	}
	if gv, ok := gd.Get("data"); ok && mustJSON(t, gv) != mustJSON(t, get(t, dd, "data")) {
		t.Fatalf("data: go %s / django %s", g.Stdout, d.Stdout)
	}
}
