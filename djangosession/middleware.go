package djangosession

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
)

// SessionInterruptedMessage is the message of the SessionInterrupted
// exception Django's SessionMiddleware raises when the session's record was
// deleted while the request ran (answered with HTTP 400).
const SessionInterruptedMessage = "The request's session was deleted before the request completed. " +
	"The user may have logged out in a concurrent request, for example."

// MaxCookieSize is the size browsers are required to support for one cookie
// (RFC 6265 §6.1: name, value and attributes together). Larger cookies are
// commonly dropped without any error, silently losing a signed_cookies
// session.
const MaxCookieSize = 4096

// ErrCookieTooLarge is matched (errors.Is) by *CookieTooLargeError, which the
// middleware's default cookie check reports (cookiestore.ErrCookieTooLarge
// is the same value).
var ErrCookieTooLarge = errors.New("djangosession: cookie too large for browsers")

// CookieTooLargeError reports a Set-Cookie that browsers will likely drop.
type CookieTooLargeError struct {
	Name  string // cookie name
	Size  int    // bytes of name, "=", value and the "; "-joined attributes
	Limit int    // MaxCookieSize
}

func (e *CookieTooLargeError) Error() string {
	return fmt.Sprintf("djangosession: cookie %q is %d bytes (name, value and attributes), over the %d bytes browsers keep; the browser will likely drop it and the session will be lost", e.Name, e.Size, e.Limit)
}

// Is makes errors.Is(err, ErrCookieTooLarge) true.
func (e *CookieTooLargeError) Is(target error) bool { return target == ErrCookieTooLarge }

// CheckCookieSize measures name=value plus the attributes as they appear in
// Set-Cookie (each adds its length and the "; " before it) and returns a
// *CookieTooLargeError when the total exceeds MaxCookieSize
// (cookiestore.CheckSize is this function).
func CheckCookieSize(name, value string, attrs ...string) error {
	n := len(name) + 1 + len(value)
	for _, a := range attrs {
		n += 2 + len(a)
	}
	if n > MaxCookieSize {
		return &CookieTooLargeError{Name: name, Size: n, Limit: MaxCookieSize}
	}
	return nil
}

// MiddlewareOption configures Middleware.
type MiddlewareOption func(*middlewareConfig)

type middlewareConfig struct {
	logger  *slog.Logger
	check   func(name, value string, attrs ...string) error
	onError func(r *http.Request, err error)
}

// WithMiddlewareLogger sets where the middleware logs (default
// slog.Default()): cookies over the size limit, interrupted sessions,
// storage failures, and session changes made after the response headers
// were written.
func WithMiddlewareLogger(l *slog.Logger) MiddlewareOption {
	return func(c *middlewareConfig) { c.logger = l }
}

// WithCookieCheck replaces the check applied to every session cookie the
// middleware sets (default CheckCookieSize); nil disables checking. A
// failing check is logged and reported to the error handler, and the cookie
// is still sent, as Django sends it.
func WithCookieCheck(check func(name, value string, attrs ...string) error) MiddlewareOption {
	return func(c *middlewareConfig) { c.check = check }
}

// WithErrorHandler sets a function called with every error the middleware
// meets after the handler ran (besides logging it): *CookieTooLargeError,
// ErrSessionInterrupted, storage failures, and ErrLateSessionChange.
func WithErrorHandler(f func(r *http.Request, err error)) MiddlewareOption {
	return func(c *middlewareConfig) { c.onError = f }
}

// ErrLateSessionChange: the handler changed the session after the response
// headers were written, when the session cookie can no longer be sent.
var ErrLateSessionChange = errors.New("djangosession: session changed after the response headers were written")

type sessionContextKey struct{}

// NewContext returns ctx carrying s, the request's session.
func NewContext(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionContextKey{}, s)
}

// FromContext returns the session Middleware put in ctx (request.session),
// or nil.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionContextKey{}).(*Session)
	return s
}

// FromRequest is FromContext(r.Context()).
func FromRequest(r *http.Request) *Session { return FromContext(r.Context()) }

// Middleware is Django's SessionMiddleware for net/http. For each request it
// reads the SESSION_COOKIE_NAME cookie (parsed as Django parses the Cookie
// header), puts a lazy Session for it into the request context (FromRequest),
// and once the handler responds decides exactly as process_response does:
//
//  1. the request carried the cookie and the session is empty (flushed, or
//     its key found nothing): a deletion cookie and Vary: Cookie;
//  2. otherwise Vary: Cookie if the session was accessed, and if it was
//     modified (or SESSION_SAVE_EVERY_REQUEST) and is not empty: save it and
//     set the cookie (no Max-Age/expires for a browser-close session,
//     otherwise Max-Age=int(get_expiry_age()) and the matching expires) —
//     except for status 500 (TARGET_DJANGO_VERSION 3.2) or any status >= 500
//     (4.2 and later), where nothing is saved or sent;
//  3. a save that finds the record deleted meanwhile (ErrSessionInterrupted)
//     replaces the response with Django's 400 Bad Request page, without cookie
//     or Vary. Other failures of that step (storage down, an expiry Django's
//     helpers raise on) give Django's 500 page.
//
// Set-Cookie values are byte-identical to Django's (see Cookie.Header).
//
// Django runs this after the view returned a complete response. In net/http
// headers go out with the first WriteHeader or Write, so the decision is made
// then (or when the handler returns having written nothing). A handler that
// changes the session after it started writing the body gets Django's
// save only in part: the change is logged (ErrLateSessionChange) and, for a
// server-side engine whose key the client already holds, still saved, but
// no cookie can be sent any more (and for signed_cookies the change is lost).
// Change the session before writing. After the middleware saved, the
// session's Modified flag is reset so that such later changes show.
//
// A handler that panics gets no session save, as Django saves nothing for
// the 500 response an exception produces; nor does one that hijacks the
// connection before writing (there is no response to carry a cookie).
// Requests are independent: as with Django, two concurrent requests of one
// session each save their own copy, the last write winning.
func Middleware(m *Manager, next http.Handler, opts ...MiddlewareOption) http.Handler {
	cfg := middlewareConfig{check: CheckCookieSize}
	for _, o := range opts {
		o(&cfg)
	}
	return &sessionMiddleware{m: m, next: next, cfg: cfg}
}

type sessionMiddleware struct {
	m    *Manager
	next http.Handler
	cfg  middlewareConfig
}

func (h *sessionMiddleware) logger() *slog.Logger {
	if h.cfg.logger != nil {
		return h.cfg.logger
	}
	return slog.Default()
}

func (h *sessionMiddleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := cookieName(h.m.settings)
	// Django reads request.COOKIES, parsed from the whole Cookie header; a
	// request may carry several Cookie lines (HTTP/2), joined as a proxy
	// joins them.
	value, had := "", false
	if lines := r.Header.Values("Cookie"); len(lines) > 0 {
		value, had = ParseCookieHeader(strings.Join(lines, "; "))[name]
	}
	s := h.m.Session(value)
	r = r.WithContext(NewContext(r.Context(), s))
	sw := &sessionWriter{ResponseWriter: w, h: h, r: r, s: s, hadCookie: had, clientKey: s.Key()}
	h.next.ServeHTTP(sw, r)
	sw.finish()
}

// sessionWriter runs process_response at the first WriteHeader/Write.
type sessionWriter struct {
	http.ResponseWriter
	h         *sessionMiddleware
	r         *http.Request
	s         *Session
	hadCookie bool
	clientKey string // the session key the client holds (its cookie's, or the one sent)

	decided  bool
	status   int
	saved    bool  // the decision saved the session and sent its cookie
	deleted  bool  // the decision sent the deletion cookie
	replaced error // the response was replaced (400/500 page); handler output is dropped
	hijacked bool
}

func (w *sessionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *sessionWriter) WriteHeader(code int) {
	if w.decided {
		if w.replaced == nil {
			w.ResponseWriter.WriteHeader(code) // net/http reports the superfluous call
		}
		return
	}
	if code < 100 || code > 999 {
		// net/http panics on these; decide nothing for a response that
		// cannot be sent.
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		// Informational responses precede the real one.
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.decided = true
	w.status = code
	if w.process(code) {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *sessionWriter) Write(b []byte) (int, error) {
	if !w.decided {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced != nil {
		return 0, fmt.Errorf("djangosession: response replaced by the session middleware: %w", w.replaced)
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends the headers (deciding about the session first) and flushes.
func (w *sessionWriter) Flush() {
	if !w.decided {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over; no cookie can be sent afterwards.
func (w *sessionWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.decided, w.hijacked = true, true
	}
	return conn, rw, err
}

// skipSave is Django's 5xx rule: 3.2 skips only 500, 4.2+ every status
// >= 500.
func (w *sessionWriter) skipSave(status int) bool {
	if w.h.m.settings.Version().AtLeast(4, 2) {
		return status >= 500
	}
	return status == http.StatusInternalServerError
}

// process is SessionMiddleware.process_response for a response with this
// status. It returns false when it replaced the response with an error page.
func (w *sessionWriter) process(status int) bool {
	s, st := w.s, w.h.m.settings
	ctx := w.r.Context()
	accessed, modified, empty := s.Accessed(), s.Modified(), s.IsEmpty()
	hdr := w.ResponseWriter.Header()
	if w.hadCookie && empty {
		line, err := DeleteSessionCookie(st).Header()
		if err != nil {
			return w.serverError(err)
		}
		hdr.Add("Set-Cookie", line)
		patchVary(hdr, "Cookie")
		w.deleted = true
		return true
	}
	if accessed {
		patchVary(hdr, "Cookie")
	}
	if !(modified || st.SessionSaveEveryRequest) || empty {
		return true
	}
	// As in Django, the cookie's age is computed before the status check
	// (it may load the session, and fail).
	browserClose, err := s.ExpireAtBrowserClose(ctx)
	if err != nil {
		return w.serverError(err)
	}
	var maxAge float64
	if !browserClose {
		if maxAge, err = s.ExpiryAge(ctx); err != nil {
			return w.serverError(err)
		}
	}
	now := s.now()
	if w.skipSave(status) {
		return true
	}
	if err := s.Save(ctx); err != nil {
		if errors.Is(err, ErrSessionInterrupted) {
			return w.badRequest(err)
		}
		return w.serverError(err)
	}
	c, err := SessionCookie(st, s.Key(), browserClose, maxAge, now)
	if err != nil {
		return w.serverError(err)
	}
	line, err := c.Header()
	if err != nil {
		return w.serverError(err)
	}
	if check := w.h.cfg.check; check != nil {
		if err := check(c.Name, QuoteCookieValue(c.Value), c.attrs()...); err != nil {
			// Django sends it anyway; make the likely loss visible.
			w.report(slog.LevelError, "session cookie too large", err)
		}
	}
	hdr.Add("Set-Cookie", line)
	w.saved = true
	w.clientKey = s.Key()
	// Django's handler never runs after this point; ours may, so make its
	// later changes visible to finish.
	s.SetModified(false)
	return true
}

func (w *sessionWriter) report(level slog.Level, msg string, err error) {
	w.h.logger().Log(w.r.Context(), level, msg, "path", w.r.URL.Path, "error", err)
	if f := w.h.cfg.onError; f != nil {
		f(w.r, err)
	}
}

// errorPage is django.views.defaults.ERROR_PAGE_TEMPLATE.
func errorPage(title string) string {
	return "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>" + title +
		"</title>\n</head>\n<body>\n  <h1>" + title + "</h1><p></p>\n</body>\n</html>\n"
}

// replace drops what the handler put in the headers and answers with
// Django's default error page, as the exception handler's fresh response.
func (w *sessionWriter) replace(status int, title string, err error) bool {
	hdr := w.ResponseWriter.Header()
	for k := range hdr {
		delete(hdr, k)
	}
	hdr.Set("Content-Type", "text/html")
	w.replaced = err
	w.status = status
	w.ResponseWriter.WriteHeader(status)
	_, _ = w.ResponseWriter.Write([]byte(errorPage(title)))
	return false
}

// badRequest is SessionInterrupted (a BadRequest): Django logs
// "Bad Request: <path>" and answers with its 400 page.
func (w *sessionWriter) badRequest(err error) bool {
	err = fmt.Errorf("%s: %w", SessionInterruptedMessage, err)
	w.report(slog.LevelWarn, "Bad Request: "+w.r.URL.Path, err)
	return w.replace(http.StatusBadRequest, "Bad Request (400)", err)
}

// serverError is an exception escaping process_response: Django logs
// "Internal Server Error: <path>" and answers with its 500 page.
func (w *sessionWriter) serverError(err error) bool {
	w.report(slog.LevelError, "Internal Server Error: "+w.r.URL.Path, err)
	return w.replace(http.StatusInternalServerError, "Server Error (500)", err)
}

// finish runs after the handler returned.
func (w *sessionWriter) finish() {
	if !w.decided {
		// Nothing written: net/http would send 200 with an empty body.
		w.WriteHeader(http.StatusOK)
		return
	}
	if w.hijacked || w.replaced != nil || w.skipSave(w.status) {
		return
	}
	s := w.s
	ctx := w.r.Context()
	switch {
	case !s.IsEmpty() && s.Modified():
		// Changed after the headers went out (or SESSION_SAVE_EVERY_REQUEST
		// met a session first touched then). A server-side session whose
		// key the client already holds can still be saved; anything else
		// (a new key, a signed cookie) would need a cookie.
		err := fmt.Errorf("%w: Django would have saved it and set the cookie", ErrLateSessionChange)
		key := s.Key()
		if w.h.m.keyMaker || key == "" || key != w.clientKey {
			w.report(slog.LevelError, "session change lost: response headers already written", err)
			return
		}
		if saveErr := s.Save(ctx); saveErr != nil {
			w.report(slog.LevelError, "session change after the response headers could not be saved", errors.Join(err, saveErr))
			return
		}
		s.SetModified(false)
		w.report(slog.LevelWarn, "session saved after the response headers were written; its cookie was not refreshed", err)
	case w.hadCookie && s.IsEmpty() && !w.deleted:
		// Flushed after the headers went out: the record is gone, but the
		// client keeps a cookie Django would have deleted.
		w.report(slog.LevelWarn, "session flushed after the response headers were written; the deletion cookie was not sent",
			fmt.Errorf("%w: Django would have sent a deletion cookie", ErrLateSessionChange))
	}
}

// patchVary is django.utils.cache.patch_vary_headers(response, (name,)):
// the existing Vary value is split on commas (with the spaces around them),
// name is appended unless present (case-insensitively), and "*" anywhere
// makes the value "*". The result is one Vary header.
func patchVary(h http.Header, name string) {
	var vary []string
	if lines := h.Values("Vary"); len(lines) > 0 {
		vary = splitVary(strings.Join(lines, ", "))
	}
	found := false
	for _, v := range vary {
		if strings.EqualFold(v, name) {
			found = true
			break
		}
	}
	if !found {
		vary = append(vary, name)
	}
	for _, v := range vary {
		if v == "*" {
			h.Set("Vary", "*")
			return
		}
	}
	h.Set("Vary", strings.Join(vary, ", "))
}

// splitVary is re.split(r'\s*,\s*', value): whitespace is removed only
// around commas, not at the ends.
func splitVary(v string) []string {
	parts := strings.Split(v, ",")
	for i := range parts {
		if i > 0 {
			parts[i] = strings.TrimLeftFunc(parts[i], pyIsSpace)
		}
		if i < len(parts)-1 {
			parts[i] = strings.TrimRightFunc(parts[i], pyIsSpace)
		}
	}
	return parts
}
