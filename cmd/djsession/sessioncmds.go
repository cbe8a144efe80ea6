package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/filestore"
	"github.com/djsession/djsession/pyvalue"
)

func sessionCommands() []*command {
	return []*command{
		{name: "write", protocol: true, run: cmdWrite,
			summary: "save a new session: SessionStore(); s[k]=v; s.set_expiry(expiry); s.save()",
			stdin:   `{"data": {...}, "expiry": null|int|"ISO-8601", "tagged": bool}`,
			stdout:  `{"session_key", "expiry_age", "expire_date", "expire_ts"}`},
		{name: "read", args: "KEY", protocol: true, run: cmdRead,
			summary: "load a session as Django sees it (missing, expired or unverified: exists false)",
			stdout:  `{"exists", "data", "expiry_age", "expire_date", "expire_ts", "expire_at_browser_close"}`},
		{name: "modify", args: "KEY", protocol: true, run: cmdModify,
			summary: "load, delete keys, set keys, apply expiry, save",
			stdin:   `{"set": {...}, "delete": [keys], "expiry": (optional), "tagged": bool}`,
			stdout:  `{"session_key": str}`},
		{name: "delete", args: "KEY", protocol: true, run: cmdDelete,
			summary: "delete the stored session", stdout: `{"ok": true}`},
		{name: "cycle", args: "KEY", protocol: true, run: cmdCycle,
			summary: "cycle_key() then save: same data under a new key", stdout: `{"session_key": new}`},
		{name: "clear-expired", protocol: true, run: cmdClearExpired,
			summary: "clear_expired() (manage.py clearsessions)", stdout: `{"ok": true}`},
	}
}

// sessionEnv is an opened engine with a Session manager over it.
type sessionEnv struct {
	*openStore
	settings *djangosession.Settings
	manager  *djangosession.Manager
}

func (e *env) openSessions() (*sessionEnv, error) {
	s, err := e.storeSettings()
	if err != nil {
		return nil, err
	}
	st, err := e.openEngine(s)
	if err != nil {
		return nil, err
	}
	m, err := djangosession.NewManager(st.store, s)
	if err != nil {
		st.close()
		return nil, err
	}
	return &sessionEnv{openStore: st, settings: s, manager: m}, nil
}

// keyedSessions is the preamble of a command on one session: it checks the
// positional argument count, reads the session key (the first argument)
// and opens the engine.
func (e *env) keyedSessions(min, max int) (string, *sessionEnv, error) {
	if err := e.wantArgs(min, max); err != nil {
		return "", nil, err
	}
	key, err := e.key(0)
	if err != nil {
		return "", nil, err
	}
	se, err := e.openSessions()
	if err != nil {
		return "", nil, err
	}
	return key, se, nil
}

// saveAndEmitKey saves sess, as SessionMiddleware does at the end of the
// request, and prints its key.
func (e *env) saveAndEmitKey(sess *djangosession.Session) error {
	if err := sess.Save(e.ctx); err != nil {
		return err
	}
	return e.emit(obj("session_key", sess.Key()))
}

// expiryField converts the protocol's expiry (null, int, float, ISO text)
// to the argument of Session.SetExpiry, as the Django peer hands it to
// set_expiry: with USE_TZ=False an aware time becomes the naive wall time of
// TIME_ZONE (what a Django app would pass).
func expiryField(s *djangosession.Settings, v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64, float64:
		return x, nil
	case string:
		dt, err := pyvalue.ParseISO(x)
		if err != nil {
			return nil, usagef("expiry: %v", err)
		}
		if dt.TZ != nil && !s.UsesTZ() {
			t, err := dt.GoTime(time.UTC)
			if err != nil {
				return nil, usagef("expiry: %v", err)
			}
			return t, nil // SetExpiry makes it naive in TIME_ZONE
		}
		return dt, nil
	}
	if pyvalue.TypeName(v) == "int" {
		return v, nil
	}
	return nil, usagef("expiry must be null, an integer or an ISO-8601 string, got %s", pyvalue.TypeName(v))
}

// expiryInfo appends get_expiry_age(), get_expiry_date().isoformat() and
// its epoch to out, as the peer reports them.
func expiryInfo(e *env, se *sessionEnv, sess *djangosession.Session, out *pyvalue.Dict) error {
	age, err := sess.ExpiryAge(e.ctx)
	if err != nil {
		return err
	}
	date, err := sess.ExpiryDate(e.ctx)
	if err != nil {
		return err
	}
	out.Set("expiry_age", ageValue(e, sess, age))
	out.Set("expire_date", pyISOFormat(date, se.settings.UsesTZ()))
	out.Set("expire_ts", float64(date.UnixMicro())/1e6)
	return nil
}

// ageValue gives get_expiry_age() Python's type: an int, except that a float
// _session_expiry is returned as it is.
func ageValue(e *env, sess *djangosession.Session, age float64) any {
	if v, ok, _ := sess.Get(e.ctx, "_session_expiry"); ok {
		if _, isFloat := v.(float64); isFloat {
			return age
		}
	}
	if age == math.Trunc(age) && math.Abs(age) < 1<<62 {
		return int64(age)
	}
	return age
}

// pyISOFormat is datetime.isoformat(): microseconds only when non-zero, the
// offset for aware values, none for USE_TZ=False's naive wall times.
func pyISOFormat(t time.Time, aware bool) string {
	b := t.AppendFormat(nil, "2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		b = append(b, '.')
		b = append(b, fmt.Sprintf("%06d", us)...)
	}
	if aware {
		b = t.AppendFormat(b, "-07:00")
		_, off := t.Zone()
		if off%60 != 0 {
			s := off % 60
			if s < 0 {
				s = -s
			}
			b = append(b, fmt.Sprintf(":%02d", s)...)
		}
	}
	return string(b)
}

func cmdWrite(e *env) error {
	if err := e.wantArgs(0, 0); err != nil {
		return err
	}
	in, err := e.readInput()
	if err != nil {
		return err
	}
	data, err := sessionDataField(in, "data", true)
	if err != nil {
		return err
	}
	se, err := e.openSessions()
	if err != nil {
		return err
	}
	defer se.close()
	expV, _ := in.Get("expiry")
	expiry, err := expiryField(se.settings, expV)
	if err != nil {
		return err
	}
	sess := se.manager.Session("")
	for i := 0; i < data.Len(); i++ {
		k, v := data.At(i)
		ks, ok := k.(string)
		if !ok {
			return usagef("session keys must be strings")
		}
		if err := sess.Set(e.ctx, ks, v); err != nil {
			return err
		}
	}
	if expiry != nil {
		if err := sess.SetExpiry(e.ctx, expiry); err != nil {
			return err
		}
	}
	if err := sess.Save(e.ctx); err != nil {
		return err
	}
	out := obj("session_key", sess.Key())
	if err := expiryInfo(e, se, sess, out); err != nil {
		return err
	}
	return e.emit(out)
}

func cmdRead(e *env) error {
	key, se, err := e.keyedSessions(1, 1)
	if err != nil {
		return err
	}
	defer se.close()
	sess := se.manager.Session(key)
	data, err := sess.Data(e.ctx)
	if err != nil {
		if errors.Is(err, djangosession.ErrInvalidExpiry) || errors.Is(err, filestore.ErrNotASCII) {
			// Django's load() raises here (TypeError, UnicodeDecodeError).
			return &kindError{"exception", err}
		}
		return err
	}
	exists := sess.Key() != "" && sess.Key() == key
	if isCookieEngine(se.settings) {
		// A cookie that fails to load: Django keeps its value as the key
		// and marks the session modified (create()); the library drops the
		// key. Either means there was no valid session.
		exists = sess.Key() != "" && !sess.Modified()
	}
	if exists {
		ok, err := se.verified(e, key)
		if err != nil {
			return err
		}
		exists = ok
	}
	out := obj("exists", exists)
	if exists {
		out.Set("data", toTagged(data))
	} else {
		out.Set("data", pyvalue.NewDict(0))
	}
	if err := expiryInfo(e, se, sess, out); err != nil {
		// Django 3.2 cannot compute the expiry of a 4.1+ ISO-string
		// _session_expiry; the peer reports its exception with exit 1.
		out.Set("error", err.Error())
		out.Set("kind", "exception")
		if werr := e.emit(out); werr != nil {
			return werr
		}
		return errReported
	}
	bc, err := sess.ExpireAtBrowserClose(e.ctx)
	if err != nil {
		return err
	}
	out.Set("expire_at_browser_close", bc)
	return e.emit(out)
}

// verified reports whether the stored data of key verified. The library
// turns unverifiable data into an empty session, as Django does; read must
// tell that apart from a stored empty session.
func (se *sessionEnv) verified(e *env, key string) (bool, error) {
	switch st := se.store.(type) {
	case *verdictStore:
		if st.codec.raised != nil {
			return false, &kindError{"exception", st.codec.raised}
		}
		return !st.codec.failed, nil
	case *cachedDBStore:
		if st.codec.raised != nil {
			return false, &kindError{"exception", st.codec.raised}
		}
		return !st.codec.failed, nil
	case *filestore.Store:
		name, ok := st.FileName(key)
		if !ok {
			return false, nil
		}
		b, err := os.ReadFile(filepath.Join(st.Dir(), name))
		if err != nil {
			return false, nil
		}
		if len(b) == 0 {
			return true, nil // Django's must-create placeholder: {} without decode
		}
		c, err := e.codec(se.settings)
		if err != nil {
			return false, err
		}
		_, err = c.Decode(string(b))
		var de *djangosession.DecodeError
		if errors.As(err, &de) && de.Raises {
			return false, &kindError{"exception", err}
		}
		return err == nil, nil
	}
	return true, nil
}

func cmdModify(e *env) error {
	if err := e.wantArgs(1, 1); err != nil {
		return err
	}
	key, err := e.key(0)
	if err != nil {
		return err
	}
	in, err := e.readInput()
	if err != nil {
		return err
	}
	set, err := sessionDataField(in, "set", false)
	if err != nil {
		return err
	}
	var del []any
	if v, ok := in.Get("delete"); ok && v != nil {
		l, isList := v.([]any)
		if !isList {
			return usagef(`"delete" must be a list`)
		}
		del = l
	}
	se, err := e.openSessions()
	if err != nil {
		return err
	}
	defer se.close()
	sess := se.manager.Session(key)
	for _, k := range del {
		ks, ok := k.(string)
		if !ok {
			return usagef(`"delete" must list strings`)
		}
		if _, _, err := sess.Pop(e.ctx, ks); err != nil {
			return err
		}
	}
	for i := 0; i < set.Len(); i++ {
		k, v := set.At(i)
		if err := sess.Set(e.ctx, k.(string), v); err != nil {
			return err
		}
	}
	if expV, ok := in.Get("expiry"); ok {
		expiry, err := expiryField(se.settings, expV)
		if err != nil {
			return err
		}
		if err := sess.SetExpiry(e.ctx, expiry); err != nil {
			return err
		}
	}
	return e.saveAndEmitKey(sess)
}

func cmdDelete(e *env) error {
	key, se, err := e.keyedSessions(1, 1)
	if err != nil {
		return err
	}
	defer se.close()
	if err := se.manager.Session(key).DeleteRecord(e.ctx, ""); err != nil {
		return err
	}
	return e.emit(obj("ok", true))
}

func cmdCycle(e *env) error {
	key, se, err := e.keyedSessions(1, 1)
	if err != nil {
		return err
	}
	defer se.close()
	sess := se.manager.Session(key)
	if err := sess.CycleKey(e.ctx); err != nil {
		return err
	}
	return e.saveAndEmitKey(sess)
}

func cmdClearExpired(e *env) error {
	if err := e.wantArgs(0, 0); err != nil {
		return err
	}
	se, err := e.openSessions()
	if err != nil {
		return err
	}
	defer se.close()
	if err := se.store.ClearExpired(e.ctx); err != nil {
		return err
	}
	return e.emit(obj("ok", true))
}

// errReported is returned by a subcommand that has already printed its
// error object: run only sets exit code 1.
var errReported = errors.New("error already reported")
