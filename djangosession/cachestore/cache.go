package cachestore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/djsession/djsession/djangosession"
)

// Cache is the part of Django's cache API (django.core.cache) the session
// engines use. Keys are Django-level keys: the cache applies its
// KEY_FUNCTION (KEY_PREFIX:VERSION:key) itself. Timeouts are seconds as
// Django's session engines pass them (get_expiry_age()); each backend turns
// them into its own expiry exactly as Django's backend does. Failures of
// the server wrap djangosession.ErrUnavailable.
type Cache interface {
	// Get returns the value stored under key and whether there was one.
	Get(ctx context.Context, key string) (value any, found bool, err error)
	// HasKey reports whether key is stored.
	HasKey(ctx context.Context, key string) (bool, error)
	// Add stores value only if key is absent and reports whether it did.
	Add(ctx context.Context, key string, value any, timeout int64) (bool, error)
	// Set stores value under key.
	Set(ctx context.Context, key string, value any, timeout int64) error
	// Delete removes key and reports whether it existed.
	Delete(ctx context.Context, key string) (bool, error)
	// MakeKey returns the key actually stored for key (KEY_FUNCTION).
	MakeKey(key string) string
	// Close releases the connections.
	Close() error
}

// ErrInvalidKey: a key memcached cannot store (longer than 250 bytes, or
// with spaces or control characters). It wraps djangosession.ErrInvalidKey.
var ErrInvalidKey = fmt.Errorf("cachestore: invalid memcached key: %w", djangosession.ErrInvalidKey)

// ErrUnsupportedBackend: a CACHES BACKEND this package does not implement
// (LocMemCache, FileBasedCache, DatabaseCache, DummyCache, custom ones).
var ErrUnsupportedBackend = fmt.Errorf("cachestore: unsupported cache backend: %w", djangosession.ErrUnsupported)

// Django's cache BACKEND paths this package implements.
const (
	BackendPyMemcache = "django.core.cache.backends.memcached.PyMemcacheCache"
	BackendPyLibMC    = "django.core.cache.backends.memcached.PyLibMCCache"
	BackendRedis      = "django.core.cache.backends.redis.RedisCache"
)

// Backends lists the BACKEND values Open accepts.
func Backends() []string { return []string{BackendPyMemcache, BackendPyLibMC, BackendRedis} }

// KeyFunc is Django's KEY_FUNCTION: Django-level key to stored key.
type KeyFunc func(key string) string

// NewKeyFunc returns Django's default_key_func for KEY_PREFIX and VERSION:
// "%s:%s:%s" % (prefix, version, key). Django's default VERSION is 1.
func NewKeyFunc(prefix string, version int) KeyFunc {
	head := prefix + ":" + strconv.Itoa(version) + ":"
	return func(key string) string { return head + key }
}

var locationSplit = regexp.MustCompile("[;,]")

// Locations returns a CACHES LOCATION as Django's backends read it: a list
// as is, a string split on ";" and ",". Surrounding spaces are trimmed and
// empty entries dropped.
func Locations(location any) ([]string, error) {
	var raw []string
	switch x := location.(type) {
	case nil:
		return nil, nil
	case string:
		raw = locationSplit.Split(x, -1)
	case []string:
		raw = x
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("cachestore: LOCATION entries must be strings, not %T", e)
			}
			raw = append(raw, s)
		}
	default:
		return nil, fmt.Errorf("cachestore: LOCATION must be a string or a list, not %T", location)
	}
	var out []string
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// OpenOption configures Open.
type OpenOption func(*openConfig)

type openConfig struct {
	now func() time.Time
}

// WithOpenClock sets the clock the memcached backends use for absolute
// expiry times (timeouts over 30 days).
func WithOpenClock(now func() time.Time) OpenOption {
	return func(c *openConfig) { c.now = now }
}

// Open returns the Cache that a CACHES entry describes. It connects lazily.
func Open(c djangosession.Cache, opts ...OpenOption) (Cache, error) {
	var oc openConfig
	for _, o := range opts {
		o(&oc)
	}
	locs, err := Locations(c.Location)
	if err != nil {
		return nil, err
	}
	version := 1
	if c.Version != nil {
		version = *c.Version
	}
	if err := checkBehaviors(c); err != nil {
		return nil, err
	}
	switch c.Backend {
	case BackendPyMemcache, BackendPyLibMC:
		f := FlavorPyMemcache
		if c.Backend == BackendPyLibMC {
			f = FlavorPyLibMC
		}
		if len(locs) == 0 {
			locs = []string{"127.0.0.1:11211"}
		}
		return NewMemcached(MemcachedConfig{Flavor: f, Servers: locs, KeyPrefix: c.KeyPrefix, Version: version, Now: oc.now})
	case BackendRedis:
		if len(locs) == 0 {
			return nil, errors.New("cachestore: RedisCache needs a LOCATION")
		}
		return NewRedis(RedisConfig{Servers: locs, KeyPrefix: c.KeyPrefix, Version: version})
	}
	return nil, fmt.Errorf("%w: %q (supported: %s)", ErrUnsupportedBackend, c.Backend, strings.Join(Backends(), ", "))
}

// OpenAlias opens CACHES[alias] of s.
func OpenAlias(s *djangosession.Settings, alias string, opts ...OpenOption) (Cache, error) {
	c, ok := s.Caches[alias]
	if !ok {
		return nil, fmt.Errorf("cachestore: CACHES has no %q entry", alias)
	}
	return Open(c, opts...)
}

// checkBehaviors refuses pylibmc OPTIONS["behaviors"] that move keys to
// other servers than libmemcached's default one-at-a-time modula
// distribution would (ketama, another hash or distribution): placing keys
// differently from Django would silently lose sessions.
func checkBehaviors(c djangosession.Cache) error {
	if c.Backend != BackendPyLibMC {
		return nil
	}
	b, _ := c.Options["behaviors"].(map[string]any)
	for k, v := range b {
		ok := true
		switch k {
		case "ketama", "ketama_weighted", "ketama_hash", "_hash_with_prefix_key", "num_replicas":
			ok = v == nil || v == false || v == float64(0) || v == int64(0) || v == 0
		case "hash":
			ok = v == "default"
		case "distribution":
			ok = v == "modula"
		}
		if !ok {
			return fmt.Errorf("%w: PyLibMCCache behaviors %s=%v change key placement (only hash \"default\" with modula distribution is implemented)", ErrUnsupportedBackend, k, v)
		}
	}
	return nil
}
