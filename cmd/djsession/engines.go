package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cookiestore"
	"github.com/djsession/djsession/djangosession/dbstore"
	"github.com/djsession/djsession/djangosession/filestore"
	"github.com/djsession/djsession/pyvalue"
)

// engine is one SESSION_ENGINE this build can run.
type engine struct {
	name string // short name, as capabilities lists it
	path string // SESSION_ENGINE value
	open func(ctx context.Context, e *env, s *djangosession.Settings) (*openStore, error)
}

// openStore is an opened engine and how to release it.
type openStore struct {
	store djangosession.Store
	close func() error
	// db is the engine's database (db engine only), for migrate.
	db *dbstore.Store
}

// engines is the table of wired engines (cache and cached_db come from
// cacheEngines, cacheengines.go).
func engines() []engine {
	list := []engine{
		{name: "db", path: djangosession.EngineDB, open: openDB},
		{name: "file", path: djangosession.EngineFile, open: openFile},
		{name: "signed_cookies", path: djangosession.EngineSignedCookies, open: openCookies},
	}
	return append(list, cacheEngines()...)
}

func engineNames() []string {
	var names []string
	for _, en := range engines() {
		names = append(names, en.name)
	}
	return names
}

// databaseNames lists the DATABASES vendors whose driver is registered in
// this binary (the dbstore dialects are all three).
func databaseNames() []string {
	drivers := sql.Drivers()
	var names []string
	for _, v := range []struct{ vendor, driver string }{
		{"sqlite", "sqlite3"}, {"postgresql", "pgx"}, {"mysql", "mysql"},
	} {
		if slices.Contains(drivers, v.driver) {
			names = append(names, v.vendor)
		}
	}
	return names
}

// serializerNames lists the SESSION_SERIALIZERs that work: JSON always,
// pickle when the library's settings can build its serializer.
func serializerNames() []string {
	names := []string{"json"}
	s, err := djangosession.LoadSettings([]byte(`{"SECRET_KEY":"x","TARGET_DJANGO_VERSION":"3.2","SESSION_SERIALIZER":"` + djangosession.PickleSerializerPath + `"}`))
	if err == nil {
		if _, err := s.Serializer(); err == nil {
			names = append(names, "pickle")
		}
	}
	return names
}

// logger sends the library's logs (Django's "Session data corrupted"
// warning) to the command's stderr.
func (e *env) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// storeSettings returns validated settings for an engine subcommand: the
// serializer must exist for the target version.
func (e *env) storeSettings() (*djangosession.Settings, error) {
	s, err := e.settingsChecked()
	if err != nil {
		return nil, err
	}
	if _, err := s.Serializer(); err != nil {
		return nil, err
	}
	return s, nil
}

// openEngine opens the configured SESSION_ENGINE.
func (e *env) openEngine(s *djangosession.Settings) (*openStore, error) {
	for _, en := range engines() {
		if en.path == s.SessionEngine {
			return en.open(e.ctx, e, s)
		}
	}
	return nil, unsupportedf("unknown SESSION_ENGINE %q (engines: %v)", s.SessionEngine, engineNames())
}

// isCookieEngine reports whether the session key is the cookie itself.
func isCookieEngine(s *djangosession.Settings) bool {
	return s.SessionEngine == djangosession.EngineSignedCookies
}

func openDB(ctx context.Context, e *env, s *djangosession.Settings) (*openStore, error) {
	dbs, ok := s.Databases["default"]
	if !ok {
		return nil, fmt.Errorf("the db engine needs DATABASES.default")
	}
	t, err := sqlTargetFor(dbs)
	if err != nil {
		return nil, err
	}
	var dialect dbstore.Dialect
	switch t.vendor {
	case "sqlite":
		dialect = dbstore.SQLite
	case "postgresql":
		dialect = dbstore.Postgres
	case "mysql":
		dialect = dbstore.MySQL
	}
	db, err := sql.Open(t.driver, t.dsn)
	if err != nil {
		return nil, fmt.Errorf("opening %s database: %w", t.vendor, err)
	}
	codec, err := djangosession.NewCodec(s, djangosession.WithLogger(e.logger()))
	if err != nil {
		db.Close()
		return nil, err
	}
	vc := &verdictCodec{codec: codec}
	// A one-shot CLI gains nothing from prepared statements.
	st, err := dbstore.New(db, dialect, s, dbstore.WithCodec(vc), dbstore.WithoutPrepare())
	if err != nil {
		db.Close()
		return nil, err
	}
	return &openStore{store: &verdictStore{Store: st, codec: vc}, db: st, close: func() error {
		st.Close()
		return db.Close()
	}}, nil
}

func openFile(ctx context.Context, e *env, s *djangosession.Settings) (*openStore, error) {
	st, err := filestore.New(s)
	if err != nil {
		return nil, err
	}
	return &openStore{store: st, close: st.Close}, nil
}

func openCookies(ctx context.Context, e *env, s *djangosession.Settings) (*openStore, error) {
	st, err := cookiestore.New(s)
	if err != nil {
		return nil, err
	}
	return &openStore{store: st, close: func() error { return nil }}, nil
}

// verdictCodec is the db engine's codec, remembering whether the data it
// decoded verified: the library (like Django) loads unverifiable data as an
// empty session, and read must report it as not existing, as the Django
// peer does.
type verdictCodec struct {
	codec  *djangosession.Codec
	failed bool
	raised error // Django 3.2 raises out of decode() for this data
}

func (v *verdictCodec) Encode(d *pyvalue.Dict) (string, error) { return v.codec.Encode(d) }

func (v *verdictCodec) DecodeOrEmpty(s string) *pyvalue.Dict {
	d, err := v.codec.Decode(s)
	if err == nil {
		return d
	}
	v.failed = true
	var de *djangosession.DecodeError
	if errors.As(err, &de) && de.Raises {
		v.raised = err
	}
	return v.codec.DecodeOrEmpty(s) // logs Django's warning
}

// verdictStore is the db engine with its verdictCodec at hand.
type verdictStore struct {
	*dbstore.Store
	codec *verdictCodec
}
