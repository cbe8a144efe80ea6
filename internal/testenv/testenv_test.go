package testenv

import (
	"context"
	"database/sql"
	"net"
	"strings"
	"testing"
	"time"
)

func TestPostgres(t *testing.T) {
	p := PostgresParams(t)
	if !strings.HasPrefix(p.Name, "djs_") || p.Schema == "" {
		t.Fatalf("database %q schema %q", p.Name, p.Schema)
	}
	db, err := sql.Open("pgx", p.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name, schema string
	if err := db.QueryRowContext(context.Background(), "SELECT current_database(), current_schema()").Scan(&name, &schema); err != nil {
		t.Fatal(err)
	}
	if name != p.Name || schema != p.Schema {
		t.Fatalf("connected to %q/%q, want %q/%q", name, schema, p.Name, p.Schema)
	}
	if _, err := db.Exec("CREATE TABLE django_session (k int)"); err != nil {
		t.Fatal(err)
	}
	if got := p.Django()["ENGINE"]; got != "django.db.backends.postgresql" {
		t.Fatalf("Django ENGINE = %v", got)
	}
}

func TestMySQL(t *testing.T) {
	p := MySQLParams(t)
	db, err := sql.Open("mysql", p.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.QueryRowContext(context.Background(), "SELECT DATABASE()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != p.Name {
		t.Fatalf("connected to %q, want %q", name, p.Name)
	}
}

func TestTwoSchemasDiffer(t *testing.T) {
	a, b := PostgresParams(t), PostgresParams(t)
	if a.Schema == b.Schema {
		t.Fatalf("two calls gave the same schema %q", a.Schema)
	}
	for _, p := range []Params{a, b} {
		db, err := sql.Open("pgx", p.DSN())
		if err != nil {
			t.Fatal(err)
		}
		// The same table name in both: isolated.
		if _, err := db.Exec("CREATE TABLE django_session (k int)"); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}

func TestPostgresDatabase(t *testing.T) {
	p := PostgresDatabase(t)
	db, err := sql.Open("pgx", p.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.QueryRow("SELECT current_database()").Scan(&name); err != nil || name != p.Name {
		t.Fatalf("connected to %q (%v), want %q", name, err, p.Name)
	}
}

func dialCheck(t *testing.T, addr, send, wantPrefix string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(send)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(buf[:n]), wantPrefix) {
		t.Fatalf("%s answered %q, want prefix %q", addr, buf[:n], wantPrefix)
	}
}

func TestMemcached(t *testing.T) {
	addr := Memcached(t)
	dialCheck(t, addr, "version\r\n", "VERSION ")
}

func TestRedis(t *testing.T) {
	addr, db := Redis(t)
	if db != 0 {
		t.Fatalf("db = %d", db)
	}
	dialCheck(t, addr, "PING\r\n", "+PONG")
}
