// Package cacheddb is Django's "cached_db" session engine
// (django.contrib.sessions.backends.cached_db): the db engine
// (dbstore) is the source of truth and a cache (cachestore) holds a
// read-through copy of the session dict, pickled, under
// KEY_PREFIX:VERSION:django.contrib.sessions.cached_db<key>.
//
// As in Django the cache is trusted (DJANGO_FORMATS §12): a cache hit is
// returned without touching the database, without re-checking the row's
// expire_date and without any signature; after a database row fails to
// decode, the empty dict it loads as is cached until its expiry.
package cacheddb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cachestore"
	"github.com/djsession/djsession/djangosession/dbstore"
	"github.com/djsession/djsession/pyvalue"
)

// KeyPrefix is the engine's Django-level cache key prefix
// (cache_key_prefix of django.contrib.sessions.backends.cached_db).
const KeyPrefix = "django.contrib.sessions.cached_db"

// Store is the cached_db engine. It is safe for concurrent use.
type Store struct {
	db       *dbstore.Store
	cache    cachestore.Cache
	policy   *djangosession.ExpiryPolicy
	version  djangosession.Version
	logger   *slog.Logger
	now      func() time.Time
	settings *djangosession.Settings
}

// Option configures New.
type Option func(*Store)

// WithClock sets the clock standing for timezone.now() (default time.Now);
// give the dbstore the same clock.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLogger sets where Django 5.1+'s "Error saving to cache" is logged
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.logger = l } }

// New returns the cached_db engine over db and cache (usually
// cachestore.OpenAlias(s, s.SessionCacheAlias)), configured by s.
func New(db *dbstore.Store, cache cachestore.Cache, s *djangosession.Settings, opts ...Option) (*Store, error) {
	if db == nil || cache == nil {
		return nil, errors.New("cacheddb: New needs a dbstore and a cache")
	}
	p, err := s.ExpiryPolicy()
	if err != nil {
		return nil, err
	}
	st := &Store{db: db, cache: cache, policy: p, version: s.Version(), now: time.Now, settings: s}
	for _, o := range opts {
		o(st)
	}
	if st.logger == nil {
		st.logger = slog.Default()
	}
	return st, nil
}

// DB returns the underlying db engine.
func (st *Store) DB() *dbstore.Store { return st.db }

// Cache returns the cache.
func (st *Store) Cache() cachestore.Cache { return st.cache }

// CacheKey returns the Django-level cache key of a session key.
func CacheKey(key string) string { return KeyPrefix + key }

// Load implements djangosession.Store: a cache hit returns the cached dict
// (the database is not read). On a miss (or any cache failure, as in
// Django) the row is loaded from the database; if there is one, the cache
// is refilled with a timeout of the seconds left until the row's
// expire_date. A failing refill is an error wrapping
// djangosession.ErrUnavailable, as Django raises there; with
// PyMemcacheCache it seldom comes to that, since pymemcache skips calls to
// a server that has just failed (see cachestore.Memcached) and the get
// before it already has.
func (st *Store) Load(ctx context.Context, r *djangosession.Record) error {
	k := KeyPrefix + r.Key
	d, err := cachestore.LoadDict(ctx, st.cache, k)
	if err == nil {
		r.Data = d
		return nil
	}
	if err := st.db.Load(ctx, r); err != nil {
		return err
	}
	if r.Data == nil {
		r.Data = pyvalue.NewDict(0)
	}
	age, err := st.refillAge(r)
	if err != nil {
		return err
	}
	if err := st.cache.Set(ctx, k, r.Data, age); err != nil {
		return fmt.Errorf("cacheddb: load: refilling the cache: %w", err)
	}
	return nil
}

// refillAge is get_expiry_age(expiry=s.expire_date), the row's
// expire_date as dbstore.Load read it. Should the stored value not be
// readable as a date, the loaded session's own expiry stands in.
func (st *Store) refillAge(r *djangosession.Record) (int64, error) {
	var exp any
	if !r.ExpireDate.IsZero() {
		exp = st.asDateTime(r.ExpireDate)
	} else {
		exp, _ = r.Data.Get(djangosession.ExpiryKey)
	}
	age, err := st.policy.Age(exp, st.now())
	if err != nil {
		return 0, fmt.Errorf("cacheddb: load: get_expiry_age: %w", err)
	}
	return int64(age), nil
}

// asDateTime is the datetime Django reads back for expire_date: aware UTC
// with USE_TZ, else the naive wall time in TIME_ZONE.
func (st *Store) asDateTime(t time.Time) pyvalue.DateTime {
	if st.policy.UseTZ {
		return pyvalue.DateTimeFromTime(t.UTC())
	}
	return pyvalue.NaiveDateTimeFromTime(t.In(st.policy.Location))
}

// Exists implements djangosession.Store: the cache's has_key, or the
// database. A cache failure is an error, as in Django (which is why saving
// a new session fails while the cache is down).
func (st *Store) Exists(ctx context.Context, key string) (bool, error) {
	if key == "" {
		return false, nil
	}
	ok, err := st.cache.HasKey(ctx, KeyPrefix+key)
	if err != nil && !errors.Is(err, cachestore.ErrInvalidKey) {
		return false, fmt.Errorf("cacheddb: exists: %w", err)
	}
	if ok {
		return true, nil
	}
	return st.db.Exists(ctx, key)
}

// Save implements djangosession.Store: the database first (create or
// update, with the db engine's errors), then the cache set with
// get_expiry_age(). A cache failure after the database write is an error
// for Django up to 5.0 and, from 5.1, logged ("Error saving to cache") and
// ignored.
func (st *Store) Save(ctx context.Context, r *djangosession.Record, mustCreate bool) error {
	if err := st.db.Save(ctx, r, mustCreate); err != nil {
		return err
	}
	d := r.Data
	if d == nil {
		d = pyvalue.NewDict(0)
	}
	if err := st.cache.Set(ctx, KeyPrefix+r.Key, d, r.ExpiryAge); err != nil {
		if st.version.AtLeast(5, 1) {
			st.logger.ErrorContext(ctx, "Error saving to cache", "logger", "django.contrib.sessions", "error", err)
			return nil
		}
		return fmt.Errorf("cacheddb: save: %w", err)
	}
	return nil
}

// Delete implements djangosession.Store: the row, then the cache entry.
func (st *Store) Delete(ctx context.Context, key string) error {
	if err := st.db.Delete(ctx, key); err != nil {
		return err
	}
	if _, err := st.cache.Delete(ctx, KeyPrefix+key); err != nil && !errors.Is(err, cachestore.ErrInvalidKey) {
		return fmt.Errorf("cacheddb: delete: %w", err)
	}
	return nil
}

// ClearExpired implements djangosession.Store: the database only.
func (st *Store) ClearExpired(ctx context.Context) error { return st.db.ClearExpired(ctx) }

var _ djangosession.Store = (*Store)(nil)
