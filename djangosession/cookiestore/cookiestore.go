// Package cookiestore is Django's "signed_cookies" session engine
// (django.contrib.sessions.backends.signed_cookies): the whole session dict
// lives in the cookie, as
//
//	signing.dumps(data, salt="django.contrib.sessions.backends.signed_cookies",
//	              serializer=SESSION_SERIALIZER, compress=True)
//
// and nothing is stored server-side. The cookie value is the session "key".
//
// Django's documented properties are kept, not fixed:
//
//   - Only the signing timestamp limits validity, against SESSION_COOKIE_AGE
//     (an age equal to it is still valid, one second more is not). A
//     per-session _session_expiry (set_expiry) is not enforced server-side;
//     it only drives the cookie's Max-Age/Expires.
//   - A cookie stays valid until it expires: cycle_key() only re-signs the
//     data, and flush() or Delete cannot revoke a cookie a client kept.
//   - A value signed for another purpose (signing.dumps' default salt, a
//     database session's encode()) does not verify here.
//
// Django emits a cookie of any size; browsers silently drop cookies over
// about 4 KB, which silently loses the session. CheckSize lets the HTTP
// middleware detect that (ErrCookieTooLarge).
package cookiestore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
	"github.com/djsession/djsession/signing"
)

// Salt is the salt of the engine's signatures (the engine's module path).
const Salt = "django.contrib.sessions.backends.signed_cookies"

// ErrNotDict: a cookie verified but does not carry a dict (only someone with
// the secret key can produce one). Wrapped with djangosession.ErrNotFound.
var ErrNotDict = errors.New("cookiestore: signed value is not a dict")

// Option configures a Store.
type Option func(*config)

type config struct {
	now func() time.Time
}

// WithClock replaces time.Now as the signing and verification clock (tests
// freeze it).
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// Store is the signed_cookies engine. It is safe for concurrent use.
type Store struct {
	signer *signing.TimestampSigner
	ser    signing.Serializer
	maxAge time.Duration
}

var (
	_ djangosession.Store    = (*Store)(nil)
	_ djangosession.KeyMaker = (*Store)(nil)
)

// New returns the engine for s: SECRET_KEY signs; SECRET_KEY_FALLBACKS also
// verify where the target version has them (4.1+); under a 3.2 target the
// DEFAULT_HASHING_ALGORITHM signs and SHA-1 signatures are accepted, as
// Django 3.2 accepts them; SESSION_SERIALIZER picks JSON or pickle;
// SESSION_COOKIE_AGE is the max age.
func New(s *djangosession.Settings, opts ...Option) (*Store, error) {
	if s == nil {
		return nil, errors.New("cookiestore: nil settings")
	}
	cfg := config{now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	c := *s
	c.Defaults()
	ser, err := serializerFor(&c)
	if err != nil {
		return nil, fmt.Errorf("cookiestore: %w", err)
	}
	o := c.SignerOptions(Salt)
	o.Now = cfg.now
	signer, err := signing.NewTimestampSigner(o)
	if err != nil {
		return nil, fmt.Errorf("cookiestore: %w", err)
	}
	return &Store{
		signer: signer,
		ser:    ser,
		maxAge: time.Duration(c.SessionCookieAge) * time.Second,
	}, nil
}

// KeyFromData reports true: the key is the signed data, there is no random
// server-side key to create.
func (*Store) KeyFromData() bool { return true }

// Load verifies the cookie r.Key (signature under SECRET_KEY or a fallback
// key, age <= SESSION_COOKIE_AGE) and decodes the dict it carries into
// r.Data. Every failure — bad or truncated signature, expired, wrong salt,
// undecodable payload — gives ErrNotFound wrapping the signing error. In
// Django such a load yields an empty session that keeps the bad cookie as
// its key and is marked modified (so a response that touched the session
// replaces the cookie); the Session applies that on ErrNotFound from a
// KeyMaker engine.
func (s *Store) Load(ctx context.Context, r *djangosession.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := s.signer.UnsignObjectMaxAge(r.Key, s.ser, s.maxAge)
	if err != nil {
		return fmt.Errorf("%w: %w", djangosession.ErrNotFound, err)
	}
	d, ok := v.(*pyvalue.Dict)
	if !ok || d == nil {
		return fmt.Errorf("%w: %w (got %s)", djangosession.ErrNotFound, ErrNotDict, pyTypeName(v))
	}
	r.Data = d
	return nil
}

// Save signs r.Data (with the current time) and sets r.Key to the new cookie
// value. mustCreate makes no difference: a cookie can always be created.
func (s *Store) Save(ctx context.Context, r *djangosession.Record, mustCreate bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data := r.Data
	if data == nil {
		data = pyvalue.NewDict(0)
	}
	v, err := s.signer.SignObject(data, s.ser, true)
	if err != nil {
		return fmt.Errorf("cookiestore: %w", err)
	}
	r.Key = v
	return nil
}

// Encode returns the cookie value of data signed now (Save without a
// Record).
func (s *Store) Encode(data *pyvalue.Dict) (string, error) {
	r := djangosession.Record{Data: data}
	if err := s.Save(context.Background(), &r, false); err != nil {
		return "", err
	}
	return r.Key, nil
}

// Exists is always false, as in Django: there is no server-side record.
func (*Store) Exists(ctx context.Context, key string) (bool, error) { return false, ctx.Err() }

// Delete does nothing: a cookie cannot be revoked server-side (the Session
// empties its data and key, and the middleware sends a deletion cookie).
func (*Store) Delete(ctx context.Context, key string) error { return ctx.Err() }

// ClearExpired does nothing, as in Django.
func (*Store) ClearExpired(ctx context.Context) error { return ctx.Err() }

func pyTypeName(v any) string {
	if v == nil {
		return "None"
	}
	return fmt.Sprintf("%T", v)
}
