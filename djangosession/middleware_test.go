package djangosession_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cacheddb"
	"github.com/djsession/djsession/djangosession/cachestore"
	"github.com/djsession/djsession/djangosession/cookiestore"
	"github.com/djsession/djsession/djangosession/dbstore"
	"github.com/djsession/djsession/djangosession/filestore"
	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/internal/testenv"
	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
)

// middlewareVectors is testdata/vectors/middleware_cookies.json.
type middlewareVectors struct {
	Conventions map[string]any `json:"conventions"`
	Cases       []struct {
		Desc             string         `json:"desc"`
		Engine           string         `json:"engine"`
		SettingsOverride map[string]any `json:"settings_overrides"`
		FrozenTime       int64          `json:"frozen_time"`
		DjangoVersion    string         `json:"django_version"`
		Steps            []struct {
			Request   string   `json:"request"`
			Status    int      `json:"status"`
			SetCookie []string `json:"set_cookie"`
			Vary      *string  `json:"vary"`
		} `json:"steps"`
	} `json:"cases"`
}

const vectorSecret = "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"

// vectorViews are the views the vector generator ran behind Django's
// SessionMiddleware (the paths name what each does; /set/ stores {"a": 1},
// as the signed cookie of the vectors shows).
func vectorViews(t *testing.T, store djangosession.Store) http.Handler {
	mux := http.NewServeMux()
	must := func(w http.ResponseWriter, err error) bool {
		if err != nil {
			t.Errorf("view: %v", err)
			w.WriteHeader(599)
			return false
		}
		return true
	}
	mux.HandleFunc("/noop/", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/set/", func(w http.ResponseWriter, r *http.Request) {
		must(w, djangosession.FromRequest(r).Set(r.Context(), "a", int64(1)))
	})
	mux.HandleFunc("/read/", func(w http.ResponseWriter, r *http.Request) {
		_, _, err := djangosession.FromRequest(r).Get(r.Context(), "a")
		must(w, err)
	})
	mux.HandleFunc("/flush/", func(w http.ResponseWriter, r *http.Request) {
		must(w, djangosession.FromRequest(r).Flush(r.Context()))
	})
	expiry := func(v int64) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s := djangosession.FromRequest(r)
			if must(w, s.Set(r.Context(), "a", int64(1))) {
				must(w, s.SetExpiry(r.Context(), v))
			}
		}
	}
	mux.HandleFunc("/exp0/", expiry(0))
	mux.HandleFunc("/exp300/", expiry(300))
	status := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if must(w, djangosession.FromRequest(r).Set(r.Context(), "a", int64(1))) {
				w.WriteHeader(code)
			}
		}
	}
	mux.HandleFunc("/e500/", status(500))
	mux.HandleFunc("/e503/", status(503))
	// A concurrent logout deletes the record after this request loaded it.
	mux.HandleFunc("/concurrent/", func(w http.ResponseWriter, r *http.Request) {
		s := djangosession.FromRequest(r)
		ctx := r.Context()
		if _, _, err := s.Get(ctx, "a"); !must(w, err) {
			return
		}
		if !must(w, store.Delete(ctx, s.Key())) {
			return
		}
		must(w, s.Set(ctx, "a", int64(2)))
	})
	return mux
}

func vectorSettings(t testing.TB, version string, overrides map[string]any, fileDir string) *djangosession.Settings {
	t.Helper()
	cfg := map[string]any{"SECRET_KEY": vectorSecret, "TARGET_DJANGO_VERSION": version}
	for k, v := range overrides {
		cfg[k] = v
	}
	if fileDir != "" {
		cfg["SESSION_FILE_PATH"] = fileDir
	}
	b, _ := json.Marshal(cfg)
	st, err := djangosession.LoadSettings(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Validate(); err != nil {
		t.Fatal(err)
	}
	return st
}

// newEngine opens engine (a SESSION_ENGINE value) on fresh storage with the
// frozen clock.
func newEngine(t *testing.T, engine string, st *djangosession.Settings, clock func() time.Time) djangosession.Store {
	t.Helper()
	switch engine {
	case djangosession.EngineDB:
		db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "db.sqlite3")+"?_busy_timeout=5000")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s, err := dbstore.New(db, dbstore.SQLite, st, dbstore.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	case djangosession.EngineFile:
		s, err := filestore.New(st, filestore.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	case djangosession.EngineSignedCookies:
		s, err := cookiestore.New(st, cookiestore.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Fatalf("no Go engine for %s", engine)
	return nil
}

var setCookieName = regexp.MustCompile(`^([^=]+)=([^;]*)`)

// TestMiddlewareVectors replays every request sequence of
// middleware_cookies.json through Middleware with the case's engine,
// settings and Django version, and the frozen clock, comparing status,
// every Set-Cookie string and Vary. Random session keys are replaced by
// <session_key_N> in order of appearance, as in the vectors. The db cases
// are replayed a second time with the file engine, whose middleware path
// is the same in Django (no vector case uses it or the cache engine).
func TestMiddlewareVectors(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(vectors.Dir(t), "middleware_cookies.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vf middlewareVectors
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Cases) == 0 {
		t.Fatal("no cases")
	}
	counts := map[string]int{}
	for i, c := range vf.Cases {
		engines := []string{c.Engine}
		if c.Engine == djangosession.EngineDB {
			engines = append(engines, djangosession.EngineFile)
		}
		for _, engine := range engines {
			counts[engine]++
			name := fmt.Sprintf("%d/%s/%s/%s", i, c.DjangoVersion, engine[strings.LastIndex(engine, ".")+1:], c.Desc)
			t.Run(name, func(t *testing.T) {
				frozen := time.Unix(c.FrozenTime, 0)
				clock := func() time.Time { return frozen }
				fileDir := ""
				if engine == djangosession.EngineFile {
					fileDir = t.TempDir()
				}
				st := vectorSettings(t, c.DjangoVersion, c.SettingsOverride, fileDir)
				store := newEngine(t, engine, st, clock)
				m, err := djangosession.NewManager(store, st, djangosession.WithClock(clock))
				if err != nil {
					t.Fatal(err)
				}
				var logs bytes.Buffer
				h := djangosession.Middleware(m, vectorViews(t, store),
					djangosession.WithMiddlewareLogger(slog.New(slog.NewTextHandler(&logs, nil))))

				jar := map[string]string{}
				// The cases about a cookie the server does not know start
				// with one: an unknown key, or a value that does not verify.
				if strings.Contains(c.Desc, "unknown session key") {
					jar[st.SessionCookieName] = "abcdefghijklmnopqrstuvwxyz012345"
				}
				if strings.Contains(c.Desc, "bad cookie") {
					jar[st.SessionCookieName] = "eyJhIjoxfQ:1r31eq:not-a-valid-signature-at-all"
				}
				keys := map[string]string{}
				for j, step := range c.Steps {
					method, target, _ := strings.Cut(step.Request, " ")
					req := httptest.NewRequest(method, target, nil)
					for k, v := range jar {
						req.AddCookie(&http.Cookie{Name: k, Value: v, Quoted: false})
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					res := rec.Result()
					if res.StatusCode != step.Status {
						t.Errorf("step %d %s: status %d, want %d", j, step.Request, res.StatusCode, step.Status)
					}
					got := res.Header.Values("Set-Cookie")
					var norm []string
					for _, sc := range got {
						m := setCookieName.FindStringSubmatch(sc)
						if m == nil {
							t.Fatalf("bad Set-Cookie %q", sc)
						}
						if m[2] == `""` {
							delete(jar, m[1])
						} else {
							jar[m[1]] = m[2]
						}
						if engine != djangosession.EngineSignedCookies && m[2] != `""` {
							if !regexp.MustCompile(`^[a-z0-9]{32}$`).MatchString(m[2]) {
								t.Errorf("session key %q is not 32 chars of [a-z0-9]", m[2])
							}
							ph, ok := keys[m[2]]
							if !ok {
								ph = fmt.Sprintf("<session_key_%d>", len(keys)+1)
								keys[m[2]] = ph
							}
							sc = m[1] + "=" + ph + sc[len(m[0]):]
						}
						norm = append(norm, sc)
					}
					want := step.SetCookie
					if want == nil {
						want = []string{}
					}
					if norm == nil {
						norm = []string{}
					}
					if !slices.Equal(norm, want) {
						t.Errorf("step %d %s: Set-Cookie\n got %q\nwant %q", j, step.Request, norm, want)
					}
					var gotVary *string
					if v := res.Header.Values("Vary"); len(v) > 0 {
						s := strings.Join(v, ", ")
						gotVary = &s
					}
					if (gotVary == nil) != (step.Vary == nil) || (gotVary != nil && *gotVary != *step.Vary) {
						t.Errorf("step %d %s: Vary %v, want %v", j, step.Request, deref(gotVary), deref(step.Vary))
					}
					if step.Status == http.StatusBadRequest {
						body := rec.Body.String()
						if !strings.Contains(body, "<h1>Bad Request (400)</h1>") {
							t.Errorf("400 body %q", body)
						}
						if !strings.Contains(logs.String(), "session was deleted before the request completed") {
							t.Errorf("SessionInterrupted not logged: %s", logs.String())
						}
					}
				}
			})
		}
	}
	// Every engine of the vectors is replayed: db, file (db's cases) and
	// signed_cookies. None needs the cache engine.
	if counts[djangosession.EngineDB] == 0 || counts[djangosession.EngineSignedCookies] == 0 ||
		counts[djangosession.EngineDB]+counts[djangosession.EngineSignedCookies] != len(vf.Cases) {
		t.Errorf("replayed %v of %d cases", counts, len(vf.Cases))
	}
}

func deref(p *string) string {
	if p == nil {
		return "<none>"
	}
	return *p
}

// frozenManager is a Manager over a signed_cookies store at the vectors'
// frozen time.
func frozenManager(t *testing.T, overrides map[string]any) (*djangosession.Manager, djangosession.Store) {
	t.Helper()
	frozen := time.Unix(1700000000, 0)
	clock := func() time.Time { return frozen }
	st := vectorSettings(t, "4.2", overrides, "")
	store := newEngine(t, djangosession.EngineSignedCookies, st, clock)
	m, err := djangosession.NewManager(store, st, djangosession.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	return m, store
}

// TestMiddlewareCookieTooLarge: a signed cookie over 4096 bytes is still
// sent, as Django sends it, but the size check logs it and hands the
// *CookieTooLargeError to the error handler; the check can be replaced
// (cookiestore.CheckSize) or turned off.
func TestMiddlewareCookieTooLarge(t *testing.T) {
	m, _ := frozenManager(t, nil)
	big := func(w http.ResponseWriter, r *http.Request) {
		// Incompressible text so the signed value stays large.
		var b strings.Builder
		for i := 0; b.Len() < 6000; i++ {
			fmt.Fprintf(&b, "%x", uint32(i)*2654435761)
		}
		if err := djangosession.FromRequest(r).Set(r.Context(), "big", b.String()); err != nil {
			t.Error(err)
		}
	}
	for _, tc := range []struct {
		name    string
		opts    []djangosession.MiddlewareOption
		wantErr error
	}{
		{"default", nil, djangosession.ErrCookieTooLarge},
		{"cookiestore.CheckSize", []djangosession.MiddlewareOption{djangosession.WithCookieCheck(cookiestore.CheckSize)}, cookiestore.ErrCookieTooLarge},
		{"off", []djangosession.MiddlewareOption{djangosession.WithCookieCheck(nil)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			var reported []error
			opts := append([]djangosession.MiddlewareOption{
				djangosession.WithMiddlewareLogger(slog.New(slog.NewTextHandler(&logs, nil))),
				djangosession.WithErrorHandler(func(_ *http.Request, err error) { reported = append(reported, err) }),
			}, tc.opts...)
			h := djangosession.Middleware(m, http.HandlerFunc(big), opts...)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			sc := rec.Result().Header.Values("Set-Cookie")
			if len(sc) != 1 || len(sc[0]) <= 4096 {
				t.Fatalf("want one cookie over 4096 bytes, got %d cookies", len(sc))
			}
			if tc.wantErr == nil {
				if len(reported) != 0 || logs.Len() != 0 {
					t.Errorf("check off, but reported %v, logged %q", reported, logs.String())
				}
				return
			}
			if len(reported) != 1 || !errors.Is(reported[0], tc.wantErr) {
				t.Fatalf("reported %v, want %v", reported, tc.wantErr)
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "too large") {
				t.Errorf("log %q", logs.String())
			}
			var tl *djangosession.CookieTooLargeError
			if errors.As(reported[0], &tl) && tl.Size != len(sc[0]) {
				t.Errorf("measured %d bytes, header has %d", tl.Size, len(sc[0]))
			}
			var ctl *cookiestore.CookieTooLargeError
			if errors.As(reported[0], &ctl) && ctl.Size != len(sc[0]) {
				t.Errorf("cookiestore measured %d bytes, header has %d", ctl.Size, len(sc[0]))
			}
		})
	}
}

// parseQueryOrdered is how Django fills request.GET (limited_parse_qsl with
// keep_blank_values): pairs split on '&', '+' as space, percent-decoding,
// in order; a later pair overrides an earlier value of the same key but
// keeps its place, as QueryDict.items() yields it.
func parseQueryOrdered(raw string) (keys []string, vals map[string]string) {
	vals = map[string]string{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, _ = url.QueryUnescape(k)
		v, _ = url.QueryUnescape(v)
		if _, seen := vals[k]; !seen {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	return keys, vals
}

// protocolViews are the routes of the http subcommand of CLI_PROTOCOL.md,
// /set, /get and /flush, as the Django peer serves them.
func protocolViews(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, d *pyvalue.Dict) {
		b, err := pyvalue.MarshalJSON(d)
		if err != nil {
			t.Errorf("view: %v", err)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}
	ok := pyvalue.NewDict(1)
	ok.Set("ok", true)
	fail := func(w http.ResponseWriter, err error) {
		t.Errorf("view: %v", err)
		w.WriteHeader(http.StatusInternalServerError)
	}
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		s := djangosession.FromRequest(r)
		keys, vals := parseQueryOrdered(r.URL.RawQuery)
		for _, k := range keys {
			if err := s.Set(r.Context(), k, vals[k]); err != nil {
				fail(w, err)
				return
			}
		}
		reply(w, ok)
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		s := djangosession.FromRequest(r)
		_, q := parseQueryOrdered(r.URL.RawQuery)
		v, exists, err := s.Get(r.Context(), q["k"])
		if err != nil {
			fail(w, err)
			return
		}
		data, err := s.Items(r.Context())
		if err != nil {
			fail(w, err)
			return
		}
		out := pyvalue.NewDict(3)
		out.Set("exists", exists)
		out.Set("value", v)
		out.Set("data", data)
		reply(w, out)
	})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		if err := djangosession.FromRequest(r).Flush(r.Context()); err != nil {
			fail(w, err)
			return
		}
		reply(w, ok)
	})
	return mux
}

// liveClient talks to the Go and Django servers as one browser would, but
// with the cookie passed explicitly so each step says which session it uses.
type liveResp struct {
	status    int
	setCookie []string
	vary      string
	body      map[string]any
	cookie    string // the session cookie value set ("" none, `""` deletion)
}

func liveGet(t *testing.T, base, path, cookieName, cookie string) liveResp {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookieName+"="+cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := liveResp{status: res.StatusCode, setCookie: res.Header.Values("Set-Cookie"), vary: res.Header.Get("Vary")}
	if err := json.NewDecoder(res.Body).Decode(&out.body); err != nil {
		t.Fatalf("%s%s: status %d, body: %v", base, path, res.StatusCode, err)
	}
	for _, sc := range out.setCookie {
		if m := setCookieName.FindStringSubmatch(sc); m != nil && m[1] == cookieName {
			out.cookie = m[2]
		}
	}
	return out
}

// cookieShape blanks the value and the expires date of a Set-Cookie string
// (both depend on the moment), keeping every other byte.
var cookieShapeRe = regexp.MustCompile(`^([^=]+)=[^;]*(.*?)(; expires=[^;]+)?(;.*)?$`)

func cookieShape(sc string) string {
	m := cookieShapeRe.FindStringSubmatch(sc)
	if m == nil {
		return sc
	}
	exp := ""
	if m[3] != "" {
		exp = "; expires=<date>"
	}
	return m[1] + "=<value>" + m[2] + exp + m[4]
}

// TestMiddlewareLiveDjango runs the Go middleware (behind the protocol's
// /set, /get, /flush routes) and real Django 3.2's SessionMiddleware (the
// peer's http subcommand) on one SQLite database, one session directory, one
// SECRET_KEY, one memcached (cache) or both (cached_db): a session set through one is read through the other in
// both directions, a flush through either removes the session for both,
// and both send Set-Cookie strings of the same shape (deletion cookies
// byte for byte).
func TestMiddlewareLiveDjango(t *testing.T) {
	peer.Require(t)
	dj := peer.Django(t)
	engines := []string{djangosession.EngineDB, djangosession.EngineFile, djangosession.EngineSignedCookies,
		djangosession.EngineCache, djangosession.EngineCachedDB}
	for _, engine := range engines {
		t.Run(engine[strings.LastIndex(engine, ".")+1:], func(t *testing.T) {
			t.Parallel()
			cfg := map[string]any{
				"SECRET_KEY":            vectorSecret,
				"TARGET_DJANGO_VERSION": "3.2",
				"SESSION_ENGINE":        engine,
			}
			switch engine {
			case djangosession.EngineDB, djangosession.EngineCachedDB:
				cfg["DATABASES"] = map[string]any{"default": map[string]any{
					"ENGINE": "django.db.backends.sqlite3", "NAME": filepath.Join(t.TempDir(), "db.sqlite3")}}
			case djangosession.EngineFile:
				cfg["SESSION_FILE_PATH"] = t.TempDir()
			}
			if engine == djangosession.EngineCache || engine == djangosession.EngineCachedDB {
				cfg["CACHES"] = map[string]any{"default": map[string]any{
					"BACKEND": cachestore.BackendPyMemcache, "LOCATION": testenv.Memcached(t)}}
			}
			b, _ := json.Marshal(cfg)
			st, err := djangosession.LoadSettings(b)
			if err != nil {
				t.Fatal(err)
			}
			var store djangosession.Store
			var dbs *dbstore.Store
			if _, ok := cfg["DATABASES"]; ok {
				db, err := sql.Open("sqlite3", "file:"+cfg["DATABASES"].(map[string]any)["default"].(map[string]any)["NAME"].(string)+"?_busy_timeout=5000")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				if dbs, err = dbstore.New(db, dbstore.SQLite, st); err != nil {
					t.Fatal(err)
				}
				if err := dbs.Migrate(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			switch engine {
			case djangosession.EngineDB:
				store = dbs
			case djangosession.EngineCache:
				cs, err := cachestore.New(st)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { cs.Close() })
				store = cs
			case djangosession.EngineCachedDB:
				c, err := cachestore.OpenAlias(st, st.SessionCacheAlias)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				if store, err = cacheddb.New(dbs, c, st); err != nil {
					t.Fatal(err)
				}
			default:
				store = newEngine(t, engine, st, time.Now)
			}
			m, err := djangosession.NewManager(store, st)
			if err != nil {
				t.Fatal(err)
			}
			goSrv := httptest.NewServer(djangosession.Middleware(m, protocolViews(t)))
			t.Cleanup(goSrv.Close)
			djURL := dj.StartHTTP(t, cfg)
			servers := map[string]string{"go": goSrv.URL, "django": djURL}
			const name = "sessionid"
			serverSide := engine != djangosession.EngineSignedCookies

			// Odd Cookie headers: both middlewares must agree on whether the
			// session cookie was sent, which value wins, and what to answer.
			t.Run("cookie headers", func(t *testing.T) {
				key := liveGet(t, goSrv.URL, "/set?a=1", name, "").cookie
				for _, h := range []string{
					"", name + "=", name + "=short", name + `="abcdefghijkl"`, name + "=x; " + name + "=" + key,
					name + "=" + key + "; " + name + "=x", " " + name + " = " + key + " ", "other=1",
					name + `="` + key + `"`, "=" + key, name,
				} {
					var res [2]liveResp
					for i, base := range []string{goSrv.URL, djURL} {
						req, _ := http.NewRequest("GET", base+"/get?k=a", nil)
						if h != "" {
							req.Header.Set("Cookie", h)
						}
						r, err := http.DefaultClient.Do(req)
						if err != nil {
							t.Fatal(err)
						}
						res[i] = liveResp{status: r.StatusCode, setCookie: r.Header.Values("Set-Cookie"), vary: r.Header.Get("Vary")}
						json.NewDecoder(r.Body).Decode(&res[i].body)
						r.Body.Close()
						for j := range res[i].setCookie {
							res[i].setCookie[j] = cookieShape(res[i].setCookie[j])
						}
					}
					g, d := res[0], res[1]
					if g.status != d.status || !slices.Equal(g.setCookie, d.setCookie) || g.vary != d.vary ||
						fmt.Sprint(g.body) != fmt.Sprint(d.body) {
						t.Errorf("Cookie %q:\n go     %+v\n django %+v", h, g, d)
					}
				}
			})

			for _, dir := range [][2]string{{"go", "django"}, {"django", "go"}} {
				w, r := servers[dir[0]], servers[dir[1]]
				t.Run(dir[0]+"-sets-"+dir[1]+"-reads", func(t *testing.T) {
					set := liveGet(t, w, "/set?a=1&b=h%C3%A9llo+w%C3%B6rld&c=%F0%9F%98%80", name, "")
					if set.status != 200 || set.cookie == "" || set.cookie == `""` || set.vary != "Cookie" {
						t.Fatalf("set: %+v", set)
					}
					got := liveGet(t, r, "/get?k=b", name, set.cookie)
					if got.status != 200 || got.body["exists"] != true || got.body["value"] != "héllo wörld" {
						t.Fatalf("get: %+v", got)
					}
					data, _ := got.body["data"].(map[string]any)
					if len(data) != 3 || data["a"] != "1" || data["c"] != "😀" {
						t.Errorf("data %v", data)
					}
					if len(got.setCookie) != 0 || got.vary != "Cookie" {
						t.Errorf("read-only request: Set-Cookie %q, Vary %q", got.setCookie, got.vary)
					}
					// The reader changes the session; the writer sees it.
					upd := liveGet(t, r, "/set?d=4", name, set.cookie)
					if upd.cookie == "" {
						t.Fatalf("update sent no cookie: %+v", upd)
					}
					if serverSide && upd.cookie != set.cookie {
						t.Errorf("update changed the key %q -> %q", set.cookie, upd.cookie)
					}
					back := liveGet(t, w, "/get?k=d", name, upd.cookie)
					if back.body["exists"] != true || back.body["value"] != "4" || len(back.body["data"].(map[string]any)) != 4 {
						t.Errorf("read back: %+v", back)
					}
					// Same shape of first-write cookie from both sides.
					if a, b := cookieShape(set.setCookie[0]), cookieShape(upd.setCookie[0]); a != b {
						t.Errorf("Set-Cookie shapes differ:\n%s: %s\n%s: %s", dir[0], a, dir[1], b)
					}
					// The reader flushes: deletion cookie, and the writer no
					// longer finds the session.
					fl := liveGet(t, r, "/flush", name, upd.cookie)
					want := name + `=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax`
					if len(fl.setCookie) != 1 || fl.setCookie[0] != want {
						t.Errorf("flush Set-Cookie %q, want %q", fl.setCookie, want)
					}
					after := liveGet(t, w, "/get?k=a", name, upd.cookie)
					if serverSide {
						if after.body["exists"] != false || len(after.body["data"].(map[string]any)) != 0 {
							t.Errorf("after flush: %+v", after)
						}
						// Unknown key + read: the writer deletes the cookie too.
						if len(after.setCookie) != 1 || after.setCookie[0] != want {
							t.Errorf("after flush Set-Cookie %q, want %q", after.setCookie, want)
						}
					} else if after.body["exists"] != true {
						// A signed cookie cannot be revoked (Django's documented
						// behaviour): a client that ignored the deletion cookie
						// still has its session on both sides.
						t.Errorf("signed cookie after flush: %+v", after)
					}
				})
			}
		})
	}
}

// dbManager is a Manager over a fresh SQLite db engine with the real clock.
func dbManager(t *testing.T, version string) (*djangosession.Manager, *dbstore.Store, *sql.DB) {
	t.Helper()
	st := vectorSettings(t, version, nil, "")
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "db.sqlite3")+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := dbstore.New(db, dbstore.SQLite, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	m, err := djangosession.NewManager(s, st)
	if err != nil {
		t.Fatal(err)
	}
	return m, s, db
}

type mwRun struct {
	rec      *httptest.ResponseRecorder
	logs     string
	reported []error
}

func serve(t *testing.T, m *djangosession.Manager, cookie string, h http.HandlerFunc) mwRun {
	t.Helper()
	var logs bytes.Buffer
	var run mwRun
	mw := djangosession.Middleware(m, h,
		djangosession.WithMiddlewareLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		djangosession.WithErrorHandler(func(_ *http.Request, err error) { run.reported = append(run.reported, err) }))
	req := httptest.NewRequest("GET", "/p", nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	run.rec = httptest.NewRecorder()
	mw.ServeHTTP(run.rec, req)
	run.logs = logs.String()
	return run
}

func sessionKeyOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	for _, sc := range rec.Result().Header.Values("Set-Cookie") {
		if m := setCookieName.FindStringSubmatch(sc); m != nil && m[1] == "sessionid" {
			return m[2]
		}
	}
	return ""
}

// TestMiddlewareBehaviour covers what the vectors cannot show: the
// net/http side of the middleware (writes before session changes, flushes,
// replaced responses, Vary merging, storage failures).
func TestMiddlewareBehaviour(t *testing.T) {
	ctx := context.Background()
	t.Run("no session outside the middleware", func(t *testing.T) {
		if djangosession.FromRequest(httptest.NewRequest("GET", "/", nil)) != nil {
			t.Error("FromRequest without middleware is not nil")
		}
	})
	t.Run("late change of a known session is saved, without cookie", func(t *testing.T) {
		m, store, _ := dbManager(t, "4.2")
		first := serve(t, m, "", func(w http.ResponseWriter, r *http.Request) {
			djangosession.FromRequest(r).Set(r.Context(), "a", int64(1))
		})
		key := sessionKeyOf(t, first.rec)
		if key == "" {
			t.Fatal("no session")
		}
		late := serve(t, m, "sessionid="+key, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "body first")
			djangosession.FromRequest(r).Set(r.Context(), "late", "x")
		})
		if sc := late.rec.Result().Header.Values("Set-Cookie"); len(sc) != 0 || late.rec.Body.String() != "body first" {
			t.Errorf("Set-Cookie %q body %q", sc, late.rec.Body.String())
		}
		if len(late.reported) != 1 || !errors.Is(late.reported[0], djangosession.ErrLateSessionChange) || !strings.Contains(late.logs, "level=WARN") {
			t.Errorf("reported %v, logs %s", late.reported, late.logs)
		}
		rec := &djangosession.Record{Key: key}
		if err := store.Load(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if v, ok := rec.Data.Get("late"); !ok || v != "x" {
			t.Errorf("late change not stored: %v", rec.Data)
		}
	})
	t.Run("late change of a new session is lost and logged", func(t *testing.T) {
		m, store, db := dbManager(t, "4.2")
		_ = store
		run := serve(t, m, "", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			djangosession.FromRequest(r).Set(r.Context(), "a", int64(1))
		})
		if run.rec.Code != http.StatusAccepted || len(run.rec.Result().Header.Values("Set-Cookie")) != 0 {
			t.Errorf("status %d, Set-Cookie %q", run.rec.Code, run.rec.Result().Header.Values("Set-Cookie"))
		}
		if len(run.reported) != 1 || !errors.Is(run.reported[0], djangosession.ErrLateSessionChange) || !strings.Contains(run.logs, "level=ERROR") {
			t.Errorf("reported %v, logs %s", run.reported, run.logs)
		}
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM django_session`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d rows (%v): an orphan session was stored", n, err)
		}
	})
	t.Run("late flush is logged", func(t *testing.T) {
		m, _, _ := dbManager(t, "4.2")
		key := sessionKeyOf(t, serve(t, m, "", func(w http.ResponseWriter, r *http.Request) {
			djangosession.FromRequest(r).Set(r.Context(), "a", int64(1))
		}).rec)
		run := serve(t, m, "sessionid="+key, func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("x"))
			djangosession.FromRequest(r).Flush(r.Context())
		})
		if len(run.reported) != 1 || !errors.Is(run.reported[0], djangosession.ErrLateSessionChange) {
			t.Errorf("reported %v", run.reported)
		}
	})
	t.Run("Flush sends the cookie first", func(t *testing.T) {
		m, _, _ := dbManager(t, "4.2")
		run := serve(t, m, "", func(w http.ResponseWriter, r *http.Request) {
			djangosession.FromRequest(r).Set(r.Context(), "a", int64(1))
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Error(err)
			}
			w.Write([]byte("streamed"))
		})
		if sessionKeyOf(t, run.rec) == "" || !run.rec.Flushed || len(run.reported) != 0 {
			t.Errorf("cookie %q flushed %v reported %v", sessionKeyOf(t, run.rec), run.rec.Flushed, run.reported)
		}
	})
	t.Run("Vary merges with the handler's", func(t *testing.T) {
		m, _, _ := dbManager(t, "4.2")
		run := serve(t, m, "", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Vary", "Accept-Encoding")
			w.Header().Add("Vary", "cookie")
			djangosession.FromRequest(r).Get(r.Context(), "a")
		})
		if got := run.rec.Result().Header.Values("Vary"); len(got) != 1 || got[0] != "Accept-Encoding, cookie" {
			t.Errorf("Vary %q", got)
		}
	})
	t.Run("empty cookie value is deleted", func(t *testing.T) {
		m, _, _ := dbManager(t, "4.2")
		run := serve(t, m, "sessionid=", func(w http.ResponseWriter, r *http.Request) {})
		want := `sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax`
		if got := run.rec.Result().Header.Values("Set-Cookie"); len(got) != 1 || got[0] != want || run.rec.Header().Get("Vary") != "Cookie" {
			t.Errorf("Set-Cookie %q Vary %q", got, run.rec.Header().Get("Vary"))
		}
	})
	t.Run("SessionInterrupted replaces the handler's response", func(t *testing.T) {
		m, store, _ := dbManager(t, "3.2")
		key := sessionKeyOf(t, serve(t, m, "", func(w http.ResponseWriter, r *http.Request) {
			djangosession.FromRequest(r).Set(r.Context(), "a", int64(1))
		}).rec)
		var writeErr error
		run := serve(t, m, "sessionid="+key, func(w http.ResponseWriter, r *http.Request) {
			s := djangosession.FromRequest(r)
			s.Set(r.Context(), "a", int64(2))
			store.Delete(r.Context(), key) // a concurrent logout
			w.Header().Set("X-Handler", "1")
			w.Header().Set("Content-Type", "application/json")
			_, writeErr = w.Write([]byte(`{"ok":true}`))
		})
		res := run.rec.Result()
		want := "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Bad Request (400)</title>\n</head>\n<body>\n  <h1>Bad Request (400)</h1><p></p>\n</body>\n</html>\n"
		if res.StatusCode != 400 || run.rec.Body.String() != want || res.Header.Get("X-Handler") != "" ||
			res.Header.Get("Content-Type") != "text/html" || len(res.Header.Values("Set-Cookie")) != 0 || res.Header.Get("Vary") != "" {
			t.Errorf("status %d headers %v body %q", res.StatusCode, res.Header, run.rec.Body.String())
		}
		if !errors.Is(writeErr, djangosession.ErrSessionInterrupted) {
			t.Errorf("handler's Write: %v", writeErr)
		}
		if len(run.reported) != 1 || !errors.Is(run.reported[0], djangosession.ErrSessionInterrupted) ||
			!strings.Contains(run.logs, djangosession.SessionInterruptedMessage) || !strings.Contains(run.logs, "Bad Request: /p") {
			t.Errorf("reported %v logs %s", run.reported, run.logs)
		}
	})
	t.Run("informational responses precede the decision", func(t *testing.T) {
		m, _, _ := dbManager(t, "4.2")
		srv := httptest.NewServer(djangosession.Middleware(m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			djangosession.FromRequest(r).Set(r.Context(), "a", int64(1))
			w.WriteHeader(http.StatusCreated)
		})))
		defer srv.Close()
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated || len(res.Cookies()) != 1 || res.Cookies()[0].Name != "sessionid" {
			t.Errorf("status %d cookies %v", res.StatusCode, res.Cookies())
		}
	})
	t.Run("hijacked connection: no decision, no save", func(t *testing.T) {
		m, _, db := dbManager(t, "4.2")
		srv := httptest.NewServer(djangosession.Middleware(m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			djangosession.FromRequest(r).Set(r.Context(), "a", int64(1))
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
			buf.Flush()
		})))
		defer srv.Close()
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM django_session`).Scan(&n); err != nil || n != 0 || string(body) != "hi" || len(res.Cookies()) != 0 {
			t.Errorf("rows %d (%v), body %q, cookies %v", n, err, body, res.Cookies())
		}
	})
	t.Run("storage down gives the 500 page", func(t *testing.T) {
		m, _, db := dbManager(t, "4.2")
		run := serve(t, m, "", func(w http.ResponseWriter, r *http.Request) {
			djangosession.FromRequest(r).Set(r.Context(), "a", int64(1))
			db.Close()
		})
		if run.rec.Code != 500 || !strings.Contains(run.rec.Body.String(), "<h1>Server Error (500)</h1>") ||
			len(run.reported) != 1 || !errors.Is(run.reported[0], djangosession.ErrUnavailable) {
			t.Errorf("status %d body %q reported %v", run.rec.Code, run.rec.Body.String(), run.reported)
		}
	})
}

// BenchmarkMiddleware measures the middleware around a handler: untouched
// session, a signed_cookies write (sign + Set-Cookie), and a db read plus
// write of an existing session on SQLite.
func BenchmarkMiddleware(b *testing.B) {
	frozen := time.Unix(1700000000, 0)
	clock := func() time.Time { return frozen }
	st := vectorSettings(b, "4.2", map[string]any{"SESSION_ENGINE": djangosession.EngineSignedCookies}, "")
	cs, err := cookiestore.New(st, cookiestore.WithClock(clock))
	if err != nil {
		b.Fatal(err)
	}
	cm, err := djangosession.NewManager(cs, st, djangosession.WithClock(clock))
	if err != nil {
		b.Fatal(err)
	}
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	set := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := djangosession.FromRequest(r)
		n, _ := s.GetInt64(r.Context(), "n")
		if err := s.Set(r.Context(), "n", n+1); err != nil {
			b.Error(err)
		}
	})
	run := func(b *testing.B, h http.Handler, cookie string) {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatal(rec.Code)
			}
		}
	}
	b.Run("noop", func(b *testing.B) { run(b, djangosession.Middleware(cm, noop), "") })
	b.Run("signed_cookies/set", func(b *testing.B) {
		run(b, djangosession.Middleware(cm, set), "sessionid=eyJhIjoxfQ:1r31eq:VplhdrUFi_Fm_9wAMUYIHMZLeCyz4tNA7t1-6ly1DeY")
	})
	b.Run("db-sqlite/set", func(b *testing.B) {
		dst := vectorSettings(b, "4.2", nil, "")
		db, err := sql.Open("sqlite3", "file:"+filepath.Join(b.TempDir(), "db.sqlite3")+"?_busy_timeout=5000&_journal_mode=WAL")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		ds, err := dbstore.New(db, dbstore.SQLite, dst)
		if err != nil {
			b.Fatal(err)
		}
		if err := ds.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
		dm, err := djangosession.NewManager(ds, dst)
		if err != nil {
			b.Fatal(err)
		}
		h := djangosession.Middleware(dm, set)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		run(b, h, strings.SplitN(rec.Header().Get("Set-Cookie"), ";", 2)[0])
	})
}
