package filestore

import (
	"fmt"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
)

// codec is the part of djangosession.Codec the engine uses.
type codec interface {
	Encode(*pyvalue.Dict) (string, error)
	Decode(string) (*pyvalue.Dict, error)
	DecodeOrEmpty(string) *pyvalue.Dict
}

// bind reads the settings the engine depends on, with Django's defaults for
// unset ones (the caller's Settings is not modified).
func (st *Store) bind(s *djangosession.Settings) error {
	c := *s
	c.Defaults()
	st.settings = &c
	st.prefix = c.SessionCookieName
	st.cookieAge = c.SessionCookieAge
	st.useTZ = c.UsesTZ()
	loc, err := c.Location()
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	st.loc = loc
	pol, err := c.ExpiryPolicy()
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	st.policy = pol
	cd, err := djangosession.NewCodec(&c, djangosession.WithNow(st.now))
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	st.codec = cd
	return nil
}

// valueExpired is get_expiry_age(expiry=v) <= 0 for a truthy stored
// _session_expiry, with the target version's rules (an int is a relative age
// and never expires a file; an ISO string is a date from 4.1).
func (st *Store) valueExpired(v any, now time.Time) (bool, error) {
	age, err := st.policy.Age(v, now)
	if err != nil {
		return false, err
	}
	return age <= 0, nil
}

func newKey() (string, error) { return djangosession.NewKey() }
