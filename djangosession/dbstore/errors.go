package dbstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/djsession/djsession/djangosession"
)

// unavailable wraps a database failure in djangosession.ErrUnavailable,
// keeping the driver's error reachable with errors.Is/As.
func unavailable(op string, err error) error {
	return fmt.Errorf("dbstore: %s: %w: %w", op, djangosession.ErrUnavailable, err)
}

// isDuplicateKey recognises a unique-key violation without importing any
// driver: the SQLSTATE method of lib/pq and pgx (23505), the texts of
// go-sql-driver/mysql (error 1062) and SQLite ("UNIQUE constraint failed").
// PostgreSQL and SQLite normally never get here (their INSERT says ON
// CONFLICT DO NOTHING); MySQL relies on it.
func isDuplicateKey(err error) bool {
	var st interface{ SQLState() string }
	if errors.As(err, &st) && st.SQLState() == "23505" {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "Error 1062") || strings.Contains(msg, "Duplicate entry") ||
		strings.Contains(msg, "UNIQUE constraint failed") ||
		strings.Contains(msg, "duplicate key value violates unique constraint")
}
