package cachestore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
)

// KeyPrefix is the cache engine's key prefix (cache_key_prefix of
// django.contrib.sessions.backends.cache): the Django-level cache key is
// KeyPrefix + session_key, no separator.
const KeyPrefix = "django.contrib.sessions.cache"

// LoadError is what Store.Load returns when the cache failed (server down,
// invalid memcached key, undecodable value, a value that is not a dict).
// Django treats every such failure as a miss, and so does
// djangosession.Session: errors.Is(err, djangosession.ErrNotFound) holds.
// Callers that want to tell an outage from a miss test
// errors.Is(err, djangosession.ErrUnavailable) or errors.As for *LoadError.
type LoadError struct {
	// Err is the cache's error.
	Err error
}

func (e *LoadError) Error() string {
	return "cachestore: load failed, treated as a miss: " + e.Err.Error()
}

// Unwrap returns the cache's error.
func (e *LoadError) Unwrap() error { return e.Err }

// Is makes a LoadError count as djangosession.ErrNotFound.
func (e *LoadError) Is(target error) bool { return target == djangosession.ErrNotFound }

// Store is Django's "cache" session engine
// (django.contrib.sessions.backends.cache): the session dict itself,
// pickled by the cache client, under KEY_PREFIX:VERSION:
// django.contrib.sessions.cache<key>, with get_expiry_age() as the timeout.
// It is safe for concurrent use.
type Store struct {
	cache  Cache
	prefix string
	owned  bool
}

// Option configures New.
type Option func(*storeConfig)

type storeConfig struct {
	cache Cache
	now   func() time.Time
}

// WithCache makes the store use c instead of opening
// CACHES[SESSION_CACHE_ALIAS] (Close then leaves c open).
func WithCache(c Cache) Option { return func(sc *storeConfig) { sc.cache = c } }

// WithClock sets the clock of memcached's absolute expiry times (timeouts
// above 30 days), for a cache New opens.
func WithClock(now func() time.Time) Option { return func(sc *storeConfig) { sc.now = now } }

// New returns the cache engine for CACHES[SESSION_CACHE_ALIAS] of s.
func New(s *djangosession.Settings, opts ...Option) (*Store, error) {
	var sc storeConfig
	for _, o := range opts {
		o(&sc)
	}
	if sc.cache != nil {
		return &Store{cache: sc.cache, prefix: KeyPrefix}, nil
	}
	alias := s.SessionCacheAlias
	if alias == "" {
		alias = djangosession.DefaultSessionCacheAlias
	}
	var oo []OpenOption
	if sc.now != nil {
		oo = append(oo, WithOpenClock(sc.now))
	}
	c, err := OpenAlias(s, alias, oo...)
	if err != nil {
		return nil, err
	}
	return &Store{cache: c, prefix: KeyPrefix, owned: true}, nil
}

// Cache returns the store's cache.
func (st *Store) Cache() Cache { return st.cache }

// CacheKey returns the Django-level cache key of a session key.
func (st *Store) CacheKey(key string) string { return st.prefix + key }

// Close closes the cache if New opened it.
func (st *Store) Close() error {
	if st.owned {
		return st.cache.Close()
	}
	return nil
}

// Load implements djangosession.Store: a hit fills r.Data; a miss is
// djangosession.ErrNotFound, and so is any failure of the cache (a
// *LoadError), as in Django.
func (st *Store) Load(ctx context.Context, r *djangosession.Record) error {
	d, err := LoadDict(ctx, st.cache, st.prefix+r.Key)
	if err != nil {
		return err
	}
	r.Data = d
	return nil
}

// LoadDict is the load of the cache-based engines: get, where a failure
// of any kind is a miss (*LoadError) and an absent key is
// djangosession.ErrNotFound.
func LoadDict(ctx context.Context, c Cache, key string) (*pyvalue.Dict, error) {
	v, ok, err := c.Get(ctx, key)
	if err != nil {
		return nil, &LoadError{Err: err}
	}
	if !ok || v == nil {
		return nil, fmt.Errorf("cachestore: load: %w", djangosession.ErrNotFound)
	}
	d, isDict := v.(*pyvalue.Dict)
	if !isDict {
		// Django would hand the value to the session as its dict and fail
		// later; a value that is not a dict cannot be a session.
		return nil, &LoadError{Err: fmt.Errorf("%w: cached session is a %s, not a dict", ErrValue, pyvalue.TypeName(v))}
	}
	return d, nil
}

// Exists implements djangosession.Store (has_key). A key memcached cannot
// hold is reported absent.
func (st *Store) Exists(ctx context.Context, key string) (bool, error) {
	ok, err := st.cache.HasKey(ctx, st.prefix+key)
	if errors.Is(err, ErrInvalidKey) {
		return false, nil
	}
	return ok, err
}

// Save implements djangosession.Store: with mustCreate an add (a key
// already present is djangosession.ErrKeyExists); otherwise a get that must
// find the entry (else djangosession.ErrSessionInterrupted) then a set. The
// timeout is r.ExpiryAge. A cache failure wraps djangosession.ErrUnavailable,
// as Django raises.
func (st *Store) Save(ctx context.Context, r *djangosession.Record, mustCreate bool) error {
	k := st.prefix + r.Key
	d := r.Data
	if d == nil {
		d = pyvalue.NewDict(0)
	}
	if mustCreate {
		ok, err := st.cache.Add(ctx, k, d, r.ExpiryAge)
		if err != nil {
			return fmt.Errorf("cachestore: save: %w", err)
		}
		if !ok {
			return fmt.Errorf("cachestore: save: %w", djangosession.ErrKeyExists)
		}
		return nil
	}
	v, ok, err := st.cache.Get(ctx, k)
	if err != nil && !errors.Is(err, ErrValue) {
		return fmt.Errorf("cachestore: save: %w", err)
	}
	if err == nil && (!ok || v == nil) {
		return fmt.Errorf("cachestore: save: %w", djangosession.ErrSessionInterrupted)
	}
	if err := st.cache.Set(ctx, k, d, r.ExpiryAge); err != nil {
		return fmt.Errorf("cachestore: save: %w", err)
	}
	return nil
}

// Delete implements djangosession.Store.
func (st *Store) Delete(ctx context.Context, key string) error {
	if _, err := st.cache.Delete(ctx, st.prefix+key); err != nil {
		return fmt.Errorf("cachestore: delete: %w", err)
	}
	return nil
}

// ClearExpired implements djangosession.Store: a no-op, as in Django (the
// cache expires entries itself).
func (st *Store) ClearExpired(ctx context.Context) error { return nil }

var _ djangosession.Store = (*Store)(nil)
