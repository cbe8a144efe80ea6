package cookiestore

import "github.com/djsession/djsession/djangosession"

// MaxCookieSize is the size browsers are required to support for one cookie
// (RFC 6265 §6.1: 4096 bytes for name, value and attributes together);
// larger cookies are commonly dropped without any error.
const MaxCookieSize = djangosession.MaxCookieSize

// ErrCookieTooLarge is matched (errors.Is) by the *CookieTooLargeError of
// CheckSize. It is djangosession.ErrCookieTooLarge, which the middleware's
// default check reports.
var ErrCookieTooLarge = djangosession.ErrCookieTooLarge

// CookieTooLargeError reports a Set-Cookie that browsers will likely drop;
// it is djangosession.CookieTooLargeError.
type CookieTooLargeError = djangosession.CookieTooLargeError

// CheckSize measures the cookie name=value plus its attributes as they
// appear in Set-Cookie (each attribute such as "Path=/" or "HttpOnly" adds
// its length and the "; " before it) and returns a *CookieTooLargeError when
// the total exceeds MaxCookieSize. Django sets such cookies anyway; the
// middleware applies this check by default. It is
// djangosession.CheckCookieSize.
func CheckSize(name, value string, attrs ...string) error {
	return djangosession.CheckCookieSize(name, value, attrs...)
}
