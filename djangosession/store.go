package djangosession

import (
	"context"
	"time"

	"github.com/djsession/djsession/pyvalue"
)

// Record is what a Session hands an engine to store, and what an engine
// returns on load.
type Record struct {
	// Key is the session key (for signed_cookies: the cookie value, which an
	// engine's Save may replace).
	Key string
	// Data is the session dict, internal keys (_session_expiry, _auth_user_*)
	// included.
	Data *pyvalue.Dict
	// ExpiryAge is get_expiry_age() in whole seconds at save time (may be
	// negative); the cache engines use it as the TTL.
	ExpiryAge int64
	// ExpireDate is get_expiry_date() at save time. With USE_TZ=false it is
	// a wall-clock time in Settings' TIME_ZONE location. Engines that store
	// it (db, cached_db) set it on load to the stored expire_date.
	ExpireDate time.Time
	// ExpireDateTime is get_expiry_date() exactly as Django holds it: aware
	// with USE_TZ, otherwise the naive TIME_ZONE wall time, which Django
	// stores as is even when it falls in a DST gap (where ExpireDate, a
	// time.Time, is normalized). Set by Session.Save; engines that store
	// naive text may prefer it when set (Year != 0).
	ExpireDateTime pyvalue.DateTime
}

// Store is the storage side of one of Django's session engines. Every method
// takes a context first and wraps failures of the storage in ErrUnavailable.
type Store interface {
	// Load fills r.Data for r.Key. A missing, expired or refused key gives
	// ErrNotFound. An engine whose Django counterpart changes the key while
	// loading (the file engine recreates an expired session) sets r.Key.
	// Data that does not decode is not an error: r.Data is an empty dict, as
	// Django turns it into an empty session.
	Load(ctx context.Context, r *Record) error

	// Exists reports whether a record for key is stored (expired or not, as
	// the engine's Django counterpart decides).
	Exists(ctx context.Context, key string) (bool, error)

	// Save writes r. With mustCreate it must create a new record or fail with
	// ErrKeyExists; without, it must update an existing one or fail with
	// ErrSessionInterrupted. An engine whose key is the data itself
	// (signed_cookies) sets r.Key.
	Save(ctx context.Context, r *Record, mustCreate bool) error

	// Delete removes the record for key; a missing record is not an error.
	Delete(ctx context.Context, key string) error

	// ClearExpired removes expired records (a no-op where Django's is).
	ClearExpired(ctx context.Context) error
}

// KeyMaker is implemented by engines that do not use random server-side keys
// (signed_cookies): Session.Create then only asks the engine to save.
type KeyMaker interface {
	// KeyFromData reports that the engine derives the key from the data.
	KeyFromData() bool
}
