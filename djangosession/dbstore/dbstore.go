// Package dbstore is Django's "db" session engine
// (django.contrib.sessions.backends.db) over database/sql: the same
// django_session table, the same session_data text, and expire_date written
// and compared exactly as Django writes and compares it on PostgreSQL,
// SQLite and MySQL/MariaDB, with USE_TZ on or off, in any TIME_ZONE.
//
// The package imports no SQL driver: open the *sql.DB with the driver of
// your choice (lib/pq, pgx's stdlib, mattn/go-sqlite3, go-sql-driver/mysql)
// and name its Dialect.
//
// Differences from Django that do not change what is stored or read:
// a save is a single INSERT or UPDATE statement (in autocommit mode one
// statement is one transaction, which saves the BEGIN/COMMIT round trips
// Django spends); ClearExpired deletes in batches so that millions of
// expired rows are removed without one long lock; statements are prepared
// once per connection (see WithoutPrepare).
package dbstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
)

// DefaultTable is the table of django.contrib.sessions' Session model.
const DefaultTable = "django_session"

// DefaultBatchSize is how many rows one ClearExpired statement deletes.
const DefaultBatchSize = 1000

// maxKeyLength is the width of the session_key column (varchar(40)); a
// longer key can never be stored, so it is never looked up.
const maxKeyLength = 40

// Codec turns session dicts into the session_data text and back, as
// Django's SessionBase.encode/decode do. *djangosession.Codec satisfies it.
type Codec interface {
	// Encode returns the session_data text for d.
	Encode(d *pyvalue.Dict) (string, error)
	// DecodeOrEmpty returns the dict in s, or an empty dict for data that
	// does not decode or verify, as Django does.
	DecodeOrEmpty(s string) *pyvalue.Dict
}

// Option configures a Store.
type Option func(*config)

type config struct {
	table     string
	now       func() time.Time
	batch     int
	codec     Codec
	noPrepare bool
	alias     string
	record    *bool
}

// WithTable uses a custom session model's table (an AbstractBaseSession
// subclass) instead of django_session.
func WithTable(name string) Option { return func(c *config) { c.table = name } }

// WithClock replaces time.Now, for tests and for replaying Django's frozen
// clocks.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithBatchSize sets how many rows each ClearExpired DELETE removes
// (default DefaultBatchSize).
func WithBatchSize(n int) Option { return func(c *config) { c.batch = n } }

// WithCodec sets the codec for session_data, by default the one
// djangosession.NewCodec builds from the settings.
func WithCodec(codec Codec) Option { return func(c *config) { c.codec = codec } }

// WithoutPrepare sends every statement unprepared, for connection poolers
// (PgBouncer in transaction mode) that cannot keep prepared statements.
func WithoutPrepare() Option { return func(c *config) { c.noPrepare = true } }

// WithDatabaseAlias names the DATABASES entry whose TIME_ZONE applies
// (default "default").
func WithDatabaseAlias(alias string) Option { return func(c *config) { c.alias = alias } }

// WithMigrationRecord decides whether Migrate records sessions.0001_initial
// in django_migrations (default: only for the table django_session), so
// that Django's own migrate does not try to create the table again.
func WithMigrationRecord(record bool) Option { return func(c *config) { c.record = &record } }

// Statement indexes into Store.stmts.
const (
	stLoad = iota
	stExists
	stInsert
	stUpdate
	stDelete
	stClear
	nStmts
)

// Store is the db session engine. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	table   string
	now     func() time.Time
	batch   int
	codec   Codec
	prepare bool
	record  bool

	// useTZ and loc decide the text bound for expire_date: UTC (or the
	// database's own TIME_ZONE) when useTZ, wall clock in loc otherwise.
	useTZ bool
	loc   *time.Location
	// dbLoc is where naive values live with USE_TZ=True on SQLite/MySQL:
	// UTC unless DATABASES[alias]["TIME_ZONE"] says otherwise.
	dbLoc *time.Location

	sqlText [nStmts]string
	stmts   [nStmts]atomic.Pointer[sql.Stmt]
	mu      sync.Mutex // serialises preparing
}

var _ djangosession.Store = (*Store)(nil)

// New returns the db engine for db, a database of the given dialect,
// configured by s (USE_TZ, TIME_ZONE, DATABASES[...]["TIME_ZONE"] and what
// the codec needs). It does not touch the database; call Migrate to create
// the table if Django has not.
func New(db *sql.DB, dialect Dialect, s *djangosession.Settings, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("dbstore: nil *sql.DB")
	}
	if !dialect.valid() {
		return nil, fmt.Errorf("dbstore: invalid dialect %v", dialect)
	}
	if s == nil {
		return nil, errors.New("dbstore: nil settings")
	}
	c := config{table: DefaultTable, now: time.Now, batch: DefaultBatchSize, alias: "default"}
	for _, o := range opts {
		o(&c)
	}
	if c.table == "" {
		return nil, errors.New("dbstore: empty table name")
	}
	if c.batch <= 0 {
		return nil, fmt.Errorf("dbstore: batch size %d must be positive", c.batch)
	}
	if c.codec == nil {
		codec, err := defaultCodec(s)
		if err != nil {
			return nil, err
		}
		c.codec = codec
	}
	loc, err := s.Location()
	if err != nil {
		return nil, fmt.Errorf("dbstore: %w", err)
	}
	st := &Store{
		db: db, dialect: dialect, table: c.table, now: c.now, batch: c.batch,
		codec: c.codec, prepare: !c.noPrepare, useTZ: s.UsesTZ(), loc: loc, dbLoc: time.UTC,
		record: c.table == DefaultTable,
	}
	if c.record != nil {
		st.record = *c.record
	}
	if dbs, ok := s.Databases[c.alias]; ok && dbs.TimeZone != "" && st.useTZ && dialect != Postgres {
		// Django: on databases without time zone support, a database
		// TIME_ZONE makes the stored naive values local to that zone.
		l, err := time.LoadLocation(dbs.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("dbstore: DATABASES[%q][\"TIME_ZONE\"]: %w", c.alias, err)
		}
		st.dbLoc = l
	}
	q := dialect.buildQueries(c.table, st.dateExpr)
	st.sqlText = [nStmts]string{q.load, q.exists, q.insert, q.update, q.delete, q.clear}
	return st, nil
}

// Dialect returns the store's SQL dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// Table returns the session table's name.
func (s *Store) Table() string { return s.table }

// Close releases the prepared statements; the *sql.DB stays open.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for i := range s.stmts {
		if st := s.stmts[i].Swap(nil); st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// dateExpr is the SQL expression for the n-th placeholder carrying a text
// made by dateArg. PostgreSQL gets an explicit cast, as Django sends; with
// USE_TZ=False Django sets the connection's TimeZone to TIME_ZONE and sends
// a naive local time, which AT TIME ZONE reproduces without touching the
// connection (same instant, same DST rules, PostgreSQL's own).
func (s *Store) dateExpr(n int) string {
	if s.dialect != Postgres {
		return "?"
	}
	if s.useTZ {
		return fmt.Sprintf("$%d::timestamptz", n)
	}
	zone := strings.ReplaceAll(s.loc.String(), "'", "''")
	return fmt.Sprintf("($%d::timestamp AT TIME ZONE '%s')", n, zone)
}

// dateArg is the text bound for an expire_date or "now": exactly the
// str(datetime) Django binds for SQLite and MySQL, isoformat() for
// PostgreSQL.
func (s *Store) dateArg(t time.Time) string {
	if s.useTZ {
		if s.dialect == Postgres {
			return pyISO(t)
		}
		return pyText(t.In(s.dbLoc))
	}
	// A naive local datetime: t's wall clock when it is already in
	// TIME_ZONE (kept as given, so wall-clock arithmetic done by the
	// caller survives), else the same instant's wall clock there.
	if t.Location() != s.loc {
		t = t.In(s.loc)
	}
	if s.dialect == Postgres {
		return pyNaiveISO(t)
	}
	return pyText(t)
}

// stmt returns the prepared statement i, preparing it on first use.
func (s *Store) stmt(ctx context.Context, i int) (*sql.Stmt, error) {
	if st := s.stmts[i].Load(); st != nil {
		return st, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.stmts[i].Load(); st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, s.sqlText[i])
	if err != nil {
		return nil, err
	}
	s.stmts[i].Store(st)
	return st, nil
}

func (s *Store) queryRow(ctx context.Context, i int, args ...any) (*sql.Row, error) {
	if !s.prepare {
		return s.db.QueryRowContext(ctx, s.sqlText[i], args...), nil
	}
	st, err := s.stmt(ctx, i)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

// exec runs statement i and returns the number of rows it affected.
func (s *Store) exec(ctx context.Context, i int, args ...any) (int64, error) {
	var res sql.Result
	var err error
	if s.prepare {
		var st *sql.Stmt
		if st, err = s.stmt(ctx, i); err != nil {
			return 0, err
		}
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = s.db.ExecContext(ctx, s.sqlText[i], args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// storableKey reports whether key can be in the table at all. Django never
// queries with an empty key; longer than the column cannot exist.
func storableKey(key string) bool { return key != "" && len(key) <= maxKeyLength }

// Load reads the live session r.Key: the row must have expire_date > now,
// strictly, as Django's filter. A row whose session_data does not decode
// loads as an empty dict, as in Django. r.ExpireDate is set to the row's
// expire_date as Django reads it back (in UTC with USE_TZ, else the wall
// clock in TIME_ZONE), or to the zero time when the stored value cannot be
// read as a date; the same statement returns both, so a load is one round
// trip.
func (s *Store) Load(ctx context.Context, r *djangosession.Record) error {
	if !storableKey(r.Key) {
		return fmt.Errorf("dbstore: load: %w", djangosession.ErrNotFound)
	}
	row, err := s.queryRow(ctx, stLoad, r.Key, s.dateArg(s.now()))
	if err != nil {
		return unavailable("load", err)
	}
	var data string
	var exp any
	if err := row.Scan(&data, &exp); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("dbstore: load: %w", djangosession.ErrNotFound)
		}
		return unavailable("load", err)
	}
	r.Data = s.codec.DecodeOrEmpty(data)
	r.ExpireDate, _ = s.expireTime(exp)
	return nil
}

// expireTime is the expire_date a driver returned, as Django reads it
// back: PostgreSQL's timestamptz is an instant; SQLite's TEXT and MySQL's
// datetime(6) are naive wall times in the zone dateArg wrote them in (the
// database's TIME_ZONE or UTC with USE_TZ, TIME_ZONE otherwise), whether
// the driver hands them over as text or as a time.Time labelled with some
// location. The result is in UTC with USE_TZ, else in TIME_ZONE.
func (s *Store) expireTime(v any) (time.Time, error) {
	naive := s.loc
	if s.useTZ {
		naive = s.dbLoc
	}
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			// mattn/go-sqlite3 turns an unparseable datetime into the
			// zero time.
			return time.Time{}, fmt.Errorf("dbstore: unreadable expire_date")
		}
		t = x
		if s.dialect != Postgres {
			t = time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), naive)
		}
	case []byte:
		p, err := parseNaive(string(x), naive)
		if err != nil {
			return time.Time{}, err
		}
		t = p
	case string:
		p, err := parseNaive(x, naive)
		if err != nil {
			return time.Time{}, err
		}
		t = p
	default:
		return time.Time{}, fmt.Errorf("dbstore: expire_date of type %T", v)
	}
	if s.useTZ {
		return t.UTC(), nil
	}
	return t.In(s.loc), nil
}

// Exists reports whether a row for key exists, expired or not, as Django's
// exists() (which the create loop uses).
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	if !storableKey(key) {
		return false, nil
	}
	row, err := s.queryRow(ctx, stExists, key)
	if err != nil {
		return false, unavailable("exists", err)
	}
	var one int
	if err := row.Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return false, unavailable("exists", err)
	}
	return true, nil
}

// Save writes r: with mustCreate an INSERT that fails with
// djangosession.ErrKeyExists when the key is taken; otherwise an UPDATE
// that fails with djangosession.ErrSessionInterrupted when the row is gone
// (deleted by a concurrent logout), which never recreates it.
// expire_date is r.ExpireDate, which must be set.
func (s *Store) Save(ctx context.Context, r *djangosession.Record, mustCreate bool) error {
	if !storableKey(r.Key) {
		return fmt.Errorf("dbstore: save: key of length %d: %w", len(r.Key), djangosession.ErrInvalidKey)
	}
	if r.ExpireDate.IsZero() {
		return errors.New("dbstore: save: Record.ExpireDate is not set")
	}
	d := r.Data
	if d == nil {
		d = pyvalue.NewDict(0)
	}
	data, err := s.codec.Encode(d)
	if err != nil {
		return fmt.Errorf("dbstore: save: %w", err)
	}
	exp := s.dateArg(r.ExpireDate)
	if mustCreate {
		n, err := s.exec(ctx, stInsert, r.Key, data, exp)
		if err != nil {
			if isDuplicateKey(err) {
				return fmt.Errorf("dbstore: save: %w", djangosession.ErrKeyExists)
			}
			return unavailable("save", err)
		}
		if n == 0 { // ON CONFLICT DO NOTHING skipped the row
			return fmt.Errorf("dbstore: save: %w", djangosession.ErrKeyExists)
		}
		return nil
	}
	n, err := s.exec(ctx, stUpdate, data, exp, r.Key)
	if err != nil {
		return unavailable("save", err)
	}
	if n == 0 && s.dialect == MySQL {
		// MySQL counts changed rows, not matched ones (unless the DSN
		// sets clientFoundRows=true), so an UPDATE writing identical
		// values reports 0: ask whether the row is there.
		ok, err := s.Exists(ctx, r.Key)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	if n == 0 {
		return fmt.Errorf("dbstore: save: %w", djangosession.ErrSessionInterrupted)
	}
	return nil
}

// Delete removes the row for key; a missing row is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if !storableKey(key) {
		return nil
	}
	if _, err := s.exec(ctx, stDelete, key); err != nil {
		return unavailable("delete", err)
	}
	return nil
}

// ClearExpired deletes the rows with expire_date < now (strictly: a row
// expiring exactly now survives, as in Django), in batches.
func (s *Store) ClearExpired(ctx context.Context) error {
	_, err := s.ClearExpiredCount(ctx)
	return err
}

// ClearExpiredCount is ClearExpired reporting how many rows it deleted.
// Each batch is its own statement (its own short transaction), all against
// the same "now", so concurrent requests are never blocked for long.
func (s *Store) ClearExpiredCount(ctx context.Context) (int64, error) {
	now := s.dateArg(s.now())
	var total int64
	for {
		n, err := s.exec(ctx, stClear, now, s.batch)
		total += n
		if err != nil {
			return total, unavailable("clear expired", err)
		}
		if n < int64(s.batch) {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, unavailable("clear expired", err)
		}
	}
}
