package dbstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/lib/pq"
	_ "github.com/mattn/go-sqlite3"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/testenv"
)

// backend is one database + driver combination the tests run against.
type backend struct {
	name    string // sqlite, pq, pgx, mysql
	dialect Dialect
	driver  string
}

var allBackends = []backend{
	{"sqlite", SQLite, "sqlite3"},
	{"pq", Postgres, "postgres"},
	{"pgx", Postgres, "pgx"},
	{"mysql", MySQL, "mysql"},
}

// backendsFor returns the backends of a Django engine name.
func backendsFor(engine string) []backend {
	var out []backend
	for _, b := range allBackends {
		if b.dialect.String() == engine {
			out = append(out, b)
		}
	}
	return out
}

// testDB is a fresh database on a backend.
type testDB struct {
	backend
	db *sql.DB
	// django is the DATABASES["default"] entry for the Python peer.
	django map[string]any
	dsn    string
}

// openDB creates a fresh, empty database on b: an SQLite file in a temp
// dir, or a new database on the PostgreSQL/MariaDB server.
func openDB(tb testing.TB, b backend) *testDB {
	tb.Helper()
	t := &testDB{backend: b}
	switch b.dialect {
	case SQLite:
		path := filepath.Join(tb.TempDir(), "db.sqlite3")
		// busy_timeout: concurrent writers wait for the lock as Django's
		// default (5 s) does, instead of failing at once.
		t.dsn = "file:" + path + "?_busy_timeout=10000&_journal_mode=WAL"
		t.django = map[string]any{"ENGINE": "django.db.backends.sqlite3", "NAME": path}
	case Postgres:
		p := testenv.PostgresParams(tb)
		t.dsn, t.django = p.DSN(), p.Django()
	case MySQL:
		p := testenv.MySQLParams(tb)
		t.dsn, t.django = p.DSN(), p.Django()
	}
	db, err := sql.Open(b.driver, t.dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.PingContext(context.Background()); err != nil {
		testenv.Need(tb, b.name+" ("+err.Error()+")")
	}
	// A bounded pool, as a real service has: the servers are shared with
	// other packages' tests running at the same time.
	db.SetMaxOpenConns(16)
	t.db = db
	return t
}

// settings builds Settings from Django setting names.
func settings(tb testing.TB, kv map[string]any) *djangosession.Settings {
	tb.Helper()
	m := map[string]any{"SECRET_KEY": "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"}
	for k, v := range kv {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := djangosession.LoadSettings(b)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// newStore builds a store over t with the settings and migrates it.
func newStore(tb testing.TB, t *testDB, s *djangosession.Settings, opts ...Option) *Store {
	tb.Helper()
	st, err := New(t.db, t.dialect, s, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return st
}

// rawRow is a row as stored, expire_date as text: SQLite's TEXT, MySQL's
// CAST(... AS CHAR), PostgreSQL's instant as UTC text.
type rawRow struct {
	Key, Data, Exp string
}

func (t *testDB) expireText() string {
	switch t.dialect {
	case SQLite:
		return `CAST("expire_date" AS TEXT)`
	case MySQL:
		return "CAST(`expire_date` AS CHAR)"
	}
	return `("expire_date" AT TIME ZONE 'UTC')::text`
}

// rows returns the table's rows ordered by key.
func (t *testDB) rows(tb testing.TB, table string) []rawRow {
	tb.Helper()
	q := t.dialect.quote
	rs, err := t.db.Query("SELECT " + q("session_key") + ", " + q("session_data") + ", " + t.expireText() +
		" FROM " + q(table) + " ORDER BY " + q("session_key"))
	if err != nil {
		tb.Fatal(err)
	}
	defer rs.Close()
	var out []rawRow
	for rs.Next() {
		var r rawRow
		if err := rs.Scan(&r.Key, &r.Data, &r.Exp); err != nil {
			tb.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		tb.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// row returns the row for key, and whether there is one.
func (t *testDB) row(tb testing.TB, table, key string) (rawRow, bool) {
	tb.Helper()
	for _, r := range t.rows(tb, table) {
		if r.Key == key {
			return r, true
		}
	}
	return rawRow{}, false
}

// insertRaw stores a row with expire_date given as text: bound as is on
// SQLite and MySQL, as a UTC instant on PostgreSQL.
func (t *testDB) insertRaw(tb testing.TB, table, key, data, exp string) {
	tb.Helper()
	q, ph := t.dialect.quote, t.dialect.ph
	e := ph(3)
	if t.dialect == Postgres {
		e = "(" + ph(3) + "::timestamp AT TIME ZONE 'UTC')"
	}
	if _, err := t.db.Exec("INSERT INTO "+q(table)+" ("+q("session_key")+", "+q("session_data")+", "+q("expire_date")+
		") VALUES ("+ph(1)+", "+ph(2)+", "+e+")", key, data, exp); err != nil {
		tb.Fatal(err)
	}
}

// exec runs a statement or fails.
func (t *testDB) exec(tb testing.TB, query string, args ...any) {
	tb.Helper()
	if _, err := t.db.Exec(query, args...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

// frozen returns a clock stopped at t.
func frozen(t time.Time) func() time.Time { return func() time.Time { return t } }

// storedInstant parses a rawRow.Exp back to an instant: naive text in loc.
func storedInstant(tb testing.TB, t *testDB, exp string, loc *time.Location) time.Time {
	tb.Helper()
	if t.dialect == Postgres {
		loc = time.UTC
	}
	v, err := time.ParseInLocation("2006-01-02 15:04:05.999999", exp, loc)
	if err != nil {
		tb.Fatalf("stored expire_date %q: %v", exp, err)
	}
	return v
}

func itoa(i int) string { return strconv.Itoa(i) }
