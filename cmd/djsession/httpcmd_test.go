package main

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/djsession/djsession/internal/peer"
)

type httpAnswer struct {
	status    int
	setCookie []string
	vary      string
	body      map[string]any
	cookie    string // value of the session cookie set, `""` for a deletion
}

var httpSetCookieRe = regexp.MustCompile(`^([^=]+)=([^;]*)`)

func httpGet(t *testing.T, base, path, cookie string) httpAnswer {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", "sessionid="+cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	a := httpAnswer{status: res.StatusCode, setCookie: res.Header.Values("Set-Cookie"), vary: res.Header.Get("Vary")}
	if err := json.NewDecoder(res.Body).Decode(&a.body); err != nil {
		t.Fatalf("%s%s: status %d: %v", base, path, res.StatusCode, err)
	}
	for _, sc := range a.setCookie {
		if m := httpSetCookieRe.FindStringSubmatch(sc); m != nil && m[1] == "sessionid" {
			a.cookie = m[2]
		}
	}
	return a
}

// TestHTTPInterop pairs the Go CLI's http subcommand (the library's
// middleware) with the Django peer's (the SessionMiddleware of Django 3.2,
// 4.2 and 5.2, each the target of its run) on one SQLite database, one
// session directory or one SECRET_KEY: what one sets the other reads, in
// both directions, both answer /get identically, and a flush on either
// removes the session for both.
func TestHTTPInterop(t *testing.T) {
	peer.Require(t)
	for _, version := range peer.Versions() {
		for _, engine := range []string{"db", "file", "signed_cookies"} {
			t.Run(version+"/"+engine, func(t *testing.T) {
				t.Parallel()
				httpInterop(t, version, engine)
			})
		}
	}
}

func httpInterop(t *testing.T, version, engine string) {
	cfg := map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": version,
		"SESSION_ENGINE": "django.contrib.sessions.backends." + engine}
	switch engine {
	case "db":
		cfg["DATABASES"] = map[string]any{"default": map[string]any{
			"ENGINE": "django.db.backends.sqlite3", "NAME": filepath.Join(t.TempDir(), "db.sqlite3")}}
		if r := goRun(t, cfg, "migrate", nil, nil); r.RC != exitOK {
			t.Fatalf("migrate: %s", r.Stdout)
		}
	case "file":
		cfg["SESSION_FILE_PATH"] = t.TempDir()
	}
	cli, dj := peer.CLI(t), peer.DjangoAt(t, version)
	urls := map[string]string{
		cli.Name(): cli.StartHTTP(t, cfg),
		dj.Name():  dj.StartHTTP(t, cfg),
	}
	for _, p := range [][2]*peer.Impl{{cli, dj}, {dj, cli}} {
		w, r := urls[p[0].Name()], urls[p[1].Name()]
		t.Run(p[0].Name()+"-sets-"+p[1].Name()+"-reads", func(t *testing.T) {
			set := httpGet(t, w, "/set?a=1&b=h%C3%A9llo+w%C3%B6rld&a=2&c=&%F0%9F%98%80=x", "")
			if set.status != 200 || set.cookie == "" || set.cookie == `""` || set.vary != "Cookie" {
				t.Fatalf("set: %+v", set)
			}
			// Both sides answer the same for the same session.
			var gets []httpAnswer
			for _, base := range []string{w, r} {
				gets = append(gets, httpGet(t, base, "/get?k=b", set.cookie))
			}
			if g := gets[1]; g.body["exists"] != true || g.body["value"] != "héllo wörld" {
				t.Fatalf("get: %+v", g)
			}
			if !reflect.DeepEqual(gets[0], gets[1]) {
				t.Errorf("/get differs:\n %s %+v\n %s %+v", p[0], gets[0], p[1], gets[1])
			}
			data := gets[1].body["data"].(map[string]any)
			if want := map[string]any{"a": "2", "b": "héllo wörld", "c": "", "😀": "x"}; !reflect.DeepEqual(data, want) {
				t.Errorf("data %v, want %v", data, want)
			}
			upd := httpGet(t, r, "/set?d=4", set.cookie)
			if upd.cookie == "" || (engine != "signed_cookies" && upd.cookie != set.cookie) {
				t.Fatalf("update: %+v (key was %q)", upd, set.cookie)
			}
			if back := httpGet(t, w, "/get?k=d", upd.cookie); back.body["value"] != "4" {
				t.Errorf("read back: %+v", back)
			}
			fl := httpGet(t, r, "/flush", upd.cookie)
			del := `sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax`
			if len(fl.setCookie) != 1 || fl.setCookie[0] != del {
				t.Errorf("flush: Set-Cookie %q", fl.setCookie)
			}
			if engine == "signed_cookies" {
				return // a signed cookie cannot be revoked server-side (as in Django)
			}
			for _, base := range []string{w, r} {
				after := httpGet(t, base, "/get?k=a", upd.cookie)
				if after.body["exists"] != false || len(after.setCookie) != 1 || after.setCookie[0] != del {
					t.Errorf("after flush (%s): %+v", base, after)
				}
			}
		})
	}
}

// TestHTTPUsage: bad arguments are usage errors, reported before serving.
func TestHTTPUsage(t *testing.T) {
	cfg := map[string]any{"SECRET_KEY": testSecret, "SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies"}
	for _, args := range [][]string{{}, {"x"}, {"70000"}, {"-1"}, {"0", "soon"}, {"0", "-1"}, {"0", "1", "2"}} {
		if r := goRun(t, cfg, "http", args, nil); r.RC != exitUsage {
			t.Errorf("http %q: rc %d %s", args, r.RC, r.Stdout)
		}
	}
	// LIFETIME_S 0 serves nothing and exits cleanly after announcing itself.
	r := goRun(t, cfg, "http", []string{"0", "0"}, nil)
	if r.RC != exitOK || !strings.HasPrefix(string(r.Stdout), `{"listening":"http://127.0.0.1:`) {
		t.Errorf("http 0 0: rc %d %s", r.RC, r.Stdout)
	}
}

// TestHTTPQueryDict compares httpQueryDict with how Django 3.2 fills
// request.GET (QueryDict: urllib.parse.parse_qsl with keep_blank_values,
// UTF-8 with errors="replace") on random query strings, in one Python
// process.
func TestHTTPQueryDict(t *testing.T) {
	peer.Require(t)
	rng := rand.New(rand.NewPCG(7, 11))
	pieces := []string{"a", "b", "=", "&", "+", "%20", "%2", "%zz", "%C3%A9", "%C3", "%FF", "%F0%9F%98%80", ";", "é", " ", "%26", "%3D", "k"}
	var qs []string
	for range 300 {
		var b strings.Builder
		for n := rng.IntN(10); n > 0; n-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		qs = append(qs, b.String())
	}
	in, _ := json.Marshal(qs)
	cmd := exec.Command(peer.Python, "-c", `
import json, sys
from django.conf import settings
settings.configure()
from django.http import QueryDict
out = []
for q in json.load(sys.stdin):
    d = QueryDict(q)
    out.append([[k, v] for k, v in d.items()])
json.dump(out, sys.stdout)
`)
	cmd.Stdin = strings.NewReader(string(in))
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want [][][2]string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	for i, q := range qs {
		keys, vals := httpQueryDict(q)
		var got [][2]string
		for _, k := range keys {
			got = append(got, [2]string{k, vals[k]})
		}
		if len(got) != len(want[i]) || (len(got) > 0 && !reflect.DeepEqual(got, want[i])) {
			t.Errorf("%q: got %q, Django %q", q, got, want[i])
		}
	}
}

// FuzzHTTPQueryDict: never panics, always yields valid UTF-8.
func FuzzHTTPQueryDict(f *testing.F) {
	for _, s := range []string{"", "a=1&b=2", "%zz=%C3", "a&&=&+%2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		keys, vals := httpQueryDict(q)
		for _, k := range keys {
			if !utf8.ValidString(k) || !utf8.ValidString(vals[k]) {
				t.Errorf("%q: invalid UTF-8 in %q=%q", q, k, vals[k])
			}
		}
	})
}

// TestHTTPCookieAttributes compares the Set-Cookie header of the CLI's
// middleware with Django's SessionMiddleware (3.2, 4.2, 5.2, each the
// target of its run) under the SESSION_COOKIE_* settings: the same
// attributes in the same order, the value and the Expires date aside
// (a new session each, set a moment apart).
func TestHTTPCookieAttributes(t *testing.T) {
	peer.Require(t)
	expiresRe := regexp.MustCompile(`expires=([^;]+)`)
	for _, version := range peer.Versions() {
		for i, settings := range []map[string]any{
			{},
			{"SESSION_COOKIE_SECURE": true, "SESSION_COOKIE_HTTPONLY": false, "SESSION_COOKIE_SAMESITE": "None"},
			{"SESSION_COOKIE_SAMESITE": "Strict", "SESSION_COOKIE_DOMAIN": ".example.com", "SESSION_COOKIE_PATH": "/app"},
			{"SESSION_COOKIE_SAMESITE": nil, "SESSION_COOKIE_AGE": 1234, "SESSION_COOKIE_NAME": "sid"},
			{"SESSION_EXPIRE_AT_BROWSER_CLOSE": true, "SESSION_COOKIE_SAMESITE": false},
		} {
			t.Run(version+"/"+strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				cfg := map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": version,
					"SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies"}
				for k, v := range settings {
					cfg[k] = v
				}
				cli, dj := peer.CLI(t), peer.DjangoAt(t, version)
				var headers [2]string
				var expires [2]time.Time
				for j, im := range []*peer.Impl{cli, dj} {
					a := httpGet(t, im.StartHTTP(t, cfg), "/set?a=1", "")
					if a.status != 200 || len(a.setCookie) != 1 {
						t.Fatalf("%s /set: %+v", im.Name(), a)
					}
					h := a.setCookie[0]
					name, _, _ := strings.Cut(h, "=")
					_, rest, _ := strings.Cut(h, ";")
					headers[j] = name + "=VALUE;" + rest
					if m := expiresRe.FindStringSubmatch(h); m != nil {
						e, err := http.ParseTime(m[1])
						if err != nil {
							t.Fatalf("%s Expires %q: %v", im.Name(), m[1], err)
						}
						expires[j] = e
						headers[j] = strings.Replace(headers[j], m[1], "DATE", 1)
					}
				}
				if headers[0] != headers[1] {
					t.Fatalf("Set-Cookie\n go:     %s\n django: %s", headers[0], headers[1])
				}
				if d := expires[0].Sub(expires[1]); d < -time.Minute || d > time.Minute {
					t.Fatalf("Expires go %v, django %v", expires[0], expires[1])
				}
			})
		}
	}
}
