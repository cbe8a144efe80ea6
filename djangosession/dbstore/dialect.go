package dbstore

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
)

// Dialect is the SQL dialect of the database behind the *sql.DB. It decides
// placeholders, identifier quoting, the DDL and how expire_date is bound.
type Dialect int

// The supported dialects, matching Django's built-in database backends.
const (
	// Postgres is django.db.backends.postgresql (lib/pq, pgx stdlib).
	Postgres Dialect = iota + 1
	// SQLite is django.db.backends.sqlite3 (mattn/go-sqlite3 and others).
	SQLite
	// MySQL is django.db.backends.mysql, MySQL or MariaDB
	// (go-sql-driver/mysql).
	MySQL
)

// String returns the dialect's Django backend name.
func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgresql"
	case SQLite:
		return "sqlite"
	case MySQL:
		return "mysql"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// ParseDialect maps a Django ENGINE ("django.db.backends.postgresql") or a
// short name ("postgres", "postgresql", "sqlite", "sqlite3", "mysql") to a
// Dialect.
func ParseDialect(s string) (Dialect, error) {
	switch strings.TrimPrefix(strings.ToLower(s), "django.db.backends.") {
	case "postgresql", "postgres", "postgresql_psycopg2", "pgx", "pq":
		return Postgres, nil
	case "sqlite", "sqlite3":
		return SQLite, nil
	case "mysql", "mariadb":
		return MySQL, nil
	}
	return 0, fmt.Errorf("dbstore: unknown database dialect %q", s)
}

func (d Dialect) valid() bool { return d >= Postgres && d <= MySQL }

// quote quotes an identifier the way Django's quote_name does.
func (d Dialect) quote(ident string) string {
	if d == MySQL {
		return "`" + strings.ReplaceAll(ident, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"`
}

// ph returns the n-th (1-based) bind placeholder.
func (d Dialect) ph(n int) string {
	if d == Postgres {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

// maxNameLength is Django's connection.ops.max_name_length() (None → 200).
func (d Dialect) maxNameLength() int {
	switch d {
	case Postgres:
		return 63
	case MySQL:
		return 64
	}
	return 200
}

// namesDigest is django.db.backends.utils.names_digest: the first length
// hex digits of md5 over the concatenated names.
func namesDigest(length int, names ...string) string {
	h := md5.New()
	for _, n := range names {
		h.Write([]byte(n))
	}
	return hex.EncodeToString(h.Sum(nil))[:length]
}

// indexName is BaseDatabaseSchemaEditor._create_index_name for one column,
// so a custom session table gets the index names Django would give it.
func (d Dialect) indexName(table, column, suffix string) string {
	hashSuffix := namesDigest(8, table, column) + suffix
	name := table + "_" + column + "_" + hashSuffix
	max := d.maxNameLength()
	if len(name) <= max {
		return name
	}
	if len(hashSuffix) > max/3 {
		hashSuffix = hashSuffix[:max/3]
	}
	other := (max-len(hashSuffix))/2 - 1
	t, c := table, column
	if len(t) > other {
		t = t[:other]
	}
	if len(c) > other {
		c = c[:other]
	}
	name = t + "_" + c + "_" + hashSuffix
	if name[0] == '_' || (name[0] >= '0' && name[0] <= '9') {
		name = "D" + name[:len(name)-1]
	}
	return name
}

// ddlStatement is one statement of the migration and the object it creates,
// so Migrate can skip what exists.
type ddlStatement struct {
	kind string // "table" or "index"
	name string
	sql  string
}

// ddl is the SQL of Django's sessions.0001_initial for table (as printed by
// sqlmigrate, without the trailing semicolons).
func (d Dialect) ddl(table string) []ddlStatement {
	q := d.quote
	var dataType, dateType string
	switch d {
	case Postgres:
		dataType, dateType = "text", "timestamp with time zone"
	case SQLite:
		dataType, dateType = "text", "datetime"
	case MySQL:
		dataType, dateType = "longtext", "datetime(6)"
	}
	out := []ddlStatement{{
		kind: "table", name: table,
		sql: "CREATE TABLE " + q(table) + " (" + q("session_key") + " varchar(40) NOT NULL PRIMARY KEY, " +
			q("session_data") + " " + dataType + " NOT NULL, " + q("expire_date") + " " + dateType + " NOT NULL)",
	}}
	if d == Postgres {
		like := d.indexName(table, "session_key", "_like")
		out = append(out, ddlStatement{kind: "index", name: like,
			sql: "CREATE INDEX " + q(like) + " ON " + q(table) + " (" + q("session_key") + " varchar_pattern_ops)"})
	}
	idx := d.indexName(table, "expire_date", "")
	out = append(out, ddlStatement{kind: "index", name: idx,
		sql: "CREATE INDEX " + q(idx) + " ON " + q(table) + " (" + q("expire_date") + ")"})
	return out
}

// migrationsDDL is the CREATE TABLE Django 3.2's MigrationRecorder issues
// for django_migrations.
func (d Dialect) migrationsDDL() string {
	switch d {
	case Postgres:
		return `CREATE TABLE "django_migrations" ("id" serial NOT NULL PRIMARY KEY, "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" timestamp with time zone NOT NULL)`
	case MySQL:
		return "CREATE TABLE `django_migrations` (`id` integer AUTO_INCREMENT NOT NULL PRIMARY KEY, `app` varchar(255) NOT NULL, `name` varchar(255) NOT NULL, `applied` datetime(6) NOT NULL)"
	}
	return `CREATE TABLE "django_migrations" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" datetime NOT NULL)`
}

// queries holds the statements of one Store, built once.
type queries struct {
	load, exists, insert, update, delete, clear string
}

// buildQueries builds the SQL for table. dateExpr is the expression a
// bound expire_date/now text becomes (see Store.dateExpr).
func (d Dialect) buildQueries(table string, dateExpr func(n int) string) queries {
	t := d.quote(table)
	key, data, exp := d.quote("session_key"), d.quote("session_data"), d.quote("expire_date")
	var q queries
	q.load = "SELECT " + data + ", " + exp + " FROM " + t + " WHERE " + key + " = " + d.ph(1) + " AND " + exp + " > " + dateExpr(2)
	q.exists = "SELECT 1 FROM " + t + " WHERE " + key + " = " + d.ph(1) + " LIMIT 1"
	q.insert = "INSERT INTO " + t + " (" + key + ", " + data + ", " + exp + ") VALUES (" + d.ph(1) + ", " + d.ph(2) + ", " + dateExpr(3) + ")"
	if d != MySQL {
		// A duplicate key is then "0 rows", the same on every driver,
		// instead of a driver-specific error to recognise.
		q.insert += " ON CONFLICT (" + key + ") DO NOTHING"
	}
	q.update = "UPDATE " + t + " SET " + data + " = " + d.ph(1) + ", " + exp + " = " + dateExpr(2) + " WHERE " + key + " = " + d.ph(3)
	q.delete = "DELETE FROM " + t + " WHERE " + key + " = " + d.ph(1)
	switch d {
	case MySQL:
		// MySQL cannot LIMIT a subquery used with IN, but has DELETE ... LIMIT.
		q.clear = "DELETE FROM " + t + " WHERE " + exp + " < " + dateExpr(1) + " LIMIT " + d.ph(2)
	default:
		q.clear = "DELETE FROM " + t + " WHERE " + key + " IN (SELECT " + key + " FROM " + t +
			" WHERE " + exp + " < " + dateExpr(1) + " LIMIT " + d.ph(2) + ")"
	}
	return q
}
