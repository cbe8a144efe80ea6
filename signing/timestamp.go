package signing

import (
	"math"
	"strings"
	"time"
	"unsafe"
)

// TimestampSigner signs strings with the signing time, as Django's
// TimestampSigner does: value + sep + b62(unix seconds) + sep + signature.
// It is safe for concurrent use.
type TimestampSigner struct {
	s *Signer
}

// NewTimestampSigner returns a TimestampSigner configured by opts (an empty
// Salt means DefaultTimestampSignerSalt). It fails with ErrEmptyKey,
// ErrInvalidSeparator or ErrUnknownAlgorithm.
func NewTimestampSigner(opts Options) (*TimestampSigner, error) {
	s, err := newSigner(opts, DefaultTimestampSignerSalt)
	if err != nil {
		return nil, err
	}
	return &TimestampSigner{s: s}, nil
}

// NewCookieSigner returns the signer of Django's get_cookie_signer, used by
// HttpResponse.set_signed_cookie and HttpRequest.get_signed_cookie: a
// TimestampSigner whose key and fallback keys are prefixed with
// "django.http.cookies". Set opts.Salt to the cookie name followed by the
// salt argument of set_signed_cookie, as Django does (an empty result falls
// back to DefaultTimestampSignerSalt, also as in Django).
func NewCookieSigner(opts Options) (*TimestampSigner, error) {
	const prefix = "django.http.cookies"
	if opts.Key == "" {
		return nil, ErrEmptyKey
	}
	opts.Key = prefix + opts.Key
	fb := make([]string, len(opts.FallbackKeys))
	for i, k := range opts.FallbackKeys {
		fb[i] = prefix + k
	}
	opts.FallbackKeys = fb
	return NewTimestampSigner(opts)
}

// Signer returns the underlying plain signer (same key, salt, separator and
// algorithm), which signs and verifies without a timestamp.
func (t *TimestampSigner) Signer() *Signer { return t.s }

// Salt returns the effective salt.
func (t *TimestampSigner) Salt() string { return t.s.salt }

// Sep returns the separator.
func (t *TimestampSigner) Sep() string { return t.s.sep }

// Algorithm returns the hash algorithm used for signing.
func (t *TimestampSigner) Algorithm() string { return t.s.algorithm }

// Timestamp returns the base-62 timestamp Sign would use now.
func (t *TimestampSigner) Timestamp() string { return B62Encode(t.s.now().Unix()) }

// Sign returns value + sep + timestamp + sep + signature.
func (t *TimestampSigner) Sign(value string) string {
	b := make([]byte, 0, len(value)+2*len(t.s.sep)+12+88)
	b = t.appendSigned(b, value)
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (t *TimestampSigner) appendSigned(b []byte, value string) []byte {
	start := len(b)
	b = append(b, value...)
	return t.appendStampAndSignature(b, start)
}

// appendStampAndSignature signs b[start:] with the current time: it appends
// sep + timestamp, then sep + the signature of everything from start.
func (t *TimestampSigner) appendStampAndSignature(b []byte, start int) []byte {
	b = append(b, t.s.sep...)
	b = appendB62(b, t.s.now().Unix())
	signedPart := b[start:]
	b = append(b, t.s.sep...)
	return t.s.keys[0].appendSignature(b, signedPart)
}

// Unsign verifies signed without an age limit and returns the value. See
// UnsignMaxAge for the errors.
func (t *TimestampSigner) Unsign(signed string) (string, error) {
	v, _, err := t.unsign(signed, -1)
	return v, err
}

// UnsignMaxAge verifies signed and its age. It fails with a
// *BadSignatureError (ErrBadSignature) if the signature does not verify;
// with a *MalformedError matching ErrMalformed and ErrBadSignature if the
// verified text has no base-62 timestamp (Django raises ValueError there);
// and with an *ExpiredError (ErrExpired, ErrBadSignature) if now minus the
// timestamp is greater than maxAge. An age equal to maxAge, and a timestamp
// in the future, pass. A negative maxAge means no limit.
func (t *TimestampSigner) UnsignMaxAge(signed string, maxAge time.Duration) (string, error) {
	if maxAge < 0 {
		maxAge = -1
	}
	v, _, err := t.unsign(signed, maxAge)
	return v, err
}

// UnsignMaxAgeSeconds is UnsignMaxAge with the age limit in seconds, as
// Django's int or float max_age. NaN or a negative value means no limit.
func (t *TimestampSigner) UnsignMaxAgeSeconds(signed string, maxAge float64) (string, error) {
	return t.UnsignMaxAge(signed, secondsToDuration(maxAge))
}

// UnsignTimestamp verifies signed without an age limit and returns the value
// and its signing time.
func (t *TimestampSigner) UnsignTimestamp(signed string) (string, time.Time, error) {
	return t.unsign(signed, -1)
}

func secondsToDuration(s float64) time.Duration {
	if math.IsNaN(s) || s < 0 {
		return -1
	}
	if s >= float64(math.MaxInt64)/1e9 {
		return math.MaxInt64
	}
	return time.Duration(math.Round(s * 1e9))
}

// unsign verifies signed; maxAge < 0 disables the age check.
func (t *TimestampSigner) unsign(signed string, maxAge time.Duration) (string, time.Time, error) {
	result, err := t.s.Unsign(signed)
	if err != nil {
		return "", time.Time{}, err
	}
	i := strings.LastIndex(result, t.s.sep)
	if i < 0 {
		return "", time.Time{}, &MalformedError{Part: "timestamp",
			Err: errString("not enough values to unpack (expected 2, got 1)")}
	}
	value, tsText := result[:i], result[i+len(t.s.sep):]
	ts, err := B62Decode(tsText)
	if err != nil {
		return "", time.Time{}, &MalformedError{Part: "timestamp", Err: err}
	}
	stamp := time.Unix(ts, 0)
	if maxAge >= 0 {
		now := t.s.now()
		// Django computes time.time() - timestamp as a float; the
		// sub-second part of now matters at the boundary.
		age := time.Duration(now.Unix()-ts)*time.Second + time.Duration(now.Nanosecond())
		if now.Unix()-ts > math.MaxInt64/int64(time.Second)-1 {
			age = math.MaxInt64
		} else if now.Unix()-ts < math.MinInt64/int64(time.Second)+1 {
			age = math.MinInt64
		}
		if age > maxAge {
			return "", stamp, &ExpiredError{Age: age, MaxAge: maxAge, Timestamp: stamp}
		}
	}
	return value, stamp, nil
}

type errString string

func (e errString) Error() string { return string(e) }
