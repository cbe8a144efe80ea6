package main

import (
	"os"
	"strings"
	"testing"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/testenv"
)

func TestSQLTargetFor(t *testing.T) {
	tests := []struct {
		name string
		db   djangosession.Database
		want sqlTarget
	}{
		{"sqlite", djangosession.Database{Engine: djangoSQLite, Name: "/tmp/a?b#c%d.db"},
			sqlTarget{"sqlite", "sqlite3", "file:/tmp/a%3Fb%23c%25d.db?_busy_timeout=10000"}},
		{"postgres tcp, int port", djangosession.Database{Engine: djangoPostgreSQL, Name: "app", Host: "db.example", Port: float64(5433), User: "u", Password: "p w'\\"},
			sqlTarget{"postgresql", "pgx", `dbname=app host=db.example password='p w\'\\' port=5433 user=u`}},
		{"postgres socket dir, string port", djangosession.Database{Engine: djangoPostgreSQL, Name: "app", Host: "/var/run/postgresql", Port: "5432",
			Options: map[string]any{"sslmode": "disable", "isolation_level": 1}},
			sqlTarget{"postgresql", "pgx", "dbname=app host=/var/run/postgresql port=5432 sslmode=disable"}},
		{"postgres defaults", djangosession.Database{Engine: "django.db.backends.postgresql_psycopg2"},
			sqlTarget{"postgresql", "pgx", "dbname=postgres"}},
		{"mysql tcp", djangosession.Database{Engine: djangoMySQL, Name: "app", Host: "127.0.0.1", Port: int64(3307), User: "root"},
			sqlTarget{"mysql", "mysql", "root@tcp(127.0.0.1:3307)/app?charset=utf8mb4"}},
		{"mysql socket", djangosession.Database{Engine: djangoMySQL, Name: "app", Host: "/run/mysqld/mysqld.sock", User: "root"},
			sqlTarget{"mysql", "mysql", "root@unix(/run/mysqld/mysqld.sock)/app?charset=utf8mb4"}},
		{"mysql unix_socket option", djangosession.Database{Engine: djangoMySQL, Name: "app", User: "root", Options: map[string]any{"unix_socket": "/s.sock", "charset": "utf8"}},
			sqlTarget{"mysql", "mysql", "root@unix(/s.sock)/app?charset=utf8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sqlTargetFor(tt.db)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	for _, bad := range []djangosession.Database{
		{Engine: "django.db.backends.oracle", Name: "x"},
		{Engine: "", Name: "x"},
		{Engine: djangoSQLite},
		{Engine: djangoPostgreSQL, Port: "http"},
		{Engine: djangoPostgreSQL, Port: float64(70000)},
	} {
		if _, err := sqlTargetFor(bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	// Oracle is a deliberate non-goal: exit 3.
	cfg := map[string]any{"SECRET_KEY": "k", "DATABASES": map[string]any{"default": map[string]any{"ENGINE": "django.db.backends.oracle", "NAME": "x"}}}
	if r := goRun(t, cfg, "migrate", nil, nil); r.RC != exitUnsupported {
		t.Errorf("oracle migrate: rc %d %s", r.RC, r.Stdout)
	}
}

// TestPostgresUnixSocket reaches PostgreSQL through its socket directory,
// as a Django HOST of "/var/run/postgresql" does.
func TestPostgresUnixSocket(t *testing.T) {
	const dir = "/var/run/postgresql"
	if _, err := os.Stat(dir + "/.s.PGSQL.5432"); err != nil {
		testenv.Need(t, "a PostgreSQL socket in "+dir)
	}
	p := testenv.PostgresParams(t)
	db := p.Django()
	db["HOST"], db["PORT"] = dir, ""
	cfg := map[string]any{"SECRET_KEY": testSecret, "DATABASES": map[string]any{"default": db}}
	if r := goRun(t, cfg, "migrate", nil, nil); r.RC != 0 {
		t.Fatalf("migrate over the socket: %s %s", r.Stdout, r.Stderr)
	}
	key := str(t, parse(t, goRun(t, cfg, "write", nil, `{"data":{"via":"socket"}}`)), "session_key")
	if r := goRun(t, cfg, "read", []string{key}, nil); !strings.Contains(string(r.Stdout), `"data":{"via":"socket"}`) {
		t.Fatalf("read over the socket: %s", r.Stdout)
	}
}
