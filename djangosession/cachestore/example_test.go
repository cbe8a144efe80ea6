package cachestore_test

import (
	"fmt"
	"github.com/djsession/djsession/djangosession"

	"github.com/djsession/djsession/djangosession/cachestore"
)

// The server a pymemcache or pylibmc client picks for a key among three.
func ExampleMemcached_Server() {
	servers := []string{"127.0.0.1:11212", "127.0.0.1:11213", "127.0.0.1:11214"}
	key := ":1:django.contrib.sessions.cache2hafcfgwpbbbw43jflha65pe83ef6cr9"
	for _, f := range []cachestore.Flavor{cachestore.FlavorPyMemcache, cachestore.FlavorPyLibMC} {
		m, err := cachestore.NewMemcached(cachestore.MemcachedConfig{Flavor: f, Servers: servers, Version: 1})
		if err != nil {
			panic(err)
		}
		_, name := m.Server(key)
		fmt.Println(name)
	}
	// Output:
	// 127.0.0.1:11214
	// 127.0.0.1:11212
}

// Django's default KEY_FUNCTION.
func ExampleNewKeyFunc() {
	key := cachestore.NewKeyFunc("speca", 7)
	fmt.Println(key(cachestore.KeyPrefix + "abcdefgh12345678"))
	// Output: speca:7:django.contrib.sessions.cacheabcdefgh12345678
}

// LOCATION strings are split on ";" and ",".
func ExampleLocations() {
	l, _ := cachestore.Locations("127.0.0.1:11211;127.0.0.1:11212,127.0.0.1:11213")
	fmt.Println(len(l), l[2])
	// Output: 3 127.0.0.1:11213
}

// The cache session engine from settings; errors.Is(err,
// djangosession.ErrUnavailable) on a Load error tells an outage from a miss.
func ExampleNew() {
	s, err := djangosession.LoadSettings([]byte(`{
		"SECRET_KEY": "change me",
		"SESSION_ENGINE": "django.contrib.sessions.backends.cache",
		"CACHES": {"default": {
			"BACKEND": "django.core.cache.backends.redis.RedisCache",
			"LOCATION": "redis://127.0.0.1:6379/1"}}}`))
	if err != nil {
		panic(err)
	}
	st, err := cachestore.New(s)
	if err != nil {
		panic(err)
	}
	defer st.Close()
	fmt.Println(st.Cache().MakeKey(st.CacheKey("abc12345")))
	// Output: :1:django.contrib.sessions.cacheabc12345
}
