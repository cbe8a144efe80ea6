package djangosession

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/djsession/djsession/pyvalue"
)

// MaxCreateAttempts bounds Session.Create's search for an unused key. Django
// loops forever for db and file and gives up after 10000 attempts for the
// cache engine; a Store that reports every key as taken is broken, and an
// endless loop helps nobody.
const MaxCreateAttempts = 10000

// Manager makes Session values that share one Store and one resolved
// configuration (TIME_ZONE is loaded once). It is safe for concurrent use;
// the Sessions it makes are not (one per request, like request.session).
type Manager struct {
	store    Store
	settings *Settings
	policy   *ExpiryPolicy
	clock    func() time.Time
	keyMaker bool
	pickle   bool
}

// Option configures a Manager (and New).
type Option func(*Manager)

// WithClock sets the clock that stands for django.utils.timezone.now()
// (default time.Now).
func WithClock(now func() time.Time) Option { return func(m *Manager) { m.clock = now } }

// NewManager resolves s for sessions stored in store. It fails when
// TIME_ZONE is unknown.
func NewManager(store Store, s *Settings, opts ...Option) (*Manager, error) {
	p, err := s.ExpiryPolicy()
	if err != nil {
		return nil, err
	}
	m := &Manager{store: store, settings: s, policy: p, clock: time.Now}
	for _, o := range opts {
		o(m)
	}
	if km, ok := store.(KeyMaker); ok && km.KeyFromData() {
		m.keyMaker = true
	}
	m.pickle = s.SessionSerializer == PickleSerializerPath || s.SessionSerializer == "pickle"
	return m, nil
}

// Settings returns the settings the manager was made with.
func (m *Manager) Settings() *Settings { return m.settings }

// Store returns the manager's store.
func (m *Manager) Store() Store { return m.store }

// ExpiryPolicy returns the resolved expiry rules.
func (m *Manager) ExpiryPolicy() *ExpiryPolicy { return m.policy }

// Session returns the session for a cookie value (SessionStore(session_key)).
// A key shorter than 8 characters is dropped (ValidKey), so the session
// starts without a key. Nothing is loaded until data is asked for.
func (m *Manager) Session(key string) *Session {
	if !ValidKey(key) {
		key = ""
	}
	return &Session{m: m, key: key}
}

// New is NewManager(store, s, opts...).Session(key).
func New(store Store, s *Settings, key string, opts ...Option) (*Session, error) {
	m, err := NewManager(store, s, opts...)
	if err != nil {
		return nil, err
	}
	return m.Session(key), nil
}

// Session is a Django session (SessionBase) over a Store: a dict that is
// loaded lazily, the accessed and modified flags Django's middleware relies
// on, expiry, and the life-cycle operations. Methods that may load or write
// take a context. A Session is not safe for concurrent use.
type Session struct {
	m        *Manager
	key      string        // "" is Django's None
	cache    *pyvalue.Dict // nil until loaded (Django's missing _session_cache)
	accessed bool
	modified bool
}

// Key returns the session key ("" when there is none). Reading it does not
// load the session or set Accessed.
func (s *Session) Key() string { return s.key }

// Accessed reports whether the data was read or written.
func (s *Session) Accessed() bool { return s.accessed }

// Modified reports whether the data was changed (and must be saved).
func (s *Session) Modified() bool { return s.modified }

// SetModified sets the modified flag, as Django code does with
// request.session.modified = True after mutating a nested value.
func (s *Session) SetModified(modified bool) { s.modified = modified }

// SetAccessed sets the accessed flag.
func (s *Session) SetAccessed(accessed bool) { s.accessed = accessed }

// Manager returns the session's manager.
func (s *Session) Manager() *Manager { return s.m }

// data is Django's _get_session(): it sets accessed and loads on first use.
// With noLoad (save(must_create=True)) an unloaded session is taken as {}.
func (s *Session) data(ctx context.Context, noLoad bool) (*pyvalue.Dict, error) {
	s.accessed = true
	if s.cache != nil {
		return s.cache, nil
	}
	if s.key == "" || noLoad {
		s.cache = pyvalue.NewDict(0)
		return s.cache, nil
	}
	r := &Record{Key: s.key}
	err := s.m.store.Load(ctx, r)
	switch {
	case errors.Is(err, ErrNotFound):
		s.cache = pyvalue.NewDict(0)
		if s.m.keyMaker {
			// signed_cookies' load() calls create() on failure, which only
			// sets modified: the bad cookie stays the key, so the session
			// is not empty and the middleware replaces the cookie with a
			// signed empty session.
			s.modified = true
		} else {
			// No valid record: the key is dropped, so that the next save
			// creates a fresh one (a client never chooses its key).
			s.key = ""
		}
	case err != nil:
		return nil, fmt.Errorf("djangosession: load: %w", err)
	default:
		if r.Key != s.key {
			// The engine replaced the session while loading (the file
			// engine's load() calls create() for an expired file), and
			// create() sets modified.
			s.key = r.Key
			s.modified = true
		}
		if r.Data == nil {
			r.Data = pyvalue.NewDict(0)
		}
		s.cache = r.Data
	}
	return s.cache, nil
}

// Load loads the data now if it is not loaded yet (like touching
// request.session), setting Accessed.
func (s *Session) Load(ctx context.Context) error {
	_, err := s.data(ctx, false)
	return err
}

// Data returns the session dict itself (internal keys included). Changing it
// directly does not set Modified; call SetModified.
func (s *Session) Data(ctx context.Context) (*pyvalue.Dict, error) { return s.data(ctx, false) }

// Get returns session[key] and whether it is present (session.get).
func (s *Session) Get(ctx context.Context, key string) (any, bool, error) {
	d, err := s.data(ctx, false)
	if err != nil {
		return nil, false, err
	}
	v, ok := d.Get(key)
	return v, ok, nil
}

// Has reports whether key is in the session (key in session).
func (s *Session) Has(ctx context.Context, key string) (bool, error) {
	d, err := s.data(ctx, false)
	if err != nil {
		return false, err
	}
	return d.Has(key), nil
}

// Set stores value under key (session[key] = value) and sets Modified, even
// when the value is unchanged. value must be a pyvalue value.
func (s *Session) Set(ctx context.Context, key string, value any) error {
	d, err := s.data(ctx, false)
	if err != nil {
		return err
	}
	d.Set(key, value)
	s.modified = true
	return nil
}

// Delete removes key (del session[key]); a missing key is ErrKeyNotFound and
// leaves Modified unchanged.
func (s *Session) Delete(ctx context.Context, key string) error {
	d, err := s.data(ctx, false)
	if err != nil {
		return err
	}
	if !d.Delete(key) {
		return fmt.Errorf("%w: %s", ErrKeyNotFound, pyRepr(key))
	}
	s.modified = true
	return nil
}

// Pop removes key and returns its value (session.pop(key, None)); ok is
// false when it was absent. Modified is set only if it was present.
func (s *Session) Pop(ctx context.Context, key string) (value any, ok bool, err error) {
	d, err := s.data(ctx, false)
	if err != nil {
		return nil, false, err
	}
	value, ok = d.Get(key)
	if ok {
		d.Delete(key)
		s.modified = true
	}
	return value, ok, nil
}

// SetDefault returns session[key] if present; otherwise it stores value,
// sets Modified and returns value (session.setdefault).
func (s *Session) SetDefault(ctx context.Context, key string, value any) (any, error) {
	d, err := s.data(ctx, false)
	if err != nil {
		return nil, err
	}
	if v, ok := d.Get(key); ok {
		return v, nil
	}
	s.modified = true
	d.Set(key, value)
	return value, nil
}

// Update copies every item of other into the session (session.update) and
// sets Modified, even for an empty other.
func (s *Session) Update(ctx context.Context, other *pyvalue.Dict) error {
	d, err := s.data(ctx, false)
	if err != nil {
		return err
	}
	for i := 0; i < other.Len(); i++ {
		k, v := other.At(i)
		if err := d.SetChecked(k, v); err != nil {
			return err
		}
	}
	s.modified = true
	return nil
}

// Keys returns the string keys in insertion order. (Only a pickled session
// can hold other keys; Data reaches them.)
func (s *Session) Keys(ctx context.Context) ([]string, error) {
	d, err := s.data(ctx, false)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, d.Len())
	for _, k := range d.Keys() {
		if ks, ok := k.(string); ok {
			keys = append(keys, ks)
		}
	}
	return keys, nil
}

// Items returns a shallow copy of the session dict (session.items()).
func (s *Session) Items(ctx context.Context) (*pyvalue.Dict, error) {
	d, err := s.data(ctx, false)
	if err != nil {
		return nil, err
	}
	return d.Clone(), nil
}

// Len returns the number of items (len(session)... via keys()).
func (s *Session) Len(ctx context.Context) (int, error) {
	d, err := s.data(ctx, false)
	if err != nil {
		return 0, err
	}
	return d.Len(), nil
}

// Clear empties the data without loading it first (session.clear()): sets
// Accessed and Modified. Storage is untouched until Save.
func (s *Session) Clear() {
	s.cache = pyvalue.NewDict(0)
	s.accessed = true
	s.modified = true
}

// IsEmpty reports whether the session has no key and no data (loaded or
// not); it loads nothing and does not set Accessed.
func (s *Session) IsEmpty() bool {
	return s.key == "" && s.cache.Len() == 0
}

// Test cookie helpers of SessionBase.
const (
	TestCookieName  = "testcookie"
	TestCookieValue = "worked"
)

// SetTestCookie sets session["testcookie"] = "worked".
func (s *Session) SetTestCookie(ctx context.Context) error {
	return s.Set(ctx, TestCookieName, TestCookieValue)
}

// TestCookieWorked reports whether the test cookie came back.
func (s *Session) TestCookieWorked(ctx context.Context) (bool, error) {
	v, _, err := s.Get(ctx, TestCookieName)
	return v == TestCookieValue, err
}

// DeleteTestCookie deletes the test cookie (ErrKeyNotFound if absent).
func (s *Session) DeleteTestCookie(ctx context.Context) error {
	return s.Delete(ctx, TestCookieName)
}

// Expiry.

// SetExpiry sets the session's own expiry (set_expiry), stored under
// _session_expiry in the form the target Django version writes:
//   - nil: remove it (SESSION_COOKIE_AGE and SESSION_EXPIRE_AT_BROWSER_CLOSE
//     apply again);
//   - an integer (int, int32, int64): seconds of inactivity; 0 means "until
//     the browser closes". A float64 is stored as a float, as Django would;
//   - a time.Duration or pyvalue.TimeDelta: now + d, then as a datetime;
//   - a time.Time or pyvalue.DateTime: an absolute expiry. From 4.1 it is
//     stored as isoformat() text: with USE_TZ an aware time keeps its offset
//     ("+00:00" for UTC), without USE_TZ a time.Time becomes the naive wall
//     time of TIME_ZONE. For 3.2 the datetime object itself is stored,
//     which only PickleSerializer can carry (aware times as UTC with
//     pytz.UTC, as 3.2's timezone.now() makes them); with the JSON
//     serializer 3.2 cannot save it, so SetExpiry refuses with
//     ErrUnsupported rather than writing a session Django cannot save.
func (s *Session) SetExpiry(ctx context.Context, value any) error {
	if value == nil {
		d, err := s.data(ctx, false)
		if err != nil {
			return err
		}
		if d.Delete(ExpiryKey) {
			s.modified = true
		}
		return nil
	}
	var stored any
	switch v := value.(type) {
	case int:
		stored = int64(v)
	case int32:
		stored = int64(v)
	case int64:
		stored = v
	case float64:
		stored = v
	case time.Duration:
		dt, err := s.expiryDateTime(s.now().UTC().Add(v))
		if err != nil {
			return err
		}
		stored = dt
	case pyvalue.TimeDelta:
		d, ok := v.Duration()
		if !ok {
			return fmt.Errorf("%w: OverflowError: timedelta out of range", ErrInvalidExpiry)
		}
		dt, err := s.expiryDateTime(s.now().UTC().Add(d))
		if err != nil {
			return err
		}
		stored = dt
	case time.Time:
		dt, err := s.expiryDateTime(v)
		if err != nil {
			return err
		}
		stored = dt
	case pyvalue.DateTime:
		dt, err := s.storedDateTime(v)
		if err != nil {
			return err
		}
		stored = dt
	default:
		return fmt.Errorf("djangosession: SetExpiry: unsupported type %T", value)
	}
	return s.Set(ctx, ExpiryKey, stored)
}

// expiryDateTime turns t into the datetime Django would hold: without
// USE_TZ the naive wall time of TIME_ZONE; for 3.2 an aware UTC datetime
// with pytz.UTC (what its timezone.now() returns); otherwise t with its
// offset (UTC gives "+00:00").
func (s *Session) expiryDateTime(t time.Time) (any, error) {
	p := s.m.policy
	var dt pyvalue.DateTime
	switch {
	case !p.UseTZ:
		dt = pyvalue.NaiveDateTimeFromTime(t.In(p.Location))
	case !p.Version.StoresExpiryAsISO():
		dt = pyvalue.NaiveDateTimeFromTime(t.UTC())
		dt.TZ = &pyvalue.TZInfo{Kind: pyvalue.TZPytzUTC}
	default:
		dt = pyvalue.DateTimeFromTime(t)
	}
	return s.storedDateTime(dt)
}

// storedDateTime applies the version rule to a datetime set_expiry receives.
func (s *Session) storedDateTime(dt pyvalue.DateTime) (any, error) {
	p := s.m.policy
	if p.Version.StoresExpiryAsISO() {
		if dt.TZ != nil {
			if _, ok := dt.TZ.UTCOffset(dt); !ok {
				return nil, fmt.Errorf("%w: the datetime's utcoffset is unknown", ErrInvalidExpiry)
			}
		}
		return dt.ISOFormat(), nil
	}
	if !s.m.pickle {
		return nil, fmt.Errorf("djangosession: SetExpiry with a datetime: Django %s stores the datetime object, which its JSON serializer cannot save (use seconds, or PickleSerializer): %w", p.Version, ErrUnsupported)
	}
	return dt, nil
}

func (s *Session) now() time.Time { return s.m.clock() }

// expiry returns session.get("_session_expiry").
func (s *Session) expiry(ctx context.Context) (any, bool, error) {
	return s.Get(ctx, ExpiryKey)
}

// ExpiryAge is get_expiry_age(): seconds until expiry measured from now
// (see ExpiryPolicy.Age for the exact, Django-inherited rules).
func (s *Session) ExpiryAge(ctx context.Context) (float64, error) {
	e, _, err := s.expiry(ctx)
	if err != nil {
		return 0, err
	}
	return s.m.policy.Age(e, s.now())
}

// ExpiryDate is get_expiry_date() (see ExpiryPolicy.Date).
func (s *Session) ExpiryDate(ctx context.Context) (time.Time, error) {
	e, _, err := s.expiry(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return s.m.policy.Date(e, s.now())
}

// ExpireAtBrowserClose is get_expire_at_browser_close().
func (s *Session) ExpireAtBrowserClose(ctx context.Context) (bool, error) {
	e, ok, err := s.expiry(ctx)
	if err != nil {
		return false, err
	}
	return s.m.policy.AtBrowserClose(e, ok), nil
}

// Storage.

// record builds what the store saves: the data and the expiry Django
// computes at save time (get_expiry_date() for db and cached_db,
// get_expiry_age() for the cache engines).
func (s *Session) record(d *pyvalue.Dict) (*Record, error) {
	e, _ := d.Get(ExpiryKey)
	now := s.now()
	dt, err := s.m.policy.DateTime(e, now)
	if err != nil {
		return nil, fmt.Errorf("djangosession: save: get_expiry_date: %w", err)
	}
	date, err := s.m.policy.timeOf(dt)
	if err != nil {
		return nil, fmt.Errorf("djangosession: save: get_expiry_date: %w", err)
	}
	age, err := s.m.policy.Age(e, now)
	if err != nil {
		return nil, fmt.Errorf("djangosession: save: get_expiry_age: %w", err)
	}
	r := &Record{Key: s.key, Data: d, ExpireDate: date, ExpireDateTime: dt}
	switch {
	case math.IsNaN(age) || age >= math.MaxInt64 || age <= math.MinInt64:
		return nil, fmt.Errorf("djangosession: save: %w: expiry age %v out of range", ErrInvalidExpiry, age)
	default:
		r.ExpiryAge = int64(age) // int(timeout), as the cache backends do
	}
	return r, nil
}

// Save writes the session (save()): a session without a key is created
// under a new one; otherwise the record is updated, and a record deleted in
// the meantime (a concurrent logout) gives ErrSessionInterrupted rather than
// being written again. Save loads the data first if it was never loaded, as
// Django does. It does not reset Modified.
func (s *Session) Save(ctx context.Context) error {
	if s.m.keyMaker {
		return s.saveKeyMaker(ctx)
	}
	if s.key == "" {
		return s.Create(ctx)
	}
	return s.save(ctx, false)
}

func (s *Session) save(ctx context.Context, mustCreate bool) error {
	d, err := s.data(ctx, mustCreate)
	if err != nil {
		return err
	}
	if s.key == "" {
		// The load found nothing and dropped the key: Django picks a new
		// one (_get_or_create_session_key) and its forced update then
		// fails (UpdateError), which the store reports.
		key, err := s.unusedKey(ctx)
		if err != nil {
			return err
		}
		s.key = key
	}
	r, err := s.record(d)
	if err != nil {
		return err
	}
	if err := s.m.store.Save(ctx, r, mustCreate); err != nil {
		return fmt.Errorf("djangosession: save: %w", err)
	}
	return nil
}

// saveKeyMaker is the signed_cookies engine's save: the store derives the
// key (the cookie) from the data; the session is always modified.
func (s *Session) saveKeyMaker(ctx context.Context) error {
	d, err := s.data(ctx, false)
	if err != nil {
		return err
	}
	r, err := s.record(d)
	if err != nil {
		return err
	}
	if err := s.m.store.Save(ctx, r, false); err != nil {
		return fmt.Errorf("djangosession: save: %w", err)
	}
	s.key = r.Key
	s.modified = true
	return nil
}

// unusedKey is _get_new_session_key: random keys until the store says one
// is free.
func (s *Session) unusedKey(ctx context.Context) (string, error) {
	for i := 0; i < MaxCreateAttempts; i++ {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		key, err := NewKey()
		if err != nil {
			return "", err
		}
		exists, err := s.m.store.Exists(ctx, key)
		if err != nil {
			return "", fmt.Errorf("djangosession: exists: %w", err)
		}
		if !exists {
			return key, nil
		}
	}
	return "", fmt.Errorf("djangosession: unable to create a new session key after %d attempts: %w", MaxCreateAttempts, ErrUnavailable)
}

// Create gives the session a new random key and writes its current data
// under it at once (create()), retrying with another key when the store
// reports the key taken (ErrKeyExists). Sets Modified. For a store whose
// key is derived from the data (signed_cookies) it only sets Modified, as
// Django does.
func (s *Session) Create(ctx context.Context) error {
	if s.m.keyMaker {
		s.modified = true
		return nil
	}
	for i := 0; i < MaxCreateAttempts; i++ {
		key, err := s.unusedKey(ctx)
		if err != nil {
			return err
		}
		s.key = key
		err = s.save(ctx, true)
		if errors.Is(err, ErrKeyExists) {
			continue
		}
		if err != nil {
			return err
		}
		s.modified = true
		return nil
	}
	return fmt.Errorf("djangosession: unable to create a new session key after %d attempts: %w", MaxCreateAttempts, ErrUnavailable)
}

// Exists reports whether the store holds a record for key.
func (s *Session) Exists(ctx context.Context, key string) (bool, error) {
	if s.m.keyMaker {
		return false, nil
	}
	return s.m.store.Exists(ctx, key)
}

// DeleteRecord removes the stored record of key, or of the session's own
// key when key is "" (SessionStore.delete(session_key)). The in-memory data
// is kept; see Flush.
func (s *Session) DeleteRecord(ctx context.Context, key string) error {
	if key == "" {
		if s.key == "" {
			return nil
		}
		key = s.key
	}
	if err := s.m.store.Delete(ctx, key); err != nil {
		return fmt.Errorf("djangosession: delete: %w", err)
	}
	if s.m.keyMaker {
		// signed_cookies' delete() also empties the session.
		s.key = ""
		s.cache = pyvalue.NewDict(0)
		s.modified = true
	}
	return nil
}

// Flush empties the session, deletes its record and drops its key
// (flush(), what logout does): the next save creates a new key.
func (s *Session) Flush(ctx context.Context) error {
	s.Clear()
	if err := s.DeleteRecord(ctx, ""); err != nil {
		return err
	}
	s.key = ""
	return nil
}

// CycleKey keeps the data under a new key (cycle_key(), done at login to
// prevent fixation): the data is written under a fresh key at once and the
// old record is deleted. For signed_cookies it is a save.
func (s *Session) CycleKey(ctx context.Context) error {
	if s.m.keyMaker {
		return s.saveKeyMaker(ctx)
	}
	d, err := s.data(ctx, false)
	if err != nil {
		return err
	}
	old := s.key
	if err := s.Create(ctx); err != nil {
		return err
	}
	s.cache = d
	if old != "" {
		return s.DeleteRecord(ctx, old)
	}
	return nil
}
