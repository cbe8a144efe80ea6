package dbstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	_ "github.com/mattn/go-sqlite3"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/dbstore"
)

// A Go service sharing Django's django_session table in SQLite: create the
// table if Django has not, then use sessions as request.session would.
func Example() {
	dir, _ := os.MkdirTemp("", "dbstore-example")
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite3", filepath.Join(dir, "db.sqlite3"))
	if err != nil {
		panic(err)
	}
	defer db.Close()

	settings, err := djangosession.LoadSettings([]byte(`{"SECRET_KEY": "django-insecure-example", "USE_TZ": true}`))
	if err != nil {
		panic(err)
	}
	store, err := dbstore.New(db, dbstore.SQLite, settings)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if err := store.Migrate(ctx); err != nil { // idempotent
		panic(err)
	}

	m, err := djangosession.NewManager(store, settings)
	if err != nil {
		panic(err)
	}
	s := m.Session("") // no cookie yet
	_ = s.Set(ctx, "cart", int64(3))
	if err := s.Save(ctx); err != nil {
		panic(err)
	}

	again := m.Session(s.Key()) // the next request, with the cookie
	n, _ := again.GetInt64(ctx, "cart")
	fmt.Println(len(s.Key()), n)
	// Output: 32 3
}

// Printing the DDL Django's migration sessions.0001_initial runs.
func ExampleStore_DDL() {
	settings, _ := djangosession.LoadSettings([]byte(`{"SECRET_KEY": "x"}`))
	store, _ := dbstore.New(&sql.DB{}, dbstore.Postgres, settings)
	for _, stmt := range store.DDL() {
		fmt.Println(stmt)
	}
	// Output:
	// CREATE TABLE "django_session" ("session_key" varchar(40) NOT NULL PRIMARY KEY, "session_data" text NOT NULL, "expire_date" timestamp with time zone NOT NULL)
	// CREATE INDEX "django_session_session_key_c0390e0f_like" ON "django_session" ("session_key" varchar_pattern_ops)
	// CREATE INDEX "django_session_expire_date_a5c62663" ON "django_session" ("expire_date")
}
