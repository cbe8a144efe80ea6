package djangosession

import "errors"

// Sentinel errors callers branch on with errors.Is. Engines wrap them with
// context (%w); they never return a bare driver error for these situations.
var (
	// ErrNotFound: no live session under the key (absent, expired, or a key
	// the engine refuses, such as a path-like key for the file engine).
	ErrNotFound = errors.New("djangosession: session not found")

	// ErrKeyExists: a must-create save found the key taken (Django's
	// CreateError); Create retries with a fresh key.
	ErrKeyExists = errors.New("djangosession: session key already exists")

	// ErrSessionInterrupted: an update found its record gone, deleted by a
	// concurrent logout (Django's UpdateError / SessionInterrupted). The
	// session is never resurrected.
	ErrSessionInterrupted = errors.New("djangosession: session was deleted before the request completed")

	// ErrUnavailable: the storage could not be reached or failed. Distinct
	// from ErrNotFound so that an outage never looks like a logout.
	ErrUnavailable = errors.New("djangosession: session store unavailable")

	// ErrKeyNotFound: Session.Delete of a key the session does not hold
	// (Python's KeyError).
	ErrKeyNotFound = errors.New("djangosession: key not in session")

	// ErrInvalidKey: a session key the engine refuses to touch storage with.
	ErrInvalidKey = errors.New("djangosession: invalid session key")

	// ErrUnsupported: a combination the target Django version does not have
	// (PickleSerializer on 5.0+, a datetime expiry under 3.2 with JSON ...).
	ErrUnsupported = errors.New("djangosession: not supported by the target Django version")
)

// ErrNotDict: session data decoded to something other than a dict.
var ErrNotDict = errors.New("djangosession: session data is not a dict")
