package dbstore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
)

// mediumSession is a logged-in session with a cart-sized payload: about
// 1.3 KB of session_data, the "medium session" of the speed target.
func mediumSession() *pyvalue.Dict {
	d := pyvalue.NewDict(24)
	d.Set("_auth_user_id", "42")
	d.Set("_auth_user_backend", "django.contrib.auth.backends.ModelBackend")
	d.Set("_auth_user_hash", "3f1c1e0f2a5b7c9d8e6f4a2b1c3d5e7f9a8b6c4d2e0f1a3b5c7d9e8f6a4b2c1d")
	d.Set("_csrftoken", "Qm8r3ZbV1tYp6XkL0sNwE9uJ4cHdG7fA2oIeRxT5yPlKjMnBvCqWzSaDgFhUiO")
	for i := 0; i < 16; i++ {
		item := pyvalue.NewDict(3)
		item.Set("sku", fmt.Sprintf("SKU-%06d", i*7919))
		item.Set("qty", int64(i%5+1))
		item.Set("price", float64(i)*3.25+0.99)
		d.Set(fmt.Sprintf("cart_%02d", i), item)
	}
	d.Set("last_seen", "2023-11-14T22:13:20.123456+00:00")
	d.Set("flags", []any{true, false, nil, "beta"})
	return d
}

// processCPU is the CPU time (user+system) the test process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter reports "cpu-ns/op", the client CPU per operation: unlike ns/op
// it does not grow while the process waits for the database or for a CPU
// on a busy machine, so it is the figure to set against Django's client
// CPU.
func cpuMeter(b *testing.B) func() {
	b.ReportAllocs()
	b.ResetTimer()
	start := processCPU()
	return func() {
		b.StopTimer()
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}

// benchStore gives a store over a fresh database of b holding one medium
// session, and its key.
func benchStore(tb testing.TB, b backend) (*Store, *testDB, string) {
	tb.Helper()
	tdb := openDB(tb, b)
	st := newStore(tb, tdb, settings(tb, map[string]any{"USE_TZ": true}))
	key := newKey(tb)
	r := &djangosession.Record{Key: key, Data: mediumSession(), ExpireDate: time.Now().Add(time.Hour)}
	if err := st.Save(context.Background(), r, true); err != nil {
		tb.Fatal(err)
	}
	return st, tdb, key
}

// BenchmarkLoad is Store.Load of a medium session: the SELECT plus
// signature check and JSON decoding.
func BenchmarkLoad(b *testing.B) {
	for _, be := range allBackends {
		b.Run(be.name, func(b *testing.B) {
			st, _, key := benchStore(b, be)
			ctx := context.Background()
			done := cpuMeter(b)
			for i := 0; i < b.N; i++ {
				r := djangosession.Record{Key: key}
				if err := st.Load(ctx, &r); err != nil {
					b.Fatal(err)
				}
			}
			done()
		})
	}
}

// BenchmarkBareSelect is the floor Load is measured against: the bare
// SELECT of session_data by key on the same driver and table, nothing
// decoded. "unprepared" is db.QueryRow as most code writes it; "prepared"
// reuses a *sql.Stmt, as Store does.
func BenchmarkBareSelect(b *testing.B) {
	for _, be := range allBackends {
		b.Run(be.name, func(b *testing.B) {
			_, tdb, key := benchStore(b, be)
			q := "SELECT session_data FROM django_session WHERE session_key = " + be.dialect.ph(1)
			ctx := context.Background()
			b.Run("unprepared", func(b *testing.B) {
				var data string
				done := cpuMeter(b)
				for i := 0; i < b.N; i++ {
					if err := tdb.db.QueryRowContext(ctx, q, key).Scan(&data); err != nil {
						b.Fatal(err)
					}
				}
				done()
			})
			b.Run("prepared", func(b *testing.B) {
				stmt, err := tdb.db.PrepareContext(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				defer stmt.Close()
				var data string
				done := cpuMeter(b)
				for i := 0; i < b.N; i++ {
					if err := stmt.QueryRowContext(ctx, key).Scan(&data); err != nil {
						b.Fatal(err)
					}
				}
				done()
			})
		})
	}
}

// BenchmarkSave is an update of a medium session (one UPDATE statement in
// autocommit: one round trip including the commit).
func BenchmarkSave(b *testing.B) {
	for _, be := range allBackends {
		b.Run(be.name, func(b *testing.B) {
			st, _, key := benchStore(b, be)
			ctx := context.Background()
			d := mediumSession()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d.Set("n", int64(i))
				r := djangosession.Record{Key: key, Data: d, ExpireDate: time.Now().Add(time.Hour)}
				if err := st.Save(ctx, &r, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCreate is what Session.Create does per new session: the exists
// check of a fresh key, then the INSERT.
func BenchmarkCreate(b *testing.B) {
	for _, be := range allBackends {
		b.Run(be.name, func(b *testing.B) {
			st, _, _ := benchStore(b, be)
			ctx := context.Background()
			d := mediumSession()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				key, err := djangosession.NewKey()
				if err != nil {
					b.Fatal(err)
				}
				if ok, err := st.Exists(ctx, key); err != nil || ok {
					b.Fatal(ok, err)
				}
				r := djangosession.Record{Key: key, Data: d, ExpireDate: time.Now().Add(time.Hour)}
				if err := st.Save(ctx, &r, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoadDjangoRow loads the row bench/db.sh had Django write, so Go
// and Django are timed on the very same PostgreSQL row. It runs only under
// that script (DJS_BENCH_PG_DSN, DJS_BENCH_KEY, DJS_BENCH_SECRET_KEY).
func BenchmarkLoadDjangoRow(b *testing.B) {
	dsn, key := os.Getenv("DJS_BENCH_PG_DSN"), os.Getenv("DJS_BENCH_KEY")
	if dsn == "" || key == "" {
		b.Skip("run by bench/db.sh")
	}
	for _, driver := range []string{"postgres", "pgx"} {
		b.Run(driver, func(b *testing.B) {
			db, err := sql.Open(driver, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			s := settings(b, map[string]any{"USE_TZ": true, "SECRET_KEY": os.Getenv("DJS_BENCH_SECRET_KEY")})
			st, err := New(db, Postgres, s)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ctx := context.Background()
			r := djangosession.Record{Key: key}
			if err := st.Load(ctx, &r); err != nil || r.Data.Len() == 0 {
				b.Fatalf("load of Django's row: %v %v", r.Data, err)
			}
			stmt, err := db.PrepareContext(ctx, "SELECT session_data FROM django_session WHERE session_key = $1")
			if err != nil {
				b.Fatal(err)
			}
			defer stmt.Close()
			b.Run("Load", func(b *testing.B) {
				done := cpuMeter(b)
				for i := 0; i < b.N; i++ {
					r := djangosession.Record{Key: key}
					if err := st.Load(ctx, &r); err != nil {
						b.Fatal(err)
					}
				}
				done()
			})
			b.Run("BareSelect", func(b *testing.B) {
				var data string
				done := cpuMeter(b)
				for i := 0; i < b.N; i++ {
					if err := stmt.QueryRowContext(ctx, key).Scan(&data); err != nil {
						b.Fatal(err)
					}
				}
				done()
			})
		})
	}
}

// BenchmarkLoadOverhead is the CPU work Load adds to the SELECT: the "now"
// text and decoding (signature check, decompression, JSON) of the medium
// session's session_data. With no database in the loop it is immune to the
// load of a shared machine; Load ≈ BareSelect/prepared + this.
func BenchmarkLoadOverhead(b *testing.B) {
	s := settings(b, map[string]any{"USE_TZ": true})
	st, err := New(&sql.DB{}, Postgres, s)
	if err != nil {
		b.Fatal(err)
	}
	data, err := st.codec.Encode(mediumSession())
	if err != nil {
		b.Fatal(err)
	}
	done := cpuMeter(b)
	for i := 0; i < b.N; i++ {
		_ = st.dateArg(st.now())
		if d := st.codec.DecodeOrEmpty(data); d.Len() == 0 {
			b.Fatal("empty")
		}
	}
	done()
}
