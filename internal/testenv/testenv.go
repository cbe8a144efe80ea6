// Package testenv gives tests real servers: fresh PostgreSQL schemas and
// databases, fresh MariaDB databases, private memcached and Redis processes. It is imported only by
// tests.
//
// When a server is missing a test is skipped, except under CI=true, where
// the project's rule is that a missing server fails the test instead (a CI
// run that silently skipped its live tests would prove nothing).
package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx" for the admin connection
)

// Default server locations; overridable with the environment variables
// DJS_PG_HOST, DJS_PG_PORT, DJS_PG_USER, DJS_MYSQL_HOST, DJS_MYSQL_PORT,
// DJS_MYSQL_USER, DJS_MYSQL_PASSWORD.
const (
	defaultPGHost    = "127.0.0.1"
	defaultPGPort    = 5432
	defaultPGUser    = "postgres"
	defaultMySQLHost = "127.0.0.1"
	defaultMySQLPort = 3306
	defaultMySQLUser = "root"

	memcachedBin = "/usr/bin/memcached"
	redisBin     = "/usr/bin/redis-server"
)

// CI reports whether the tests run under CI=true, where missing servers are
// failures rather than skips.
func CI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1" || v == "yes"
}

// Need stops the test because what (a server, a binary, the Python peer) is
// missing: tb.Fatalf under CI=true, tb.Skip otherwise.
func Need(tb testing.TB, what string) {
	tb.Helper()
	if CI() {
		tb.Fatalf("CI=true and %s is missing", what)
	}
	tb.Skipf("skipped: %s is missing", what)
}

// Params describes one database, enough to build both a Go DSN and the
// Django DATABASES entry of the Python peer pointed at the same database.
type Params struct {
	// Engine is "postgresql" or "mysql".
	Engine   string
	Host     string
	Port     int
	User     string
	Password string
	Name     string
	// Schema, when set (PostgreSQL), is the search_path the connections
	// must use.
	Schema string
}

// DSN is the data source name for the Go drivers: a postgres:// URL (both
// lib/pq and pgx accept it) or a go-sql-driver/mysql DSN.
func (p Params) DSN() string {
	switch p.Engine {
	case "mysql":
		c := mysql.NewConfig()
		c.User = p.User
		c.Passwd = p.Password
		c.Net = "tcp"
		c.Addr = net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
		c.DBName = p.Name
		return c.FormatDSN()
	default:
		userinfo := p.User
		if p.Password != "" {
			userinfo += ":" + p.Password
		}
		dsn := fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", userinfo,
			net.JoinHostPort(p.Host, strconv.Itoa(p.Port)), p.Name)
		if p.Schema != "" {
			dsn += "&search_path=" + p.Schema
		}
		return dsn
	}
}

// Django returns the entry for Django's DATABASES setting ("default").
func (p Params) Django() map[string]any {
	engine := "django.db.backends.postgresql"
	if p.Engine == "mysql" {
		engine = "django.db.backends.mysql"
	}
	m := map[string]any{
		"ENGINE":   engine,
		"NAME":     p.Name,
		"HOST":     p.Host,
		"PORT":     strconv.Itoa(p.Port),
		"USER":     p.User,
		"PASSWORD": p.Password,
	}
	if p.Schema != "" {
		m["OPTIONS"] = map[string]any{"options": "-c search_path=" + p.Schema}
	}
	return m
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envIntOr(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// RandomName returns prefix followed by 12 random lowercase hex digits.
func RandomName(prefix string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + hex.EncodeToString(b[:])
}

// Postgres returns the DSN of a fresh, empty PostgreSQL schema that is
// dropped when the test ends. See PostgresParams.
func Postgres(tb testing.TB) string {
	tb.Helper()
	return PostgresParams(tb).DSN()
}

// postgresServer is the PostgreSQL server the tests use (DJS_PG_HOST,
// DJS_PG_PORT, DJS_PG_USER), with no database chosen.
func postgresServer() Params {
	return Params{
		Engine: "postgresql",
		Host:   envOr("DJS_PG_HOST", defaultPGHost),
		Port:   envIntOr("DJS_PG_PORT", defaultPGPort),
		User:   envOr("DJS_PG_USER", defaultPGUser),
	}
}

// PostgresParams gives the test a fresh, empty place on the PostgreSQL
// server: a schema s_<random> of its own in a database djs_p<pid>_<random>
// that the test process shares. The schema is made the connection's
// search_path, by DSN() for the Go drivers (lib/pq and pgx pass it as a
// run-time parameter) and by Django()'s OPTIONS for psycopg2, so unqualified
// tables (django_session, django_migrations) live in it. A schema costs
// milliseconds; a CREATE DATABASE costs seconds on a loaded machine.
// Databases left by test processes that no longer run are dropped on the
// first call.
func PostgresParams(tb testing.TB) Params {
	tb.Helper()
	p := postgresServer()
	name, err := sharedPostgresDB(p)
	if err != nil {
		Need(tb, fmt.Sprintf("PostgreSQL at %s:%d (%v)", p.Host, p.Port, err))
	}
	p.Name = name
	db, err := sql.Open("pgx", p.DSN())
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	schema := RandomName("s_")
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA "`+schema+`"`); err != nil {
		tb.Fatalf("testenv: create PostgreSQL schema: %v", err)
	}
	// A connection the test left open inside a transaction would make the
	// DROP wait forever: bound the wait and report it instead.
	cleanupExec(tb, p.DSN(), "drop schema "+schema,
		`SET lock_timeout = '30s'`, `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
	p.Schema = schema
	return p
}

// cleanupExec runs stmts on one PostgreSQL connection to dsn when the test
// ends, reporting (not hiding) a failure to do what.
func cleanupExec(tb testing.TB, dsn, what string, stmts ...string) {
	tb.Cleanup(func() {
		a, err := sql.Open("pgx", dsn)
		if err != nil {
			tb.Errorf("testenv: %s: %v", what, err)
			return
		}
		defer a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		c, err := a.Conn(ctx)
		if err != nil {
			tb.Errorf("testenv: %s: %v", what, err)
			return
		}
		defer c.Close()
		for _, q := range stmts {
			if _, err := c.ExecContext(ctx, q); err != nil {
				tb.Errorf("testenv: %s: %v", what, err)
			}
		}
	})
}

// PostgresDatabase creates a whole fresh database djs_<random> (for tests
// that need one: ALTER DATABASE, pg_terminate_backend by database) and
// drops it, WITH (FORCE), when the test ends. It is slow (seconds) on a
// loaded machine: prefer PostgresParams.
func PostgresDatabase(tb testing.TB) Params {
	tb.Helper()
	p := postgresServer()
	p.Name = "postgres"
	admin, err := sql.Open("pgx", p.DSN())
	if err != nil {
		Need(tb, "PostgreSQL ("+err.Error()+")")
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		Need(tb, fmt.Sprintf("PostgreSQL at %s:%d (%v)", p.Host, p.Port, err))
	}
	name := RandomName("djs_")
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		tb.Fatalf("testenv: create PostgreSQL database: %v", err)
	}
	cleanupExec(tb, p.DSN(), "drop PostgreSQL database "+name,
		`DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
	p.Name = name
	return p
}

// shared is the per-process PostgreSQL database of PostgresParams.
var shared struct {
	sync.Mutex
	name string
}

func sharedPostgresDB(p Params) (string, error) {
	shared.Lock()
	defer shared.Unlock()
	if shared.name != "" {
		return shared.name, nil
	}
	p.Name = "postgres"
	admin, err := sql.Open("pgx", p.DSN())
	if err != nil {
		return "", err
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		return "", err
	}
	reapPostgres(ctx, admin)
	name := fmt.Sprintf("djs_p%d_%s", os.Getpid(), RandomName(""))
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		return "", err
	}
	shared.name = name
	return name, nil
}

// reapPostgres drops the shared databases of test processes that have
// exited (their pid is in the name; go test runs on this machine).
func reapPostgres(ctx context.Context, admin *sql.DB) {
	rows, err := admin.QueryContext(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'djs\_p%\_%'`)
	if err != nil {
		return
	}
	var dead []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		rest := strings.TrimPrefix(name, "djs_p")
		i := strings.IndexByte(rest, '_')
		if i < 0 {
			continue
		}
		pid, err := strconv.Atoi(rest[:i])
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			dead = append(dead, name)
		}
	}
	rows.Close()
	for _, name := range dead {
		_, _ = admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
	}
}

// MySQL creates a fresh database djs_<random> on the MariaDB/MySQL server
// and returns its go-sql-driver/mysql DSN; the database is dropped when
// the test ends.
func MySQL(tb testing.TB) string {
	tb.Helper()
	return MySQLParams(tb).DSN()
}

// MySQLParams is MySQL returning the database's parameters.
func MySQLParams(tb testing.TB) Params {
	tb.Helper()
	p := Params{
		Engine:   "mysql",
		Host:     envOr("DJS_MYSQL_HOST", defaultMySQLHost),
		Port:     envIntOr("DJS_MYSQL_PORT", defaultMySQLPort),
		User:     envOr("DJS_MYSQL_USER", defaultMySQLUser),
		Password: os.Getenv("DJS_MYSQL_PASSWORD"),
	}
	admin, err := sql.Open("mysql", p.DSN())
	if err != nil {
		Need(tb, "MariaDB/MySQL ("+err.Error()+")")
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		Need(tb, fmt.Sprintf("MariaDB/MySQL at %s:%d (%v)", p.Host, p.Port, err))
	}
	name := RandomName("djs_")
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4"); err != nil {
		tb.Fatalf("testenv: create MySQL database: %v", err)
	}
	adminDSN := p.DSN()
	tb.Cleanup(func() {
		a, err := sql.Open("mysql", adminDSN)
		if err != nil {
			tb.Errorf("testenv: drop MySQL database %s: %v", name, err)
			return
		}
		defer a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := a.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			tb.Errorf("testenv: drop MySQL database %s: %v", name, err)
		}
	})
	p.Name = name
	return p
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testenv: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Memcached starts a private /usr/bin/memcached on a free port and returns
// its address; the process is killed when the test ends.
func Memcached(tb testing.TB) string {
	tb.Helper()
	addr, _ := KillableMemcached(tb)
	return addr
}

// KillableMemcached is Memcached also returning a function that stops the
// server (waiting for it to exit), for tests of an outage.
func KillableMemcached(tb testing.TB) (addr string, kill func()) {
	tb.Helper()
	if _, err := os.Stat(memcachedBin); err != nil {
		Need(tb, memcachedBin)
	}
	return startServer(tb, "memcached", func(port int) *exec.Cmd {
		// -u root: memcached refuses to start as root without it.
		args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "64"}
		if os.Geteuid() == 0 {
			args = append(args, "-u", "root")
		}
		return exec.Command(memcachedBin, args...)
	})
}

// Redis starts a private redis-server on a free port (no persistence) and
// returns its address and the database number to use; the process is
// killed when the test ends. A private server, rather than the shared one
// on 6379, means tests may FLUSHDB freely.
func Redis(tb testing.TB) (addr string, db int) {
	tb.Helper()
	addr, _ = KillableRedis(tb)
	return addr, 0
}

// KillableRedis is Redis (database 0) with a function that kills the
// server before the test ends, for tests of a server that goes down.
func KillableRedis(tb testing.TB) (addr string, kill func()) {
	tb.Helper()
	if _, err := os.Stat(redisBin); err != nil {
		Need(tb, redisBin)
	}
	return startServer(tb, "redis-server", func(port int) *exec.Cmd {
		return exec.Command(redisBin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--save", "", "--appendonly", "no", "--protected-mode", "no")
	})
}

// startServer runs the command that newCmd builds for a free port until
// the port accepts connections, retrying with another port if it lost the
// race for the first one.
func startServer(tb testing.TB, name string, newCmd func(port int) *exec.Cmd) (addr string, stop func()) {
	tb.Helper()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := FreePort(tb)
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		cmd := newCmd(port)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			Need(tb, fmt.Sprintf("%s (%v)", name, err))
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case err := <-exited:
				lastErr = fmt.Errorf("%s exited: %v: %s", name, err, out.String())
				goto retry
			default:
			}
			if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
				c.Close()
				stop = sync.OnceFunc(func() {
					_ = cmd.Process.Kill()
					<-exited
				})
				tb.Cleanup(stop)
				return addr, stop
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = cmd.Process.Kill()
		<-exited
		lastErr = fmt.Errorf("%s did not listen on %s within 10s", name, addr)
	retry:
	}
	tb.Fatalf("testenv: %v", lastErr)
	return "", nil
}

// MemcachedMetaGet reads key straight from the memcached server at addr with
// the meta protocol, which also reports the item's flags and remaining TTL
// (-1 = none); ok is false when the item is missing.
func MemcachedMetaGet(tb testing.TB, addr, key string) (value []byte, flags uint32, ttl int64, ok bool) {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "mg %s t f v\r\n", key)
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(line)
	if len(f) == 0 || f[0] == "EN" {
		return nil, 0, 0, false
	}
	if len(f) < 2 || f[0] != "VA" {
		tb.Fatalf("mg reply %q", line)
	}
	n, _ := strconv.Atoi(f[1])
	for _, tok := range f[2:] {
		switch tok[0] {
		case 't':
			ttl, _ = strconv.ParseInt(tok[1:], 10, 64)
		case 'f':
			v, _ := strconv.ParseUint(tok[1:], 10, 32)
			flags = uint32(v)
		}
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(r, buf); err != nil {
		tb.Fatal(err)
	}
	return buf[:n], flags, ttl, true
}
