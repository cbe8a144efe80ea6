package main

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/djsession/djsession/djangosession"
)

// Django database ENGINE values and the SQL drivers this binary uses for
// them. The library imports no driver; the CLI registers these three.
const (
	djangoSQLite     = "django.db.backends.sqlite3"
	djangoPostgreSQL = "django.db.backends.postgresql"
	djangoMySQL      = "django.db.backends.mysql"
)

// sqlTarget is how to open one Django database from Go.
type sqlTarget struct {
	vendor string // "sqlite", "postgresql", "mysql" (as in capabilities)
	driver string // database/sql driver name
	dsn    string
}

// sqlTargetFor maps a DATABASES entry to a driver and DSN, the way Django's
// backends interpret the same entry.
func sqlTargetFor(db djangosession.Database) (sqlTarget, error) {
	port, err := portString(db.Port)
	if err != nil {
		return sqlTarget{}, err
	}
	switch db.Engine {
	case djangoSQLite, "django.contrib.gis.db.backends.spatialite":
		if db.Name == "" {
			return sqlTarget{}, fmt.Errorf("DATABASES.default.NAME (the SQLite file) is empty")
		}
		return sqlTarget{vendor: "sqlite", driver: "sqlite3", dsn: sqliteDSN(db.Name)}, nil
	case djangoPostgreSQL, "django.db.backends.postgresql_psycopg2", "django.contrib.gis.db.backends.postgis":
		return sqlTarget{vendor: "postgresql", driver: "pgx", dsn: postgresDSN(db, port)}, nil
	case djangoMySQL, "django.contrib.gis.db.backends.mysql":
		return sqlTarget{vendor: "mysql", driver: "mysql", dsn: mysqlDSN(db, port)}, nil
	case "":
		return sqlTarget{}, fmt.Errorf("DATABASES.default.ENGINE is not set")
	}
	return sqlTarget{}, &unsupportedError{fmt.Sprintf("database ENGINE %q is not supported (sqlite3, postgresql, mysql are)", db.Engine)}
}

// portString accepts PORT as Django does: "" / absent, a string, or an int.
func portString(p any) (string, error) {
	switch x := p.(type) {
	case nil:
		return "", nil
	case string:
		x = strings.TrimSpace(x)
		if x == "" {
			return "", nil
		}
		if _, err := strconv.ParseUint(x, 10, 16); err != nil {
			return "", fmt.Errorf("DATABASES.default.PORT %q is not a port number", x)
		}
		return x, nil
	case float64: // encoding/json's number
		if x != float64(int(x)) || x < 0 || x > 65535 {
			return "", fmt.Errorf("DATABASES.default.PORT %v is not a port number", x)
		}
		return strconv.Itoa(int(x)), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	}
	return "", fmt.Errorf("DATABASES.default.PORT has type %T", p)
}

// sqliteDSN opens NAME as an SQLite URI so that any file name (with '?',
// '#' or '%' in it) names that file, and waits for locks a Django process
// holds instead of failing at once.
func sqliteDSN(name string) string {
	if name == ":memory:" {
		return name
	}
	u := url.URL{Scheme: "file", Opaque: escapeSQLitePath(name)}
	return u.String() + "?_busy_timeout=10000"
}

func escapeSQLitePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '?', '#', '%':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// pgOptionKeys are the OPTIONS entries that are libpq connection
// parameters (Django hands OPTIONS to psycopg as such).
var pgOptionKeys = map[string]bool{
	"sslmode": true, "sslrootcert": true, "sslcert": true, "sslkey": true, "sslpassword": true,
	"application_name": true, "connect_timeout": true, "options": true,
	"target_session_attrs": true, "passfile": true, "service": true,
}

// postgresDSN builds a libpq keyword/value string, which (unlike a URL)
// takes a Unix-socket directory as HOST unchanged.
func postgresDSN(db djangosession.Database, port string) string {
	kv := map[string]string{}
	if db.Host != "" {
		kv["host"] = db.Host
	}
	if port != "" {
		kv["port"] = port
	}
	if db.User != "" {
		kv["user"] = db.User
	}
	if db.Password != "" {
		kv["password"] = db.Password
	}
	name := db.Name
	if name == "" {
		name = "postgres"
	}
	kv["dbname"] = name
	for k, v := range db.Options {
		if pgOptionKeys[k] {
			kv[k] = fmt.Sprint(v)
		}
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+pgQuote(kv[k]))
	}
	return strings.Join(parts, " ")
}

func pgQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, ` '\`) {
		return s
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// mysqlDSN follows mysqlclient: a HOST starting with "/" is a Unix socket,
// OPTIONS may name unix_socket and charset.
func mysqlDSN(db djangosession.Database, port string) string {
	c := mysql.NewConfig()
	c.User = db.User
	c.Passwd = db.Password
	c.DBName = db.Name
	host := db.Host
	if s, ok := db.Options["unix_socket"].(string); ok && s != "" {
		host = s
	}
	switch {
	case strings.HasPrefix(host, "/"):
		c.Net, c.Addr = "unix", host
	default:
		if host == "" {
			host = "localhost"
		}
		if port == "" {
			port = "3306"
		}
		c.Net, c.Addr = "tcp", net.JoinHostPort(host, port)
	}
	charset := "utf8mb4"
	if s, ok := db.Options["charset"].(string); ok && s != "" {
		charset = s
	}
	c.Params = map[string]string{"charset": charset}
	return c.FormatDSN()
}
