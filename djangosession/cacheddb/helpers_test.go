package cacheddb

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"

	_ "github.com/lib/pq"
	_ "github.com/mattn/go-sqlite3"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cachestore"
	"github.com/djsession/djsession/djangosession/dbstore"
	"github.com/djsession/djsession/internal/testenv"
	"github.com/djsession/djsession/pickle_compat"
)

// testDB is a fresh database with its DATABASES entry for the peer.
type testDB struct {
	name    string
	dialect dbstore.Dialect
	db      *sql.DB
	django  map[string]any
}

func openDB(t *testing.T, name string) *testDB { return openDBTB(t, name) }

// openDBB is an SQLite database for benchmarks.
func openDBB(b *testing.B) *testDB { return openDBTB(b, "sqlite") }

func openDBTB(t testing.TB, name string) *testDB {
	t.Helper()
	tdb := &testDB{name: name}
	var driver, dsn string
	switch name {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "db.sqlite3")
		driver, dsn, tdb.dialect = "sqlite3", "file:"+path+"?_busy_timeout=10000&_journal_mode=WAL", dbstore.SQLite
		tdb.django = map[string]any{"ENGINE": "django.db.backends.sqlite3", "NAME": path}
	case "postgresql":
		p := testenv.PostgresParams(t)
		driver, dsn, tdb.dialect = "postgres", p.DSN(), dbstore.Postgres
		tdb.django = p.Django()
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		testenv.Need(t, name+" ("+err.Error()+")")
	}
	db.SetMaxOpenConns(4)
	tdb.db = db
	return tdb
}

func loadSettings(t testing.TB, kv map[string]any) *djangosession.Settings {
	t.Helper()
	b, err := json.Marshal(kv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := djangosession.LoadSettings(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newStores builds the db engine (migrated) and the cached_db engine.
func newStores(t testing.TB, tdb *testDB, s *djangosession.Settings, opts ...Option) (*Store, *dbstore.Store) {
	t.Helper()
	dbs, err := dbstore.New(tdb.db, tdb.dialect, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dbs.Close() })
	if err := dbs.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := cachestore.OpenAlias(s, s.SessionCacheAlias)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	st, err := New(dbs, c, s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return st, dbs
}

func pickleLoads(b []byte) (any, error) { return pickle_compat.Loads(b) }
