package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
)

// httpCommand is the protocol's http subcommand.
func httpCommand() *command {
	return &command{
		name: "http", args: "PORT [LIFETIME_S]", protocol: true,
		summary: "serve /set, /get, /flush through the library's session middleware on 127.0.0.1",
		stdout:  `{"listening": "http://127.0.0.1:PORT"} (first line), then serve until SIGTERM or LIFETIME_S`,
		run:     cmdHTTP,
	}
}

// cmdHTTP serves djangosession.Middleware on 127.0.0.1:PORT (0 picks a free
// port) in front of the protocol's routes, as the Django peer serves
// Django's SessionMiddleware:
//
//	/set?k=v&...  session[k] = v for each pair (strings, in query order)
//	/get?k=NAME   {"exists": NAME in session, "value": session.get(NAME), "data": {...}}
//	/flush        session.flush()
//
// The first stdout line is {"listening": URL}. It serves until SIGTERM (or
// interrupt) or until LIFETIME_S seconds have passed. Requests are handled
// one at a time, as the peer's single-threaded server does.
func cmdHTTP(e *env) error {
	if err := e.wantArgs(1, 2); err != nil {
		return err
	}
	port, err := strconv.Atoi(e.args[0])
	if err != nil || port < 0 || port > 65535 {
		return usagef("http PORT [LIFETIME_S]: PORT must be 0-65535, not %q", e.args[0])
	}
	lifetime := time.Duration(-1)
	if len(e.args) > 1 {
		f, err := strconv.ParseFloat(e.args[1], 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > math.MaxInt64/float64(time.Second) {
			return usagef("http PORT [LIFETIME_S]: LIFETIME_S must be a number of seconds, not %q", e.args[1])
		}
		lifetime = time.Duration(f * float64(time.Second))
	}
	s, err := e.storeSettings()
	if err != nil {
		return err
	}
	st, err := e.openEngine(s)
	if err != nil {
		return err
	}
	defer st.close()
	m, err := djangosession.NewManager(st.store, s)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	h := &httpSerialHandler{next: djangosession.Middleware(m, httpRoutes(e), djangosession.WithMiddlewareLogger(e.logger()))}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	addr := ln.Addr().(*net.TCPAddr)
	if err := e.emit(obj("listening", fmt.Sprintf("http://127.0.0.1:%d", addr.Port))); err != nil {
		ln.Close()
		return err
	}
	ctx := e.ctx
	if lifetime >= 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, lifetime)
		defer cancel()
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err = srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-stopped
		return nil
	}
	return fmt.Errorf("http: %w", err)
}

// httpSerialHandler handles one request at a time: the engines the CLI opens
// keep per-call state (the db engine's decode verdict), and the Django peer's
// server is single-threaded too.
type httpSerialHandler struct {
	mu   sync.Mutex
	next http.Handler
}

func (h *httpSerialHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next.ServeHTTP(w, r)
}

// httpRoutes are the views of the protocol's http subcommand.
func httpRoutes(e *env) http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, d *pyvalue.Dict) {
		b, err := pyvalue.MarshalJSON(d)
		if err != nil {
			httpFail(e, w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		s := djangosession.FromRequest(r)
		keys, vals := httpQueryDict(r.URL.RawQuery)
		for _, k := range keys {
			if err := s.Set(r.Context(), k, vals[k]); err != nil {
				httpFail(e, w, err)
				return
			}
		}
		reply(w, obj("ok", true))
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		s := djangosession.FromRequest(r)
		_, q := httpQueryDict(r.URL.RawQuery)
		v, exists, err := s.Get(r.Context(), q["k"])
		if err != nil {
			httpFail(e, w, err)
			return
		}
		data, err := s.Items(r.Context())
		if err != nil {
			httpFail(e, w, err)
			return
		}
		reply(w, obj("exists", exists, "value", toTagged(v), "data", toTagged(data)))
	})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		if err := djangosession.FromRequest(r).Flush(r.Context()); err != nil {
			httpFail(e, w, err)
			return
		}
		reply(w, obj("ok", true))
	})
	return mux
}

// httpFail answers 500 for a view that failed (Django: an exception in the
// view), logging the error on stderr.
func httpFail(e *env, w http.ResponseWriter, err error) {
	fmt.Fprintf(e.stderr, "djsession: http: %v\n", err)
	http.Error(w, "Server Error (500)", http.StatusInternalServerError)
}

// httpQueryDict is how Django fills request.GET (urllib.parse.parse_qsl
// with keep_blank_values): pairs split on '&', empty ones skipped, a pair
// without '=' has an empty value, '+' means space, %XX escapes are decoded
// and the bytes read as UTF-8 with U+FFFD for invalid ones (a malformed
// escape stays as written). keys keeps the first-seen order; vals the last
// value of each key, as QueryDict.items() yields them.
func httpQueryDict(raw string) (keys []string, vals map[string]string) {
	vals = map[string]string{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = httpUnquotePlus(k), httpUnquotePlus(v)
		if _, seen := vals[k]; !seen {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	return keys, vals
}

// httpUnquotePlus is urllib.parse.unquote(s.replace("+", " ")) with
// errors="replace".
func httpUnquotePlus(s string) string {
	if !strings.ContainsAny(s, "+%") && utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && httpIsHex(s[i+1]) && httpIsHex(s[i+2]):
			b = append(b, httpUnhex(s[i+1])<<4|httpUnhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	var out strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			out.WriteRune(utf8.RuneError)
		} else {
			out.Write(b[:size])
		}
		b = b[size:]
	}
	return out.String()
}

func httpIsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func httpUnhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
