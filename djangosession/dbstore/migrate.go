package dbstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// DDL returns the statements of Django's migration sessions.0001_initial
// for the store's table and dialect, as `manage.py sqlmigrate sessions 0001`
// prints them (without the semicolons): the table, the expire_date index
// and, on PostgreSQL, the varchar_pattern_ops index, under Django's index
// names.
func (s *Store) DDL() []string {
	stmts := s.dialect.ddl(s.table)
	out := make([]string, len(stmts))
	for i, st := range stmts {
		out[i] = st.sql
	}
	return out
}

// Migrate creates the session table and its indexes exactly as Django's
// migration does, skipping what already exists, so it is safe to run on
// every start. For the django_session table it also records
// sessions.0001_initial in django_migrations (creating that table as
// Django's MigrationRecorder would), so that a later `manage.py migrate`
// does not try to create the table again (see WithMigrationRecord).
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		// Two processes migrating at once: the loser's CREATE fails on an
		// object the winner just made. A second pass sees it and skips.
		if err2 := s.migrate(ctx); err2 != nil {
			return unavailable("migrate", err)
		}
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for _, st := range s.dialect.ddl(s.table) {
		ok, err := s.objectExists(ctx, tx, st.kind, st.name)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, st.sql); err != nil {
			return fmt.Errorf("%s: %w", st.sql, err)
		}
	}
	if s.record {
		if err := s.recordMigration(ctx, tx); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// recordMigration makes sure django_migrations says sessions.0001_initial
// is applied.
func (s *Store) recordMigration(ctx context.Context, tx *sql.Tx) error {
	ok, err := s.objectExists(ctx, tx, "table", "django_migrations")
	if err != nil {
		return err
	}
	if !ok {
		if _, err := tx.ExecContext(ctx, s.dialect.migrationsDDL()); err != nil {
			return err
		}
	}
	d := s.dialect
	q := d.quote
	var one int
	err = tx.QueryRowContext(ctx, "SELECT 1 FROM "+q("django_migrations")+" WHERE "+q("app")+" = "+d.ph(1)+
		" AND "+q("name")+" = "+d.ph(2), "sessions", "0001_initial").Scan(&one)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO "+q("django_migrations")+" ("+q("app")+", "+q("name")+", "+q("applied")+
		") VALUES ("+d.ph(1)+", "+d.ph(2)+", "+s.dateExpr(3)+")", "sessions", "0001_initial", s.dateArg(s.now()))
	return err
}

// objectExists reports whether a table or index of that name exists in the
// connection's current schema/database.
func (s *Store) objectExists(ctx context.Context, tx *sql.Tx, kind, name string) (bool, error) {
	var q string
	args := []any{name}
	switch s.dialect {
	case Postgres:
		if kind == "table" {
			q = "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1"
		} else {
			q = "SELECT count(*) FROM pg_catalog.pg_indexes WHERE schemaname = current_schema() AND indexname = $1"
		}
	case SQLite:
		q = "SELECT count(*) FROM sqlite_master WHERE type = '" + kind + "' AND name = ?"
	case MySQL:
		if kind == "table" {
			q = "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
		} else {
			// MySQL index names are per table, unlike PostgreSQL's.
			q = "SELECT count(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?"
			args = []any{s.table, name}
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return false, err
	}
	return n > 0, nil
}
