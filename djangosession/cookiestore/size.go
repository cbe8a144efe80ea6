package cookiestore

import (
	"errors"
	"fmt"
)

// MaxCookieSize is the size browsers are required to support for one cookie
// (RFC 6265 §6.1: 4096 bytes for name, value and attributes together);
// larger cookies are commonly dropped without any error.
const MaxCookieSize = 4096

// ErrCookieTooLarge is matched (errors.Is) by the *CookieTooLargeError of
// CheckSize.
var ErrCookieTooLarge = errors.New("cookiestore: cookie too large for browsers")

// CookieTooLargeError reports a Set-Cookie that browsers will likely drop.
// Its message is meant for a log line.
type CookieTooLargeError struct {
	Name  string // cookie name
	Size  int    // bytes of name, "=", value and the "; "-joined attributes
	Limit int    // MaxCookieSize
}

func (e *CookieTooLargeError) Error() string {
	return fmt.Sprintf("cookiestore: cookie %q is %d bytes (name, value and attributes), over the %d bytes browsers keep; the browser will likely drop it and the session will be lost", e.Name, e.Size, e.Limit)
}

// Is makes errors.Is(err, ErrCookieTooLarge) true.
func (e *CookieTooLargeError) Is(target error) bool { return target == ErrCookieTooLarge }

// CheckSize measures the cookie name=value plus its attributes as they
// appear in Set-Cookie (each attribute such as "Path=/" or "HttpOnly" adds
// its length and the "; " before it) and returns a *CookieTooLargeError when
// the total exceeds MaxCookieSize. Django sets such cookies anyway; the
// middleware applies this check by default.
func CheckSize(name, value string, attrs ...string) error {
	n := len(name) + 1 + len(value)
	for _, a := range attrs {
		n += 2 + len(a)
	}
	if n > MaxCookieSize {
		return &CookieTooLargeError{Name: name, Size: n, Limit: MaxCookieSize}
	}
	return nil
}
