package djangosession

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/djsession/djsession/internal/peer"
)

func strp(s string) *string { return &s }
func boolp(b bool) *bool    { return &b }

// TestCookieHeader checks the Set-Cookie strings of DJANGO_FORMATS.md §5.4
// (taken from real Django at the frozen time 1700000000) and the cases
// Python refuses.
func TestCookieHeader(t *testing.T) {
	now := time.Unix(1700000000, 0)
	def := &Settings{}
	def.Defaults()
	changed := &Settings{SessionCookieName: "sid", SessionCookieDomain: ".example.com", SessionCookiePath: "/app",
		SessionCookieSameSite: strp("Strict"), SessionCookieSecure: true, SessionCookieHTTPOnly: boolp(false)}
	changed.Defaults()
	noSameSite := &Settings{SessionCookieSameSite: strp("")}
	noSameSite.Defaults()
	none := &Settings{SessionCookieSameSite: strp("None"), SessionCookieSecure: true}
	none.Defaults()
	host := &Settings{SessionCookieName: "__Host-sid", SessionCookieSecure: true}
	host.Defaults()
	const key = "abcdefghijklmnopqrstuvwxyz012345"
	for _, tc := range []struct {
		name    string
		c       func() (*Cookie, error)
		want    string
		wantErr error
	}{
		{"first write", func() (*Cookie, error) { return SessionCookie(def, key, false, 1209600, now) },
			"sessionid=" + key + "; expires=Tue, 28 Nov 2023 22:13:20 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax", nil},
		{"set_expiry(300)", func() (*Cookie, error) { return SessionCookie(def, key, false, 300, now) },
			"sessionid=" + key + "; expires=Tue, 14 Nov 2023 22:18:20 GMT; HttpOnly; Max-Age=300; Path=/; SameSite=Lax", nil},
		{"float age: int() for Max-Age, floor of the sum for expires", func() (*Cookie, error) { return SessionCookie(def, key, false, 600.5, now.Add(600*time.Millisecond)) },
			"sessionid=" + key + "; expires=Tue, 14 Nov 2023 22:23:21 GMT; HttpOnly; Max-Age=600; Path=/; SameSite=Lax", nil},
		{"negative age", func() (*Cookie, error) { return SessionCookie(def, key, false, -800.5, now) },
			"sessionid=" + key + "; expires=Tue, 14 Nov 2023 21:59:59 GMT; HttpOnly; Max-Age=-800; Path=/; SameSite=Lax", nil},
		{"browser close", func() (*Cookie, error) { return SessionCookie(def, key, true, 0, now) },
			"sessionid=" + key + "; HttpOnly; Path=/; SameSite=Lax", nil},
		{"all settings changed", func() (*Cookie, error) { return SessionCookie(changed, key, false, 1209600, now) },
			"sid=" + key + "; Domain=.example.com; expires=Tue, 28 Nov 2023 22:13:20 GMT; Max-Age=1209600; Path=/app; SameSite=Strict; Secure", nil},
		{"SameSite disabled", func() (*Cookie, error) { return SessionCookie(noSameSite, key, false, 1209600, now) },
			"sessionid=" + key + "; expires=Tue, 28 Nov 2023 22:13:20 GMT; HttpOnly; Max-Age=1209600; Path=/", nil},
		{"deletion", func() (*Cookie, error) { return DeleteSessionCookie(def), nil },
			`sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax`, nil},
		{"deletion SameSite=None", func() (*Cookie, error) { return DeleteSessionCookie(none), nil },
			`sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=None; Secure`, nil},
		{"deletion __Host-", func() (*Cookie, error) { return DeleteSessionCookie(host), nil },
			`__Host-sid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax; Secure`, nil},
		{"deletion with all settings changed: no HttpOnly, no Secure", func() (*Cookie, error) { return DeleteSessionCookie(changed), nil },
			`sid=""; Domain=.example.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/app; SameSite=Strict`, nil},
		{"signed value", func() (*Cookie, error) {
			return SessionCookie(def, "eyJhIjoxfQ:1r31eq:VplhdrUFi_Fm_9wAMUYIHMZLeCyz4tNA7t1-6ly1DeY", false, 1209600, now)
		}, "sessionid=eyJhIjoxfQ:1r31eq:VplhdrUFi_Fm_9wAMUYIHMZLeCyz4tNA7t1-6ly1DeY; expires=Tue, 28 Nov 2023 22:13:20 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax", nil},
		{"quoted value", func() (*Cookie, error) { return &Cookie{Name: "n", Value: `a b;"\é€`}, nil },
			`n="a b\073\"\\\351€"`, nil},
		{"illegal name", func() (*Cookie, error) { return &Cookie{Name: "a b"}, nil }, "", ErrCookie},
		{"empty name", func() (*Cookie, error) { return &Cookie{Name: ""}, nil }, "", ErrCookie},
		{"reserved name", func() (*Cookie, error) { return &Cookie{Name: "Max-Age"}, nil }, "", ErrCookie},
		{"bad SameSite", func() (*Cookie, error) { return &Cookie{Name: "n", SameSite: "Relaxed"}, nil }, "", ErrCookie},
		{"NaN age", func() (*Cookie, error) { return SessionCookie(def, key, false, math.NaN(), now) }, "", ErrInvalidExpiry},
		{"age past year 9999", func() (*Cookie, error) { return SessionCookie(def, key, false, 1e12, now) }, "", ErrInvalidExpiry},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.c()
			var got string
			if err == nil {
				got, err = c.Header()
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v\nwant %q", got, err, tc.want)
			}
		})
	}
}

func TestHTTPDate(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Unix(0, 0), "Thu, 01 Jan 1970 00:00:00 GMT"},
		{time.Unix(1700000000, 999999999), "Tue, 14 Nov 2023 22:13:20 GMT"},
		{time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), "Fri, 31 Dec 9999 23:59:59 GMT"},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "Mon, 01 Jan 0001 00:00:00 GMT"},
		{time.Date(2024, 2, 29, 12, 0, 0, 0, time.FixedZone("x", 5*3600+1800)), "Thu, 29 Feb 2024 06:30:00 GMT"},
	} {
		if got := HTTPDate(tc.t); got != tc.want {
			t.Errorf("HTTPDate(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestParseCookieHeader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
	}{
		{"", map[string]string{}},
		{"sessionid=abc", map[string]string{"sessionid": "abc"}},
		{"sessionid=", map[string]string{"sessionid": ""}},
		{" a = 1 ; b=2;;c", map[string]string{"a": "1", "b": "2", "": "c"}},
		{"a=1; a=2", map[string]string{"a": "2"}},
		{`a="x\073y\"z\\"`, map[string]string{"a": `x;y"z\`}},
		{`a="\400"`, map[string]string{"a": `400`}},
		{`a="`, map[string]string{"a": `"`}},
		{`a=""`, map[string]string{"a": ``}},
		{"a=b=c", map[string]string{"a": "b=c"}},
		{"\x1ca=1\u3000", map[string]string{"a": "1"}},
	} {
		got := ParseCookieHeader(tc.in)
		if len(got) != len(tc.want) {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
			continue
		}
		for k, v := range tc.want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
			}
		}
	}
}

func TestPatchVary(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, "Cookie"},
		{[]string{"Accept-Encoding"}, "Accept-Encoding, Cookie"},
		{[]string{"accept-encoding ,  cookie"}, "accept-encoding, cookie"},
		{[]string{"Accept", "Origin"}, "Accept, Origin, Cookie"},
		{[]string{"Accept, *"}, "*"},
		{[]string{""}, ", Cookie"},
		{[]string{" Accept "}, " Accept , Cookie"},
	} {
		h := http.Header{}
		for _, v := range tc.in {
			h.Add("Vary", v)
		}
		patchVary(h, "Cookie")
		if got := h.Values("Vary"); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// pythonCookieScript answers, with real Django 3.2 and CPython's
// http.cookies, what the Go side computes in cookie.go and patchVary.
const pythonCookieScript = `
import json, sys, time
from http import cookies
from django.conf import settings
settings.configure()
from django.http import HttpResponse
from django.http.cookie import parse_cookie
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date
import django.http.response as resp
inp = json.load(sys.stdin)
out = {"quote": [cookies._quote(s) for s in inp["quote"]],
       "roundtrip": [cookies._unquote(cookies._quote(s)) == s for s in inp["quote"]],
       "parse": [parse_cookie(h) for h in inp["parse"]]}
vary = []
for v in inp["vary"]:
    r = HttpResponse()
    if v is not None:
        r["Vary"] = v
    patch_vary_headers(r, ("Cookie",))
    vary.append(r["Vary"])
out["vary"] = vary
res = []
for c in inp["cookies"]:
    r = HttpResponse()
    try:
        max_age = expires = None
        if c["max_age"] is not None:
            max_age = c["max_age"]
            expires = http_date(c["now"] + max_age)
        if c["delete"]:
            r.delete_cookie(c["name"], path=c["path"], domain=c["domain"], samesite=c["samesite"])
        else:
            r.set_cookie(c["name"], c["value"], max_age=max_age, expires=expires, domain=c["domain"],
                         path=c["path"], secure=c["secure"] or None, httponly=c["httponly"] or None,
                         samesite=c["samesite"])
        res.append(r.cookies[c["name"]].OutputString())
    except Exception as e:
        res.append("error: " + type(e).__name__)
out["cookies"] = res
json.dump(out, sys.stdout)
`

// TestCookieDifferential compares, for random inputs, Cookie.Header,
// SessionCookie, DeleteSessionCookie, QuoteCookieValue, ParseCookieHeader
// and patchVary with Django 3.2's set_cookie/delete_cookie, http.cookies,
// parse_cookie and patch_vary_headers, all in one Python process.
func TestCookieDifferential(t *testing.T) {
	peer.Require(t)
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "Z", "0", "-", "_", ":", ".", "!", "~", " ", ";", "=", ",", "\"", "\\", "\\012", "\\\"", "\\400",
		"\t", "\n", "\x00", "\x1c", "\x7f", "é", "\u0085", "\u00a0", "\u3000", "€", "😀", "/", "(", "[", "@", "\\3"}
	randStr := func(max int) string {
		var b strings.Builder
		for n := rng.IntN(max + 1); n > 0; n-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	const n = 400
	type cookieIn struct {
		Name     string   `json:"name"`
		Value    string   `json:"value"`
		MaxAge   *float64 `json:"max_age"`
		Now      float64  `json:"now"`
		Domain   *string  `json:"domain"`
		Path     string   `json:"path"`
		Secure   bool     `json:"secure"`
		HTTPOnly bool     `json:"httponly"`
		SameSite *string  `json:"samesite"`
		Delete   bool     `json:"delete"`
	}
	var in struct {
		Quote   []string   `json:"quote"`
		Parse   []string   `json:"parse"`
		Vary    []*string  `json:"vary"`
		Cookies []cookieIn `json:"cookies"`
	}
	names := []string{"sessionid", "sid", "__Host-sid", "__Secure-x", "a b", "path", "Expires", "n;", "x\u00e9"}
	sameSites := []*string{nil, strp("Lax"), strp("strict"), strp("None"), strp("nOnE"), strp("bogus")}
	for i := 0; i < n; i++ {
		in.Quote = append(in.Quote, randStr(8))
		in.Parse = append(in.Parse, randStr(12))
		if i%7 == 0 {
			in.Vary = append(in.Vary, nil)
		} else {
			varyPieces := []string{"Accept", "cookie", "Cookie", "COOKIE", "*", " ", ",", ", ", "\t", "Origin"}
			var b strings.Builder
			for k := rng.IntN(6); k > 0; k-- {
				b.WriteString(varyPieces[rng.IntN(len(varyPieces))])
			}
			in.Vary = append(in.Vary, strp(b.String()))
		}
		c := cookieIn{Name: names[rng.IntN(len(names))], Value: randStr(5), Path: []string{"/", "/app", ""}[rng.IntN(3)],
			Secure: rng.IntN(2) == 0, HTTPOnly: rng.IntN(2) == 0, SameSite: sameSites[rng.IntN(len(sameSites))],
			Delete: rng.IntN(4) == 0, Now: 1700000000 + float64(rng.IntN(1000000))/1000}
		if rng.IntN(3) > 0 {
			age := []float64{0, 300, 1209600, 600.5, -800.25, 1.999, -0.5}[rng.IntN(7)]
			c.MaxAge = &age
		}
		if rng.IntN(3) == 0 {
			c.Domain = strp(".example.com")
		}
		in.Cookies = append(in.Cookies, c)
	}
	stdin, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(peer.Python, "-c", pythonCookieScript)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var out struct {
		Quote     []string            `json:"quote"`
		Roundtrip []bool              `json:"roundtrip"`
		Parse     []map[string]string `json:"parse"`
		Vary      []string            `json:"vary"`
		Cookies   []string            `json:"cookies"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	errs := 0
	for i := 0; i < n; i++ {
		if got := QuoteCookieValue(in.Quote[i]); got != out.Quote[i] {
			t.Errorf("quote(%q) = %q, Python %q", in.Quote[i], got, out.Quote[i])
		}
		if got := unquoteCookieValue(QuoteCookieValue(in.Quote[i])); (got == in.Quote[i]) != out.Roundtrip[i] {
			t.Errorf("unquote(quote(%q)) = %q, Python round trip %v", in.Quote[i], got, out.Roundtrip[i])
		}
		got := ParseCookieHeader(in.Parse[i])
		if len(got) != len(out.Parse[i]) {
			t.Errorf("parse(%q) = %q, Python %q", in.Parse[i], got, out.Parse[i])
		} else {
			for k, v := range out.Parse[i] {
				if got[k] != v {
					t.Errorf("parse(%q) = %q, Python %q", in.Parse[i], got, out.Parse[i])
					break
				}
			}
		}
		h := http.Header{}
		if in.Vary[i] != nil {
			h.Set("Vary", *in.Vary[i])
		}
		patchVary(h, "Cookie")
		if g := h.Get("Vary"); g != out.Vary[i] {
			t.Errorf("patch_vary(%q) = %q, Python %q", deref(in.Vary[i]), g, out.Vary[i])
		}

		c := in.Cookies[i]
		st := &Settings{SessionCookieName: c.Name, SessionCookiePath: c.Path, SessionCookieSecure: c.Secure,
			SessionCookieHTTPOnly: boolp(c.HTTPOnly), SessionCookieSameSite: strp("")}
		if c.SameSite != nil {
			st.SessionCookieSameSite = c.SameSite
		}
		if c.Domain != nil {
			st.SessionCookieDomain = *c.Domain
		}
		var ck *Cookie
		if c.Delete {
			ck = DeleteSessionCookie(st)
		} else {
			age := 0.0
			if c.MaxAge != nil {
				age = *c.MaxAge
			}
			sec, frac := math.Modf(c.Now)
			ck, err = SessionCookie(st, c.Value, c.MaxAge == nil, age, time.Unix(int64(sec), int64(math.Round(frac*1e9))))
			if err != nil {
				t.Fatal(err)
			}
		}
		line, err := ck.Header()
		if err != nil {
			errs++
			if !strings.HasPrefix(out.Cookies[i], "error: ") {
				t.Errorf("cookie %+v: Go error %v, Python %q", c, err, out.Cookies[i])
			}
			continue
		}
		if line != out.Cookies[i] {
			t.Errorf("cookie %+v:\n Go     %q\n Python %q", c, line, out.Cookies[i])
		}
	}
	if errs == 0 || errs == n {
		t.Errorf("%d of %d cookies refused: the inputs do not cover both outcomes", errs, n)
	}
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// FuzzParseCookieHeader: never panics; a quoted value reads back as itself.
func FuzzParseCookieHeader(f *testing.F) {
	for _, s := range []string{"", "a=1", `a="\073"`, ";;=", `a="\`, "\x1ca=\u3000", `"\400"`} {
		f.Add(s, "v")
	}
	f.Fuzz(func(t *testing.T, header, value string) {
		_ = ParseCookieHeader(header)
		if !utf8.ValidString(value) {
			return
		}
		q := QuoteCookieValue(value)
		if got := ParseCookieHeader("sessionid=" + q)["sessionid"]; got != value {
			t.Errorf("value %q quoted %q reads back as %q", value, q, got)
		}
	})
}
