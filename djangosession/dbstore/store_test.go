package dbstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
)

// forEachBackend runs f on a fresh database of every backend.
func forEachBackend(t *testing.T, f func(t *testing.T, tdb *testDB)) {
	for _, b := range allBackends {
		t.Run(b.name, func(t *testing.T) { f(t, openDB(t, b)) })
	}
}

func dict(kv ...any) *pyvalue.Dict {
	d := pyvalue.NewDict(len(kv) / 2)
	for i := 0; i+1 < len(kv); i += 2 {
		d.Set(kv[i], kv[i+1])
	}
	return d
}

func newKey(t testing.TB) string {
	t.Helper()
	k, err := djangosession.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTripAndKeys(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, tdb *testDB) {
		st := newStore(t, tdb, settings(t, map[string]any{"USE_TZ": true}))
		key := newKey(t)
		d := dict("a", int64(1), "s", "h\u00e9llo \u2603", "f", 2.5, "l", []any{true, nil})
		r := &djangosession.Record{Key: key, Data: d, ExpireDate: time.Now().Add(time.Hour)}
		if err := st.Save(ctx, r, true); err != nil {
			t.Fatal(err)
		}
		if err := st.Save(ctx, r, true); !errors.Is(err, djangosession.ErrKeyExists) {
			t.Fatalf("second create = %v, want ErrKeyExists", err)
		}
		got := &djangosession.Record{Key: key}
		if err := st.Load(ctx, got); err != nil {
			t.Fatal(err)
		}
		if !pyvalue.Equal(got.Data, d) {
			t.Fatalf("loaded %v, want %v", got.Data, d)
		}
		// An update writing identical values is not an interruption (MySQL
		// reports 0 changed rows for it).
		if err := st.Save(ctx, r, false); err != nil {
			t.Fatalf("identical update: %v", err)
		}
		if err := st.Save(ctx, r, false); err != nil {
			t.Fatalf("identical update: %v", err)
		}

		// Keys the column cannot hold are never found, never stored.
		long := strings.Repeat("a", 41)
		for _, k := range []string{long, "", key + "x" + strings.Repeat("y", 10)} {
			if err := st.Load(ctx, &djangosession.Record{Key: k}); !errors.Is(err, djangosession.ErrNotFound) {
				t.Errorf("Load(%q) = %v", k, err)
			}
			if ok, err := st.Exists(ctx, k); ok || err != nil {
				t.Errorf("Exists(%q) = %v, %v", k, ok, err)
			}
			if err := st.Delete(ctx, k); err != nil {
				t.Errorf("Delete(%q) = %v", k, err)
			}
			if err := st.Save(ctx, &djangosession.Record{Key: k, Data: d, ExpireDate: time.Now().Add(time.Hour)}, true); !errors.Is(err, djangosession.ErrInvalidKey) {
				t.Errorf("Save(%q) = %v", k, err)
			}
		}
		// A 40-character key is fine.
		k40 := strings.Repeat("k", 40)
		if err := st.Save(ctx, &djangosession.Record{Key: k40, Data: d, ExpireDate: time.Now().Add(time.Hour)}, true); err != nil {
			t.Fatal(err)
		}
		if err := st.Load(ctx, &djangosession.Record{Key: k40}); err != nil {
			t.Fatal(err)
		}
		if err := st.Save(ctx, &djangosession.Record{Key: newKey(t), Data: d}, true); err == nil {
			t.Error("Save without ExpireDate succeeded")
		}
	})
}

// A garbled session_data row loads as an empty session, like Django.
func TestGarbledRow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb *testDB) {
		s := settings(t, map[string]any{"USE_TZ": true})
		st := newStore(t, tdb, s)
		exp := pyText(time.Now().UTC().Add(time.Hour))
		bad := []string{"", "garbage", "eyJhIjoxfQ:1r31eq:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "\u00e9\u2603:::\u00ff", strings.Repeat("A", 100000)}
		for i, data := range bad {
			key := fmt.Sprintf("garbled%033d", i)
			tdb.insertRaw(t, DefaultTable, key, data, exp)
			r := &djangosession.Record{Key: key}
			if err := st.Load(context.Background(), r); err != nil {
				t.Fatalf("Load(garbled %d) = %v", i, err)
			}
			if r.Data == nil || r.Data.Len() != 0 {
				t.Fatalf("Load(garbled %d) = %v, want {}", i, r.Data)
			}
		}
		if tdb.dialect == SQLite {
			// SQLite keeps any text in expire_date; one that is not a date
			// (but compares as later than now) still loads, with no
			// ExpireDate.
			key := fmt.Sprintf("garbled%033d", len(bad))
			tdb.insertRaw(t, DefaultTable, key, "", "9999-garbage")
			r := &djangosession.Record{Key: key, ExpireDate: time.Now()}
			if err := st.Load(context.Background(), r); err != nil {
				t.Fatalf("Load(garbled expire_date) = %v", err)
			}
			if !r.ExpireDate.IsZero() {
				t.Fatalf("Load(garbled expire_date): ExpireDate %v, want zero", r.ExpireDate)
			}
		}
	})
}

// expire_date with USE_TZ=False is the wall clock of TIME_ZONE, including
// a +05:45 zone and DST; with USE_TZ=True it is UTC, or the database's
// TIME_ZONE on SQLite/MySQL.
func TestExpireDateZones(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, tdb *testDB) {
		for _, tc := range []struct {
			useTZ   bool
			zone    string
			dbZone  string
			instant time.Time
		}{
			{false, "Asia/Kathmandu", "", time.Date(2024, 3, 1, 0, 30, 0, 5000, time.UTC)},
			{false, "America/Chicago", "", time.Date(2024, 7, 1, 12, 0, 0, 999999000, time.UTC)},
			{false, "America/Chicago", "", time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)},
			{true, "Asia/Kathmandu", "", time.Date(2024, 3, 1, 0, 30, 0, 123456789, time.UTC)},
			{true, "America/Chicago", "Asia/Kathmandu", time.Date(2024, 3, 1, 0, 30, 0, 0, time.UTC)},
		} {
			name := fmt.Sprintf("USE_TZ=%v/%s/db=%s", tc.useTZ, tc.zone, tc.dbZone)
			t.Run(name, func(t *testing.T) {
				cfg := map[string]any{"USE_TZ": tc.useTZ, "TIME_ZONE": tc.zone}
				if tc.dbZone != "" {
					cfg["DATABASES"] = map[string]any{"default": map[string]any{"TIME_ZONE": tc.dbZone}}
				}
				s := settings(t, cfg)
				loc, _ := s.Location()
				now := tc.instant.Add(-time.Hour)
				st := newStore(t, tdb, s, WithClock(frozen(now)))
				key := newKey(t)
				exp := tc.instant
				if !tc.useTZ {
					exp = exp.In(loc)
				}
				if err := st.Save(ctx, &djangosession.Record{Key: key, Data: dict("z", tc.zone), ExpireDate: exp}, true); err != nil {
					t.Fatal(err)
				}
				row, _ := tdb.row(t, DefaultTable, key)
				// The text a naive value has in the zone it is stored in.
				var want string
				switch {
				case tdb.dialect == Postgres:
					want = tc.instant.UTC().Truncate(time.Microsecond).Format("2006-01-02 15:04:05.999999")
				case !tc.useTZ:
					want = pyText(tc.instant.In(loc))
				case tc.dbZone != "":
					l, _ := time.LoadLocation(tc.dbZone)
					want = pyText(tc.instant.In(l))
				default:
					want = pyText(tc.instant.UTC())
				}
				if tdb.dialect == MySQL {
					want = mysqlText(want)
				}
				if row.Exp != want {
					t.Fatalf("stored %q, want %q", row.Exp, want)
				}
				got := &djangosession.Record{Key: key}
				if err := st.Load(ctx, got); err != nil {
					t.Fatalf("Load before expiry: %v", err)
				}
				// Load reads expire_date back: the same instant (to the
				// microsecond), in UTC with USE_TZ, else in TIME_ZONE.
				wantLoc := time.UTC
				if !tc.useTZ {
					wantLoc = loc
				}
				if w := tc.instant.Truncate(time.Microsecond); !got.ExpireDate.Equal(w) || got.ExpireDate.Location().String() != wantLoc.String() {
					t.Fatalf("loaded ExpireDate %v, want %v in %v", got.ExpireDate, w, wantLoc)
				}
				late := newStoreNoMigrate(t, tdb, s, WithClock(frozen(tc.instant)))
				if err := late.Load(ctx, &djangosession.Record{Key: key}); !errors.Is(err, djangosession.ErrNotFound) {
					t.Fatalf("Load at expiry = %v, want ErrNotFound", err)
				}
			})
		}
	})
}

// mysqlText is how MariaDB prints a datetime(6): always six digits.
func mysqlText(s string) string {
	if !strings.Contains(s, ".") {
		return s + ".000000"
	}
	return s
}

func newStoreNoMigrate(tb testing.TB, tdb *testDB, s *djangosession.Settings, opts ...Option) *Store {
	tb.Helper()
	st, err := New(tdb.db, tdb.dialect, s, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

func TestClearExpiredBatches(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, tdb *testDB) {
		now := time.Date(2024, 5, 5, 10, 0, 0, 500000000, time.UTC)
		st := newStore(t, tdb, settings(t, map[string]any{"USE_TZ": true}), WithClock(frozen(now)), WithBatchSize(97))
		const expired, live = 1000, 30
		tx, err := tdb.db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		q, ph := tdb.dialect.quote, tdb.dialect.ph
		ins := "INSERT INTO " + q(DefaultTable) + " VALUES (" + ph(1) + ", 'x', " + st.dateExpr(2) + ")"
		for i := 0; i < expired+live; i++ {
			e := now.Add(-time.Duration(i+1) * time.Second)
			if i >= expired {
				e = now.Add(time.Duration(i-expired) * time.Microsecond) // the first one is == now
			}
			if _, err := tx.Exec(ins, fmt.Sprintf("k%06d", i), st.dateArg(e)); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		n, err := st.ClearExpiredCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != expired {
			t.Fatalf("deleted %d rows, want %d", n, expired)
		}
		if rows := tdb.rows(t, DefaultTable); len(rows) != live {
			t.Fatalf("%d rows left, want %d", len(rows), live)
		}
		if n, err := st.ClearExpiredCount(ctx); err != nil || n != 0 {
			t.Fatalf("second clear = %d, %v", n, err)
		}
	})
}

// Two goroutines, one saving and one deleting the same session: once the
// delete is done, every save fails with ErrSessionInterrupted and the row
// never comes back.
func TestConcurrentModifyDelete(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, tdb *testDB) {
		st := newStore(t, tdb, settings(t, map[string]any{"USE_TZ": true}))
		rounds := 50
		if testing.Short() {
			rounds = 20
		}
		var interrupted int
		for i := 0; i < rounds; i++ {
			key := newKey(t)
			r := &djangosession.Record{Key: key, Data: dict("n", int64(0)), ExpireDate: time.Now().Add(time.Hour)}
			if err := st.Save(ctx, r, true); err != nil {
				t.Fatal(err)
			}
			var deleted atomic.Bool
			var wg sync.WaitGroup
			wg.Add(2)
			errc := make(chan error, 2)
			go func() {
				defer wg.Done()
				for n := int64(1); ; n++ {
					after := deleted.Load()
					err := st.Save(ctx, &djangosession.Record{Key: key, Data: dict("n", n), ExpireDate: time.Now().Add(time.Hour)}, false)
					if errors.Is(err, djangosession.ErrSessionInterrupted) {
						return
					}
					if err != nil {
						errc <- err
						return
					}
					if after {
						errc <- errors.New("a save after the delete succeeded")
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i%5) * 100 * time.Microsecond)
				if err := st.Delete(ctx, key); err != nil {
					errc <- err
				}
				deleted.Store(true)
			}()
			wg.Wait()
			close(errc)
			for err := range errc {
				t.Fatal(err)
			}
			interrupted++
			if _, ok := tdb.row(t, DefaultTable, key); ok {
				t.Fatal("session resurrected")
			}
			if err := st.Load(ctx, &djangosession.Record{Key: key}); !errors.Is(err, djangosession.ErrNotFound) {
				t.Fatalf("Load after delete = %v", err)
			}
		}
		t.Logf("%d rounds, every one ended in ErrSessionInterrupted", interrupted)
	})
}

// 200 creates in parallel: distinct keys all succeed; the same key
// succeeds exactly once and every other attempt sees ErrKeyExists.
func TestParallelCreates(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, tdb *testDB) {
		st := newStore(t, tdb, settings(t, map[string]any{"USE_TZ": true}))
		const n = 200
		keys := make([]string, n)
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				for {
					k, err := djangosession.NewKey()
					if err != nil {
						errs[i] = err
						return
					}
					if ok, err := st.Exists(ctx, k); err != nil || ok {
						errs[i] = err
						continue
					}
					err = st.Save(ctx, &djangosession.Record{Key: k, Data: dict("i", int64(i)), ExpireDate: time.Now().Add(time.Hour)}, true)
					if errors.Is(err, djangosession.ErrKeyExists) {
						continue
					}
					keys[i], errs[i] = k, err
					return
				}
			}(i)
		}
		wg.Wait()
		seen := map[string]bool{}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("create %d: %v", i, err)
			}
			if seen[keys[i]] {
				t.Fatalf("duplicate key %s", keys[i])
			}
			seen[keys[i]] = true
		}
		if got := len(tdb.rows(t, DefaultTable)); got != n {
			t.Fatalf("%d rows, want %d", got, n)
		}

		same := newKey(t)
		var ok, exists atomic.Int32
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				err := st.Save(ctx, &djangosession.Record{Key: same, Data: dict("i", int64(i)), ExpireDate: time.Now().Add(time.Hour)}, true)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, djangosession.ErrKeyExists):
					exists.Add(1)
				default:
					t.Errorf("create of a shared key: %v", err)
				}
			}(i)
		}
		wg.Wait()
		if ok.Load() != 1 || exists.Load() != n-1 {
			t.Fatalf("same key: %d created, %d ErrKeyExists; want 1 and %d", ok.Load(), exists.Load(), n-1)
		}
	})
}

// Migrate is idempotent, records sessions.0001_initial once, and gives a
// custom table Django's index names.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, tdb *testDB) {
		s := settings(t, map[string]any{"USE_TZ": true})
		st := newStore(t, tdb, s)
		for i := 0; i < 3; i++ {
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		q := tdb.dialect.quote
		var n int
		if err := tdb.db.QueryRow("SELECT count(*) FROM " + q("django_migrations") + " WHERE " + q("app") + " = 'sessions'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("%d django_migrations rows for sessions, want 1", n)
		}

		custom := newStore(t, tdb, s, WithTable("myapp_customsession"))
		ddl := strings.Join(custom.DDL(), "\n")
		want := "myapp_customsession_expire_date_" + namesDigest(8, "myapp_customsession", "expire_date")
		if !strings.Contains(ddl, want) {
			t.Fatalf("DDL %s lacks index %s", ddl, want)
		}
		if err := custom.Save(ctx, &djangosession.Record{Key: newKey(t), Data: dict(), ExpireDate: time.Now().Add(time.Hour)}, true); err != nil {
			t.Fatal(err)
		}
		if err := tdb.db.QueryRow("SELECT count(*) FROM " + q("django_migrations")).Scan(&n); err != nil || n != 1 {
			t.Fatalf("custom table recorded a migration: %d rows, %v", n, err)
		}
	})
}

func TestIndexName(t *testing.T) {
	for _, tc := range []struct {
		d                     Dialect
		table, column, suffix string
		want                  string
	}{
		{Postgres, "django_session", "expire_date", "", "django_session_expire_date_a5c62663"},
		{Postgres, "django_session", "session_key", "_like", "django_session_session_key_c0390e0f_like"},
		{SQLite, "django_session", "expire_date", "", "django_session_expire_date_a5c62663"},
		// Longer than PostgreSQL's 63: Django's truncation.
		{Postgres, strings.Repeat("t", 70), "expire_date", "", strings.Repeat("t", 26) + "_expire_date_" + namesDigest(8, strings.Repeat("t", 70), "expire_date")},
		{Postgres, "_" + strings.Repeat("t", 70), "expire_date", "", "D_" + strings.Repeat("t", 25) + "_expire_date_" + namesDigest(8, "_"+strings.Repeat("t", 70), "expire_date")[:7]},
	} {
		if got := tc.d.indexName(tc.table, tc.column, tc.suffix); got != tc.want {
			t.Errorf("indexName(%s, %s) = %s, want %s", tc.table, tc.column, got, tc.want)
		}
	}
}

func TestParseDialect(t *testing.T) {
	for in, want := range map[string]Dialect{
		"django.db.backends.postgresql": Postgres, "postgres": Postgres, "pgx": Postgres,
		"django.db.backends.sqlite3": SQLite, "sqlite": SQLite,
		"django.db.backends.mysql": MySQL, "mariadb": MySQL,
	} {
		if got, err := ParseDialect(in); err != nil || got != want {
			t.Errorf("ParseDialect(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseDialect("oracle"); err == nil {
		t.Error("ParseDialect(oracle) succeeded")
	}
}

func TestTimeText(t *testing.T) {
	for _, tc := range []struct {
		t               time.Time
		text, iso, niso string
	}{
		{time.Date(2023, 11, 28, 22, 13, 20, 123456789, time.UTC), "2023-11-28 22:13:20.123456", "2023-11-28T22:13:20.123456+00:00", "2023-11-28T22:13:20.123456"},
		{time.Date(2023, 11, 28, 22, 13, 20, 0, time.UTC), "2023-11-28 22:13:20", "2023-11-28T22:13:20+00:00", "2023-11-28T22:13:20"},
		{time.Date(2023, 1, 2, 3, 4, 5, 1000, time.UTC), "2023-01-02 03:04:05.000001", "2023-01-02T03:04:05.000001+00:00", "2023-01-02T03:04:05.000001"},
		{time.Date(2023, 1, 2, 3, 4, 5, 999, time.UTC), "2023-01-02 03:04:05", "2023-01-02T03:04:05+00:00", "2023-01-02T03:04:05"},
	} {
		if got := pyText(tc.t); got != tc.text {
			t.Errorf("pyText = %s, want %s", got, tc.text)
		}
		if got := pyISO(tc.t); got != tc.iso {
			t.Errorf("pyISO = %s, want %s", got, tc.iso)
		}
		if got := pyNaiveISO(tc.t); got != tc.niso {
			t.Errorf("pyNaiveISO = %s, want %s", got, tc.niso)
		}
	}
}

// WithoutPrepare (for PgBouncer-style poolers) runs the same statements
// unprepared.
func TestWithoutPrepare(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, tdb *testDB) {
		st := newStore(t, tdb, settings(t, map[string]any{"USE_TZ": false, "TIME_ZONE": "Asia/Kathmandu"}), WithoutPrepare())
		key := newKey(t)
		r := &djangosession.Record{Key: key, Data: dict("a", int64(1)), ExpireDate: time.Now().Add(time.Hour)}
		if err := st.Save(ctx, r, true); err != nil {
			t.Fatal(err)
		}
		if err := st.Save(ctx, r, true); !errors.Is(err, djangosession.ErrKeyExists) {
			t.Fatalf("duplicate create = %v", err)
		}
		r.Data.Set("b", int64(2))
		if err := st.Save(ctx, r, false); err != nil {
			t.Fatal(err)
		}
		got := &djangosession.Record{Key: key}
		if err := st.Load(ctx, got); err != nil || !pyvalue.Equal(got.Data, r.Data) {
			t.Fatalf("Load = %v, %v", got.Data, err)
		}
		if ok, err := st.Exists(ctx, key); !ok || err != nil {
			t.Fatalf("Exists = %v, %v", ok, err)
		}
		if err := st.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if err := st.Save(ctx, r, false); !errors.Is(err, djangosession.ErrSessionInterrupted) {
			t.Fatalf("update after delete = %v", err)
		}
		if err := st.ClearExpired(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
