package djangosession

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrCookie: a cookie Python's http.cookies or Django's set_cookie refuses
// to build (CookieError: an illegal or reserved name; ValueError: a
// SameSite value other than lax, strict or none).
var ErrCookie = errors.New("djangosession: invalid cookie")

// DeletedCookieExpires is the expires attribute of Django's delete_cookie.
const DeletedCookieExpires = "Thu, 01 Jan 1970 00:00:00 GMT"

// Cookie is one Set-Cookie header as Django's HttpResponse.set_cookie fills
// a Python http.cookies.Morsel. Header renders it exactly as the Morsel's
// OutputString does, the form Django sends.
type Cookie struct {
	Name  string
	Value string // quoted as Python's http.cookies does when needed
	// Expires is the already formatted expires attribute (HTTPDate); ""
	// omits it.
	Expires string
	// MaxAge is the Max-Age attribute, sent when HasMaxAge is set.
	MaxAge    int64
	HasMaxAge bool
	// Path and Domain are omitted when empty (Django's None).
	Path, Domain     string
	Secure, HTTPOnly bool
	// SameSite is the attribute value as written ("Lax", "strict", "None");
	// "" omits it.
	SameSite string
}

// SessionCookie is the cookie SessionMiddleware sets for a saved session
// whose cookie value is value: no Max-Age and no expires when browserClose
// (get_expire_at_browser_close()), otherwise Max-Age=int(maxAge) and
// expires=http_date(now + maxAge), maxAge being get_expiry_age() as a
// float (as Python adds it before flooring). The other attributes come from
// SESSION_COOKIE_DOMAIN, _PATH, _SECURE, _HTTPONLY and _SAMESITE.
//
// It fails with ErrInvalidExpiry where Python raises: an age that is NaN,
// or an expiry instant outside the years 1 to 9999.
func SessionCookie(s *Settings, value string, browserClose bool, maxAge float64, now time.Time) (*Cookie, error) {
	c := &Cookie{
		Name:     cookieName(s),
		Value:    value,
		Path:     s.SessionCookiePath,
		Domain:   s.SessionCookieDomain,
		Secure:   s.SessionCookieSecure,
		HTTPOnly: s.SessionCookieHTTPOnly == nil || *s.SessionCookieHTTPOnly,
		SameSite: sameSite(s),
	}
	if !browserClose {
		t, err := addSeconds(now, maxAge)
		if err != nil {
			return nil, err
		}
		c.HasMaxAge = true
		c.MaxAge = pyInt(maxAge)
		c.Expires = HTTPDate(t)
	}
	return c, nil
}

// DeleteSessionCookie is the cookie SessionMiddleware sends to remove the
// session cookie (response.delete_cookie): value "" (rendered as the two
// characters ""), expires at the epoch, Max-Age=0, the settings' Path, Domain
// and SameSite, never HttpOnly, and Secure only for a __Secure- or __Host-
// name or SameSite=None (not from SESSION_COOKIE_SECURE).
func DeleteSessionCookie(s *Settings) *Cookie {
	name := cookieName(s)
	ss := sameSite(s)
	return &Cookie{
		Name:      name,
		Expires:   DeletedCookieExpires,
		HasMaxAge: true,
		Path:      s.SessionCookiePath,
		Domain:    s.SessionCookieDomain,
		Secure: strings.HasPrefix(name, "__Secure-") || strings.HasPrefix(name, "__Host-") ||
			strings.EqualFold(ss, "none"),
		SameSite: ss,
	}
}

func cookieName(s *Settings) string {
	if s.SessionCookieName == "" {
		return DefaultSessionCookieName
	}
	return s.SessionCookieName
}

// sameSite is SESSION_COOKIE_SAMESITE: nil means Django's default "Lax",
// "" the attribute disabled (None or False in Django).
func sameSite(s *Settings) string {
	if s.SessionCookieSameSite == nil {
		return DefaultSessionSameSite
	}
	return *s.SessionCookieSameSite
}

// pyInt is Python's int(float): truncation toward zero, saturated where
// Python would raise (the caller has already refused NaN and infinities).
func pyInt(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// Unix times of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
const minHTTPDate, maxHTTPDate = -62135596800, 253402300799

// addSeconds is time.time() + seconds as Python computes it, in float
// seconds, floored to whole seconds as time.gmtime does in http_date.
func addSeconds(now time.Time, seconds float64) (time.Time, error) {
	t := math.Floor(float64(now.UnixNano())/1e9 + seconds)
	if math.IsNaN(t) || t < minHTTPDate || t > maxHTTPDate {
		return time.Time{}, fmt.Errorf("%w: cookie expiry %v seconds from now is out of range", ErrInvalidExpiry, seconds)
	}
	return time.Unix(int64(t), 0), nil
}

var (
	pyWeekdays = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	pyMonths   = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

// HTTPDate is django.utils.http.http_date: email.utils.formatdate(t,
// usegmt=True), "Wdy, DD Mon YYYY HH:MM:SS GMT" in UTC, whole seconds.
func HTTPDate(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%s, %02d %s %04d %02d:%02d:%02d GMT",
		pyWeekdays[t.Weekday()], t.Day(), pyMonths[t.Month()-1], t.Year(),
		t.Hour(), t.Minute(), t.Second())
}

// cookieLegal is http.cookies._LegalChars.
func cookieLegal(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~:", c) >= 0
}

// cookieUnescaped is http.cookies._UnescapedChars: kept as is inside quotes.
func cookieUnescaped(c byte) bool {
	return cookieLegal(c) || strings.IndexByte(" ()/<=>?@[]{}", c) >= 0
}

// legalKey is http.cookies._is_legal_key: one or more legal characters.
func legalKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !cookieLegal(s[i]) {
			return false
		}
	}
	return true
}

// QuoteCookieValue is http.cookies._quote: a value made only of legal
// characters is returned as is; any other (the empty string included) is
// put in double quotes with '"' and '\' backslash-escaped and every other
// code point below 256 that is not allowed unescaped written as \ooo octal.
// Code points from 256 up stay as they are (UTF-8), as str.translate
// leaves them.
func QuoteCookieValue(v string) string {
	if legalKey(v) {
		return v
	}
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < utf8.RuneSelf && cookieUnescaped(byte(r)):
			b.WriteRune(r)
		case r < 256:
			fmt.Fprintf(&b, `\%03o`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// morselReserved is Morsel._reserved's keys, lowercased: names a cookie may
// not have.
var morselReserved = [...]string{"expires", "path", "comment", "domain", "max-age", "secure", "httponly", "version", "samesite"}

// Header returns the Set-Cookie header value exactly as Python's
// Morsel.OutputString renders what Django's set_cookie stored: "name=value"
// then the non-empty attributes sorted by their Morsel key, that is Domain,
// expires (lowercase), HttpOnly, Max-Age, Path, SameSite, Secure, joined by
// "; ". It fails with ErrCookie where Python raises: a name that is not
// legal (CookieError "Illegal key") or is a reserved attribute name, or a
// SameSite value other than lax, none or strict.
func (c *Cookie) Header() (string, error) {
	if !legalKey(c.Name) {
		return "", fmt.Errorf("%w: illegal key %q", ErrCookie, c.Name)
	}
	for _, r := range morselReserved {
		if strings.EqualFold(c.Name, r) {
			return "", fmt.Errorf("%w: attempt to set a reserved key %q", ErrCookie, c.Name)
		}
	}
	if c.SameSite != "" {
		switch strings.ToLower(c.SameSite) {
		case "lax", "none", "strict":
		default:
			return "", fmt.Errorf(`%w: samesite must be "lax", "none", or "strict"`, ErrCookie)
		}
	}
	return c.render(), nil
}

func (c *Cookie) render() string {
	var b strings.Builder
	b.Grow(len(c.Name) + len(c.Value) + 96)
	b.WriteString(c.Name)
	b.WriteByte('=')
	b.WriteString(QuoteCookieValue(c.Value))
	attr := func(k, v string) {
		b.WriteString("; ")
		b.WriteString(k)
		if v != "" {
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	if c.Domain != "" {
		attr("Domain", c.Domain)
	}
	if c.Expires != "" {
		attr("expires", c.Expires)
	}
	if c.HTTPOnly {
		attr("HttpOnly", "")
	}
	if c.HasMaxAge {
		attr("Max-Age", strconv.FormatInt(c.MaxAge, 10))
	}
	if c.Path != "" {
		attr("Path", c.Path)
	}
	if c.SameSite != "" {
		attr("SameSite", c.SameSite)
	}
	if c.Secure {
		attr("Secure", "")
	}
	return b.String()
}

// attrs returns the attributes as they appear after "name=value", for
// cookiestore.CheckSize.
func (c *Cookie) attrs() []string {
	h := c.render()
	i := strings.Index(h, "; ")
	if i < 0 {
		return nil
	}
	return strings.Split(h[i+2:], "; ")
}

// String returns Header's rendering, without its validity checks.
func (c *Cookie) String() string { return c.render() }

// ParseCookieHeader is django.http.cookie.parse_cookie, how Django fills
// request.COOKIES: the header is split on ';', each chunk on its first '='
// (a chunk without one is a value with an empty name), both sides are
// stripped of Python whitespace, chunks whose name and value are both empty
// are dropped, values are unquoted as http.cookies._unquote does, and a later
// chunk overrides an earlier one of the same name.
func ParseCookieHeader(header string) map[string]string {
	out := make(map[string]string)
	for chunk := range strings.SplitSeq(header, ";") {
		key, val, ok := strings.Cut(chunk, "=")
		if !ok {
			key, val = "", chunk
		}
		key, val = strings.TrimFunc(key, pyIsSpace), strings.TrimFunc(val, pyIsSpace)
		if key != "" || val != "" {
			out[key] = unquoteCookieValue(val)
		}
	}
	return out
}

// pyIsSpace is str.isspace for one code point (what str.strip removes).
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// unquoteCookieValue is http.cookies._unquote: a value in double quotes
// loses them, with \ooo (first digit 0-3) read as an octal code point and
// \X as X (X not a newline); anything else is returned unchanged.
func unquoteCookieValue(s string) string {
	if utf8.RuneCountInString(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	s = s[1 : len(s)-1]
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		if i+3 < len(s) && '0' <= s[i+1] && s[i+1] <= '3' && isOctal(s[i+2]) && isOctal(s[i+3]) {
			n := (s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0')
			b.WriteRune(rune(n))
			i += 4
			continue
		}
		// [\\]. : the escaped character itself (a whole code point), but
		// '.' does not match a newline, so "\\\n" stays as it is.
		r, size := utf8.DecodeRuneInString(s[i+1:])
		if r == '\n' {
			b.WriteByte(c)
			i++
			continue
		}
		b.WriteString(s[i+1 : i+1+size])
		i += 1 + size
	}
	return b.String()
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }
