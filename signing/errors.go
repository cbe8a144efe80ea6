package signing

import (
	"errors"
	"strconv"
	"time"
)

// Sentinel errors. Every error returned by this package matches exactly the
// sentinels documented on the function that returns it, via errors.Is.
var (
	// ErrBadSignature: the value was not signed by any accepted key with this
	// salt and algorithm, or is not shaped like a signed value at all
	// (Django's BadSignature). ErrExpired errors match it too, as
	// SignatureExpired is a subclass of BadSignature.
	ErrBadSignature = errors.New("signing: bad signature")

	// ErrExpired: the signature is valid but older than the allowed maximum
	// age (Django's SignatureExpired). Returned as *ExpiredError.
	ErrExpired = errors.New("signing: signature expired")

	// ErrMalformed: the signature is valid but what it protects cannot be
	// decoded: bad base64, bad zlib data, a payload the serializer rejects, or
	// a timestamp that is not base 62. Django raises binascii.Error,
	// zlib.error, json.JSONDecodeError or ValueError there, not BadSignature.
	// Returned as *MalformedError.
	ErrMalformed = errors.New("signing: malformed payload")

	// ErrTooLarge: the decoded (decompressed) payload exceeds the configured
	// maximum size. Errors matching it also match ErrMalformed.
	ErrTooLarge = errors.New("signing: payload too large")

	// ErrInvalidSeparator: Options.Sep is empty or made only of characters of
	// the regular-expression class [A-z0-9-_=] (Django's ValueError "Unsafe
	// Signer separator").
	ErrInvalidSeparator = errors.New("signing: unsafe separator")

	// ErrUnknownAlgorithm: the hash algorithm is not one Django's hashlib
	// lookup would find and this package implements (Django's
	// InvalidAlgorithm).
	ErrUnknownAlgorithm = errors.New("signing: unknown hash algorithm")

	// ErrEmptyKey: no secret key was given. Django would fall back to
	// settings.SECRET_KEY (and refuses an empty one); Go callers always pass
	// the key explicitly.
	ErrEmptyKey = errors.New("signing: empty secret key")

	// ErrInvalidBase62: the text is not a base-62 integer that fits in an
	// int64.
	ErrInvalidBase62 = errors.New("signing: invalid base62 text")

	// ErrInvalidBase64: the text cannot be decoded by Django's lenient
	// URL-safe base64 decoder (binascii.Error).
	ErrInvalidBase64 = errors.New("signing: invalid base64 text")
)

// BadSignatureError is the error for a value that does not verify. Error
// returns Django's message, e.g. `Signature "abc" does not match` or
// `No ":" found in value`.
type BadSignatureError struct {
	// Msg is the text of Django's BadSignature exception.
	Msg string
}

func (e *BadSignatureError) Error() string { return "signing: bad signature: " + e.Msg }

// Is reports whether target is ErrBadSignature.
func (e *BadSignatureError) Is(target error) bool { return target == ErrBadSignature }

// ExpiredError is the error for a valid signature older than the allowed
// maximum age. It matches both ErrExpired and ErrBadSignature.
type ExpiredError struct {
	// Age is now minus the signing time.
	Age time.Duration
	// MaxAge is the maximum age the caller allowed.
	MaxAge time.Duration
	// Timestamp is the signing time recorded in the value.
	Timestamp time.Time
}

// Error returns Django's message "Signature age <age> > <max_age> seconds".
func (e *ExpiredError) Error() string {
	return "signing: signature expired: Signature age " + formatSeconds(e.Age) +
		" > " + formatSeconds(e.MaxAge) + " seconds"
}

// Is reports whether target is ErrExpired or ErrBadSignature.
func (e *ExpiredError) Is(target error) bool {
	return target == ErrExpired || target == ErrBadSignature
}

func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// MalformedError is the error for a correctly signed value whose content
// cannot be decoded. It matches ErrMalformed, plus ErrTooLarge for an
// oversized payload and ErrBadSignature for a TimestampSigner value without a
// valid timestamp (a value this signer cannot have produced, so callers that
// only check ErrBadSignature reject it as well).
type MalformedError struct {
	// Part is what failed: "timestamp", "base64", "zlib" or "payload".
	Part string
	// Err is the underlying error (from the serializer, zlib, base64 ...).
	Err error
}

func (e *MalformedError) Error() string {
	return "signing: malformed " + e.Part + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *MalformedError) Unwrap() error { return e.Err }

// Is reports whether target is ErrMalformed, or ErrBadSignature for a bad
// timestamp.
func (e *MalformedError) Is(target error) bool {
	return target == ErrMalformed || (target == ErrBadSignature && e.Part == "timestamp")
}

// UnknownAlgorithmError names an unsupported hash algorithm. It matches
// ErrUnknownAlgorithm.
type UnknownAlgorithmError struct{ Algorithm string }

// Error returns Django's InvalidAlgorithm message.
func (e *UnknownAlgorithmError) Error() string {
	return "signing: " + strconv.Quote(e.Algorithm) + " is not an algorithm accepted by the hashlib module"
}

// Is reports whether target is ErrUnknownAlgorithm.
func (e *UnknownAlgorithmError) Is(target error) bool { return target == ErrUnknownAlgorithm }
