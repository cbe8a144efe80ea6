package djangosession

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Placeholder styles of SQL drivers.
const (
	PlaceholderDollar   = "$" // PostgreSQL: $1
	PlaceholderQuestion = "?" // SQLite, MySQL/MariaDB: ?
)

// SQLUsers is a PasswordHashLookup reading Django's user table over
// database/sql, as ModelBackend.get_user does: the user with that primary
// key, refused when inactive. The zero value of every field but DB means
// Django's default auth_user table. It imports no driver: bring yours.
type SQLUsers struct {
	DB *sql.DB
	// Placeholder is PlaceholderDollar (PostgreSQL) or PlaceholderQuestion
	// (SQLite, MySQL); empty means "?".
	Placeholder string
	// Quote is the identifier quote character: `"` (PostgreSQL, SQLite,
	// the default) or "`" (MySQL).
	Quote string
	// Table is the user table (default "auth_user"; a custom user model's
	// db_table otherwise).
	Table string
	// IDColumn is the primary key column (default "id").
	IDColumn string
	// PasswordColumn is the password field's column (default "password").
	PasswordColumn string
	// ActiveColumn is the is_active column (default "is_active"); "-" means
	// the model has none, so every user may log in (user_can_authenticate).
	ActiveColumn string
	// TextID passes the id as text (UUID or string primary keys). By
	// default it is an integer, as AutoField's to_python makes it; text
	// that is not an integer is then an error, as Django's ValidationError.
	TextID bool
}

func (u *SQLUsers) query() (string, error) {
	q := u.Quote
	if q == "" {
		q = `"`
	}
	ident := func(name, def string) (string, error) {
		if name == "" {
			name = def
		}
		if strings.ContainsAny(name, "\"`'\x00;") || strings.TrimSpace(name) == "" {
			return "", fmt.Errorf("djangosession: invalid SQL identifier %q", name)
		}
		parts := strings.Split(name, ".") // schema.table
		for i, p := range parts {
			parts[i] = q + p + q
		}
		return strings.Join(parts, "."), nil
	}
	table, err := ident(u.Table, "auth_user")
	if err != nil {
		return "", err
	}
	id, err := ident(u.IDColumn, "id")
	if err != nil {
		return "", err
	}
	pw, err := ident(u.PasswordColumn, "password")
	if err != nil {
		return "", err
	}
	cols := pw
	if u.ActiveColumn != "-" {
		active, err := ident(u.ActiveColumn, "is_active")
		if err != nil {
			return "", err
		}
		cols += ", " + active
	}
	ph := "?"
	if u.Placeholder == PlaceholderDollar {
		ph = "$1"
	}
	return "SELECT " + cols + " FROM " + table + " WHERE " + id + " = " + ph, nil
}

// PasswordHash returns the password field of user userID, ErrUserNotFound
// if there is no such active user, and errors wrapping ErrUnavailable when
// the database fails.
func (u *SQLUsers) PasswordHash(ctx context.Context, userID string) (string, error) {
	q, err := u.query()
	if err != nil {
		return "", err
	}
	var arg any = userID
	if !u.TextID {
		n, err := strconv.ParseInt(strings.TrimSpace(userID), 10, 64)
		if err != nil {
			return "", fmt.Errorf("djangosession: user id %s is not an integer: %w", pyRepr(userID), ErrWrongType)
		}
		arg = n
	}
	var password string
	var active sql.NullBool
	dest := []any{&password}
	if u.ActiveColumn != "-" {
		dest = append(dest, &active)
	}
	err = u.DB.QueryRowContext(ctx, q, arg).Scan(dest...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", ErrUserNotFound
	case err != nil:
		return "", fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	// user_can_authenticate: is_active or is_active is None.
	if u.ActiveColumn != "-" && active.Valid && !active.Bool {
		return "", fmt.Errorf("%w: user %s is inactive", ErrUserNotFound, userID)
	}
	return password, nil
}
