package dbstore

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/testenv"
)

func init() {
	// The driver logs every broken connection; the fault tests make many.
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
}

// proxy is a TCP relay in front of a database server that a test can cut
// (drop every connection) or stop (refuse new ones too), as when the
// server restarts or goes away.
type proxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.Stop)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.relay(c)
		}
	}()
}

func (p *proxy) relay(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // stopped meanwhile
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(s, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, s); done <- struct{}{} }()
	<-done
	c.Close()
	s.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

// Cut drops every open connection; new ones are still accepted.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// Stop drops every connection and refuses new ones.
func (p *proxy) Stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.mu.Unlock()
	p.Cut()
}

// Start accepts connections again on the same address.
func (p *proxy) Start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(ln)
}

func (p *proxy) port() int {
	_, port, _ := net.SplitHostPort(p.addr)
	n, _ := strconv.Atoi(port)
	return n
}

// allOps runs every Store operation and returns their errors by name.
func allOps(ctx context.Context, st *Store, key string) map[string]error {
	errs := map[string]error{}
	errs["Load"] = st.Load(ctx, &djangosession.Record{Key: key})
	_, errs["Exists"] = st.Exists(ctx, key)
	errs["Create"] = st.Save(ctx, &djangosession.Record{Key: key + "n", Data: dict("a", int64(1)), ExpireDate: time.Now().Add(time.Hour)}, true)
	errs["Update"] = st.Save(ctx, &djangosession.Record{Key: key, Data: dict("a", int64(2)), ExpireDate: time.Now().Add(time.Hour)}, false)
	errs["Delete"] = st.Delete(ctx, key+"x")
	errs["ClearExpired"] = st.ClearExpired(ctx)
	errs["Migrate"] = st.Migrate(ctx)
	return errs
}

// The database going away mid-test gives ErrUnavailable from every
// operation (never ErrNotFound, which would look like a logout, never a
// panic); when it is back the same Store works again.
func TestDatabaseDown(t *testing.T) {
	for _, b := range allBackends {
		if b.dialect == SQLite {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			var p testenv.Params
			if b.dialect == Postgres {
				p = testenv.PostgresParams(t)
			} else {
				p = testenv.MySQLParams(t)
			}
			px := startProxy(t, net.JoinHostPort(p.Host, strconv.Itoa(p.Port)))
			pp := p
			pp.Port = px.port()
			db, err := sql.Open(b.driver, pp.DSN())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(4)
			st := newStore(t, &testDB{backend: b, db: db}, settings(t, map[string]any{"USE_TZ": true}))
			ctx := context.Background()
			key := newKey(t)
			if err := st.Save(ctx, &djangosession.Record{Key: key, Data: dict("a", int64(1)), ExpireDate: time.Now().Add(time.Hour)}, true); err != nil {
				t.Fatal(err)
			}

			// Connections killed under the pool: at worst one failed call,
			// typed, then the pool reconnects.
			for round := 0; round < 3; round++ {
				px.Cut()
				recovered := false
				for attempt := 0; attempt < 3 && !recovered; attempt++ {
					err := st.Load(ctx, &djangosession.Record{Key: key})
					switch {
					case err == nil:
						recovered = true
					case !errors.Is(err, djangosession.ErrUnavailable):
						t.Fatalf("after a cut: %v, want nil or ErrUnavailable", err)
					}
				}
				if !recovered {
					t.Fatal("no recovery after the connections were cut")
				}
			}

			px.Stop()
			octx, cancel := context.WithTimeout(ctx, 20*time.Second)
			for op, err := range allOps(octx, st, key) {
				if !errors.Is(err, djangosession.ErrUnavailable) {
					t.Errorf("%s while down = %v, want ErrUnavailable", op, err)
				}
				if errors.Is(err, djangosession.ErrNotFound) {
					t.Errorf("%s while down looks like not found: %v", op, err)
				}
			}
			cancel()

			px.Start(t)
			var lastErr error
			for attempt := 0; attempt < 5; attempt++ {
				if lastErr = st.Load(ctx, &djangosession.Record{Key: key}); lastErr == nil {
					break
				}
				if !errors.Is(lastErr, djangosession.ErrUnavailable) {
					t.Fatalf("after restart: %v", lastErr)
				}
			}
			if lastErr != nil {
				t.Fatalf("no recovery after restart: %v", lastErr)
			}
			for op, err := range allOps(ctx, st, key) {
				if err != nil {
					t.Errorf("%s after recovery: %v", op, err)
				}
			}
		})
	}
}

// A server that was never there, and an SQLite file that cannot be
// opened, are ErrUnavailable too.
func TestNoServer(t *testing.T) {
	port := testenv.FreePort(t)
	for _, tc := range []struct {
		b   backend
		dsn string
	}{
		{allBackends[1], "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/x?sslmode=disable&connect_timeout=5"},
		{allBackends[2], "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/x?sslmode=disable&connect_timeout=5"},
		{allBackends[3], "root@tcp(127.0.0.1:" + strconv.Itoa(port) + ")/x?timeout=5s"},
		{allBackends[0], "file:" + filepath.Join(t.TempDir(), "no", "such", "dir", "db.sqlite3")},
	} {
		t.Run(tc.b.name, func(t *testing.T) {
			db, err := sql.Open(tc.b.driver, tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			st, err := New(db, tc.b.dialect, settings(t, map[string]any{"USE_TZ": true}))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for op, err := range allOps(context.Background(), st, newKey(t)) {
				if !errors.Is(err, djangosession.ErrUnavailable) {
					t.Errorf("%s = %v, want ErrUnavailable", op, err)
				}
			}
		})
	}
}

// A cancelled context is reported as ErrUnavailable wrapping the context's
// error.
func TestCancelledContext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb *testDB) {
		st := newStore(t, tdb, settings(t, map[string]any{"USE_TZ": true}))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := st.Load(ctx, &djangosession.Record{Key: newKey(t)})
		if !errors.Is(err, djangosession.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Load with a cancelled context = %v", err)
		}
	})
}
