// Package filestore is Django's "file" session engine
// (django.contrib.sessions.backends.file): one file per session, named
// SESSION_COOKIE_NAME + key inside SESSION_FILE_PATH, holding exactly the
// string SessionBase.encode() produces. Go and Django processes can share
// one directory.
//
// # Safety
//
// Keys are checked as Django checks them (only [a-z0-9]) before any file
// name is built, and all file operations are relative to a descriptor of the
// directory opened once by New, with O_NOFOLLOW and a regular-file check, so
// a hostile key or a symlink planted in the directory never reaches a file
// outside it.
//
// # Concurrency
//
// Django uses no locks for this engine: a write goes to a fresh temporary
// file in the same directory (named as Python's mkstemp names it, with the
// prefix file name + "_out_") which is then renamed over the session file.
// rename(2) is atomic, so a reader — Go or Django — sees either the old or
// the new content, never a torn file. This package does exactly the same and
// adds no locking of its own (a lock Django does not take would protect
// nothing). As in Django, two concurrent writers of one session race: the
// last rename wins.
package filestore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
)

// Errors specific to this engine. They are wrapped together with the
// djangosession sentinel that describes the outcome (ErrNotFound,
// ErrUnavailable).
var (
	// ErrNotRegular: the session's directory entry is a symlink, a
	// directory, a FIFO or another non-regular file. It is never followed
	// or opened for reading data.
	ErrNotRegular = errors.New("filestore: session file is not a regular file")

	// ErrNotASCII: a session file holds a byte above 0x7F. Django reads
	// session files with the ascii codec and its load() raises
	// UnicodeDecodeError, so this is an error, not an empty session.
	ErrNotASCII = errors.New("filestore: session file is not ASCII")

	// errNoFile and errExists classify open failures internally.
	errNoFile = errors.New("no such session file")
	errExists = errors.New("session file exists")
)

// Option configures a Store.
type Option func(*Store)

// WithClock replaces time.Now, the source of "now" for expiry decisions
// (tests freeze it).
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// Store is the file engine. It is safe for concurrent use.
type Store struct {
	settings  *djangosession.Settings
	dirp      atomic.Pointer[dir]
	path      string
	prefix    string
	cookieAge int64
	useTZ     bool
	loc       *time.Location
	codec     codec
	policy    *djangosession.ExpiryPolicy
	now       func() time.Time
}

var _ djangosession.Store = (*Store)(nil)

// New opens the session directory: SESSION_FILE_PATH, or when it is empty the
// system temporary directory chosen as Python's tempfile.gettempdir() would.
// The directory must exist (Django raises ImproperlyConfigured otherwise).
// Close releases the directory descriptor.
func New(s *djangosession.Settings, opts ...Option) (*Store, error) {
	if s == nil {
		return nil, errors.New("filestore: nil settings")
	}
	st := &Store{settings: s, now: time.Now}
	for _, o := range opts {
		o(st)
	}
	if err := st.bind(s); err != nil {
		return nil, err
	}
	if err := checkPrefix(st.prefix); err != nil {
		return nil, err
	}
	path := s.SessionFilePath
	if path == "" {
		p, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		path = p
	}
	if !isDir(path) {
		return nil, fmt.Errorf("filestore: the session storage path %q doesn't exist. Please set your SESSION_FILE_PATH setting to an existing directory in which Django can store session data", path)
	}
	d, err := openDir(path)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	st.dirp.Store(d)
	st.path = path
	return st, nil
}

// Dir returns the session directory.
func (s *Store) Dir() string { return s.path }

// FileName returns the name (inside Dir) of the file of key, and whether key
// is one the engine accepts.
func (s *Store) FileName(key string) (string, bool) {
	if !ValidKey(s.prefix, key) {
		return "", false
	}
	return s.prefix + key, true
}

// Close releases the directory descriptor. The Store must not be used
// afterwards.
func (s *Store) Close() error { return s.dirp.Load().close() }

// currentDir returns the open directory, reopening SESSION_FILE_PATH when
// the path now names another directory (Django, which works with the path,
// would follow it). A directory that no longer exists is ErrUnavailable.
func (s *Store) currentDir() (*dir, error) {
	d := s.dirp.Load()
	same, err := d.samePath(s.path)
	if err != nil {
		return nil, fmt.Errorf("%w: session directory: %w", djangosession.ErrUnavailable, err)
	}
	if same {
		return d, nil
	}
	nd, err := openDir(s.path)
	if err != nil {
		return nil, fmt.Errorf("%w: session directory: %w", djangosession.ErrUnavailable, err)
	}
	if s.dirp.CompareAndSwap(d, nd) {
		// d may still be in use by a concurrent call: its descriptor is
		// released by the *os.File cleanup once unreachable.
		return nd, nil
	}
	nd.close()
	return s.dirp.Load(), nil
}

func (s *Store) invalidKey(key string) error {
	return fmt.Errorf("%w: %w: %q", djangosession.ErrNotFound, djangosession.ErrInvalidKey, key)
}

// Load reads the session file of r.Key, as Django's file SessionStore.load:
//
//   - an invalid key, a missing file or a non-regular entry: ErrNotFound;
//   - an empty file (Django's must-create placeholder): an empty session,
//     key kept;
//   - a non-ASCII byte: ErrNotASCII (Django raises UnicodeDecodeError);
//   - content that does not decode: an empty session (then the expiry rule
//     applies with the file's mtime), except where Django 3.2's decode
//     raises (verified data that is not a payload, retried as the pre-3.1
//     format): a *djangosession.DecodeError, as Django's load raises;
//   - expiry = data["_session_expiry"] or (mtime + SESSION_COOKIE_AGE); when
//     get_expiry_age(expiry) <= 0 the file is deleted and, as Django does, a
//     new session file holding encode({}) is created under a fresh key: r.Key
//     is that key and r.Data is empty. An integer _session_expiry is a
//     relative age in Django, so such a file never expires by it (a quirk
//     kept on purpose; only mtime or an absolute date expires a file).
func (s *Store) Load(ctx context.Context, r *djangosession.Record) error {
	return s.load(ctx, r, true)
}

func (s *Store) load(ctx context.Context, r *djangosession.Record, recreate bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name, ok := s.FileName(r.Key)
	if !ok {
		return s.invalidKey(r.Key)
	}
	d, err := s.currentDir()
	if err != nil {
		return err
	}
	content, mtime, err := d.readRegular(name)
	if err != nil {
		if errors.Is(err, errNoFile) || errors.Is(err, ErrNotRegular) {
			return fmt.Errorf("%w: %w", djangosession.ErrNotFound, err)
		}
		return fmt.Errorf("%w: %w", djangosession.ErrUnavailable, err)
	}
	if i := firstNonASCII(content); i >= 0 {
		return fmt.Errorf("%w: byte 0x%02x at offset %d of %s", ErrNotASCII, content[i], i, name)
	}
	if len(content) == 0 {
		// Django: "We may have opened the empty placeholder file."
		r.Data = pyvalue.NewDict(0)
		return nil
	}
	// content is a fresh buffer never written again: share it as the
	// string rather than copy it (up to the whole file).
	text := unsafe.String(unsafe.SliceData(content), len(content))
	data, err := s.codec.Decode(text)
	if err != nil {
		var de *djangosession.DecodeError
		if errors.As(err, &de) && de.Raises {
			// Django 3.2: the legacy-format retry raises binascii.Error,
			// which its file load does not catch.
			return fmt.Errorf("filestore: %s: %w", name, err)
		}
		// Django's empty session, with its log line where it logs one.
		data = s.codec.DecodeOrEmpty(text)
	}
	expired, err := s.expired(data, mtime)
	if err != nil {
		return fmt.Errorf("filestore: expiry of %s: %w", name, err)
	}
	if !expired {
		r.Data = data
		return nil
	}
	if err := d.unlink(name); err != nil && !errors.Is(err, errNoFile) && !errors.Is(err, ErrNotRegular) {
		// Django ignores every OSError of delete(); a failure that is not
		// "already gone" is reported, as the session is not removed.
		return fmt.Errorf("%w: %w", djangosession.ErrUnavailable, err)
	}
	r.Data = pyvalue.NewDict(0)
	if !recreate {
		return nil
	}
	return s.create(ctx, r)
}

// create is SessionBase.create() as the file engine's load reaches it: a
// fresh key, not taken, saved with must_create and the current (empty)
// data, retried on a collision.
func (s *Store) create(ctx context.Context, r *djangosession.Record) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		key, err := newKey()
		if err != nil {
			return err
		}
		taken, err := s.Exists(ctx, key)
		if err != nil {
			return err
		}
		if taken {
			continue
		}
		nr := djangosession.Record{Key: key, Data: r.Data}
		err = s.Save(ctx, &nr, true)
		if errors.Is(err, djangosession.ErrKeyExists) {
			continue
		}
		if err != nil {
			return err
		}
		r.Key = key
		return nil
	}
}

// Exists reports whether any directory entry carries the file name of key
// (Django: os.path.exists). An invalid key gives ErrInvalidKey, as Django's
// exists() raises InvalidSessionKey.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	name, ok := s.FileName(key)
	if !ok {
		return false, fmt.Errorf("%w: %q", djangosession.ErrInvalidKey, key)
	}
	d, err := s.currentDir()
	if err != nil {
		return false, err
	}
	ok, err = d.exists(name)
	if err != nil {
		return false, fmt.Errorf("%w: %w", djangosession.ErrUnavailable, err)
	}
	return ok, nil
}

// Save writes r.Data as Django's file save does: first the target is opened
// write-only — created with O_CREAT|O_EXCL when mustCreate (an existing file
// gives ErrKeyExists), required to exist otherwise (a missing one gives
// ErrSessionInterrupted) — then encode(data) goes to a temp file
// <file name>_out_XXXXXXXX (mode 0600) in the same directory, renamed over
// the target. Where Django silently ignores an OSError of the write step,
// Save reports it wrapped in ErrUnavailable: losing a session write
// silently is not something a caller can act on.
func (s *Store) Save(ctx context.Context, r *djangosession.Record, mustCreate bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name, ok := s.FileName(r.Key)
	if !ok || len(name)+len(tempInfix)+tempRandLen > nameMax {
		// The second case: Django would create the placeholder and then
		// silently fail in mkstemp (ENAMETOOLONG); refuse before touching
		// anything instead.
		return fmt.Errorf("%w: %q", djangosession.ErrInvalidKey, r.Key)
	}
	data := r.Data
	if data == nil {
		data = pyvalue.NewDict(0)
	}
	encoded, err := s.codec.Encode(data)
	if err != nil {
		return fmt.Errorf("filestore: encode: %w", err)
	}
	d, err := s.currentDir()
	if err != nil {
		return err
	}
	if err := d.touch(name, mustCreate); err != nil {
		switch {
		case mustCreate && errors.Is(err, errExists):
			return fmt.Errorf("%w: %w", djangosession.ErrKeyExists, err)
		case !mustCreate && errors.Is(err, errNoFile):
			return fmt.Errorf("%w: %w", djangosession.ErrSessionInterrupted, err)
		}
		return fmt.Errorf("%w: %w", djangosession.ErrUnavailable, err)
	}
	tmp, err := d.writeTemp(name+tempInfix, []byte(encoded))
	if err != nil {
		return fmt.Errorf("%w: %w", djangosession.ErrUnavailable, err)
	}
	if err := d.rename(tmp, name); err != nil {
		d.unlink(tmp)
		return fmt.Errorf("%w: %w", djangosession.ErrUnavailable, err)
	}
	return nil
}

// Delete removes the session file of key. A missing file is not an error
// (Django ignores every OSError here); a directory or other entry that
// unlink cannot remove is left alone. An invalid key gives ErrInvalidKey (in
// Django InvalidSessionKey escapes delete()).
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name, ok := s.FileName(key)
	if !ok {
		return fmt.Errorf("%w: %q", djangosession.ErrInvalidKey, key)
	}
	d, err := s.currentDir()
	if err != nil {
		return err
	}
	err = d.unlink(name)
	if err == nil || errors.Is(err, errNoFile) || errors.Is(err, ErrNotRegular) {
		return nil
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		// EPERM/EISDIR for a directory named like a session: Django
		// swallows it; so do we.
		if isDirErr(pe.Err) {
			return nil
		}
	}
	return fmt.Errorf("%w: %w", djangosession.ErrUnavailable, err)
}

// ClearExpired is Django's clearsessions for the file engine: every entry
// whose name starts with SESSION_COOKIE_NAME and whose rest is a valid key is
// loaded with the load logic above, except that an expired file is only
// deleted, never replaced. Entries with invalid keys (leftover "_out_" temp
// files, unrelated names) and non-regular entries are skipped; a file that
// vanishes during the scan is simply gone. Where Django aborts the whole
// scan on a non-ASCII file (UnicodeDecodeError), this skips that file and
// goes on, and it stops at the first storage failure or when ctx is done.
func (s *Store) ClearExpired(ctx context.Context) error {
	d, err := s.currentDir()
	if err != nil {
		return err
	}
	names, err := d.names()
	if err != nil {
		return fmt.Errorf("%w: %w", djangosession.ErrUnavailable, err)
	}
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(n) < len(s.prefix) || n[:len(s.prefix)] != s.prefix {
			continue
		}
		key := n[len(s.prefix):]
		if !ValidKey(s.prefix, key) {
			continue
		}
		r := djangosession.Record{Key: key}
		err := s.load(ctx, &r, false)
		switch {
		case err == nil, errors.Is(err, djangosession.ErrNotFound), errors.Is(err, ErrNotASCII):
		case errors.Is(err, djangosession.ErrUnavailable), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return err
		default:
			// An expiry Django's helpers cannot evaluate (e.g. an ISO
			// string under 3.2) makes Django's clearsessions crash; the
			// file is left untouched and the scan goes on.
		}
	}
	return nil
}

// firstNonASCII returns the offset of the first byte of b above 0x7F, or
// -1, testing eight bytes at a time.
func firstNonASCII(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= 0x80 {
			return i
		}
	}
	return -1
}
