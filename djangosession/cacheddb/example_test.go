package cacheddb_test

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cacheddb"
	"github.com/djsession/djsession/djangosession/cachestore"
	"github.com/djsession/djsession/djangosession/dbstore"
)

// Wiring the cached_db engine from Django-style settings: the db engine on
// an open *sql.DB, the cache from CACHES[SESSION_CACHE_ALIAS].
func ExampleNew() {
	s, err := djangosession.LoadSettings([]byte(`{
		"SECRET_KEY": "change me",
		"SESSION_ENGINE": "django.contrib.sessions.backends.cached_db",
		"CACHES": {"default": {
			"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
			"LOCATION": "10.0.0.1:11211;10.0.0.2:11211"}}}`))
	if err != nil {
		panic(err)
	}
	var db *sql.DB // sql.Open("pgx", ...) in a real program
	run := func() error {
		dbs, err := dbstore.New(db, dbstore.Postgres, s)
		if err != nil {
			return err
		}
		cache, err := cachestore.OpenAlias(s, s.SessionCacheAlias)
		if err != nil {
			return err
		}
		defer cache.Close()
		st, err := cacheddb.New(dbs, cache, s)
		if err != nil {
			return err
		}
		sess, err := djangosession.New(st, s, "cookie-value-here")
		if err != nil {
			return err
		}
		v, _, err := sess.Get(context.Background(), "_auth_user_id")
		fmt.Println(v, err)
		return nil
	}
	_ = run // needs a database and memcached
	fmt.Println(cacheddb.CacheKey("abc12345"))
	// Output: django.contrib.sessions.cached_dbabc12345
}
