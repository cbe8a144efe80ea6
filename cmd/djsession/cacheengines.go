package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cacheddb"
	"github.com/djsession/djsession/djangosession/cachestore"
)

// cacheEngines returns the cache and cached_db engines for the engine
// table: SESSION_ENGINE ...backends.cache and ...backends.cached_db over
// CACHES[SESSION_CACHE_ALIAS] (PyMemcacheCache, PyLibMCCache, RedisCache;
// LOCATION a string split on ";" and "," or a list).
func cacheEngines() []engine {
	return []engine{
		{name: "cache", path: djangosession.EngineCache, open: openCache},
		{name: "cached_db", path: djangosession.EngineCachedDB, open: openCachedDB},
	}
}

// cacheBackendNames is the capabilities "cache_backends" list, in the
// protocol's short names.
func cacheBackendNames() []string { return []string{"pymemcache", "pylibmc", "redis"} }

// openSessionCache opens CACHES[SESSION_CACHE_ALIAS]; a backend this build
// does not implement (or RedisCache for a 3.2 target, which has none) is
// "unsupported" (exit 3).
func openSessionCache(s *djangosession.Settings) (cachestore.Cache, error) {
	alias := s.SessionCacheAlias
	if alias == "" {
		alias = djangosession.DefaultSessionCacheAlias
	}
	c, ok := s.Caches[alias]
	if !ok && alias == djangosession.DefaultSessionCacheAlias && len(s.Caches) == 0 {
		// Django's default CACHES is a LocMemCache: memory of one process,
		// which no other process (Django or this CLI) can share.
		return nil, unsupportedf("SESSION_ENGINE %s without CACHES means Django's per-process LocMemCache (backends: %v)", s.SessionEngine, cachestore.Backends())
	}
	if !ok {
		return nil, fmt.Errorf("SESSION_ENGINE %s needs CACHES[%q]", s.SessionEngine, alias)
	}
	if c.Backend == cachestore.BackendRedis && !s.Version().AtLeast(4, 0) {
		return nil, unsupportedf("RedisCache needs Django >= 4.0 (TARGET_DJANGO_VERSION is %s)", s.Version())
	}
	cache, err := cachestore.Open(c)
	if errors.Is(err, cachestore.ErrUnsupportedBackend) {
		return nil, unsupportedf("%v", err)
	}
	return cache, err
}

func openCache(ctx context.Context, e *env, s *djangosession.Settings) (*openStore, error) {
	c, err := openSessionCache(s)
	if err != nil {
		return nil, err
	}
	st, err := cachestore.New(s, cachestore.WithCache(c))
	if err != nil {
		c.Close()
		return nil, err
	}
	return &openStore{store: st, close: c.Close}, nil
}

func openCachedDB(ctx context.Context, e *env, s *djangosession.Settings) (*openStore, error) {
	c, err := openSessionCache(s)
	if err != nil {
		return nil, err
	}
	dbo, err := openDB(ctx, e, s)
	if err != nil {
		c.Close()
		return nil, err
	}
	st, err := cacheddb.New(dbo.db, c, s, cacheddb.WithLogger(e.logger()))
	if err != nil {
		dbo.close()
		c.Close()
		return nil, err
	}
	var store djangosession.Store = st
	if vs, ok := dbo.store.(*verdictStore); ok {
		store = &cachedDBStore{Store: st, codec: vs.codec}
	}
	return &openStore{store: store, db: dbo.db, close: func() error {
		return errors.Join(dbo.close(), c.Close())
	}}, nil
}

// cachedDBStore is the cached_db engine with the db engine's verdictCodec at
// hand: read reports a row that did not verify as not existing, as the
// Django peer does, while a cache hit (Django's trusted copy, even the {}
// cached after such a row) exists.
type cachedDBStore struct {
	*cacheddb.Store
	codec *verdictCodec
}
