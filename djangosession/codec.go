package djangosession

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/djsession/djsession/pyvalue"
	"github.com/djsession/djsession/signing"
)

// KeySaltPrefix is prepended to the store class's qualified name to form
// SessionBase.key_salt.
const KeySaltPrefix = "django.contrib.sessions."

// DefaultStoreClass is the __qualname__ of every built-in SessionStore.
const DefaultStoreClass = "SessionStore"

// SuspiciousSessionLogger is the name of the Python logger Django warns on
// when session data does not verify; DecodeOrEmpty logs with it as the
// "logger" attribute.
const SuspiciousSessionLogger = "django.security.SuspiciousSession"

// CorruptedMessage is the warning Django logs for session data that does not
// verify.
const CorruptedMessage = "Session data corrupted"

// DecodeError is the reason session data did not decode. Django turns all of
// them into an empty session; the fields say how it got there.
type DecodeError struct {
	// Err is the cause. It matches signing.ErrBadSignature for data that
	// does not verify (wrong key or salt, tampering, garbage),
	// signing.ErrMalformed for verified data that does not deserialize,
	// ErrNotDict for a payload that is not a dict.
	Err error
	// Warned reports that Django logs the WARNING "Session data corrupted" on
	// logger django.security.SuspiciousSession for this input.
	Warned bool
	// Raises reports that Django 3.2 does not return {} but lets an
	// exception (binascii.Error "Incorrect padding") escape decode(): it
	// retries verified-but-undecodable data as the legacy format, whose
	// base64 decoding fails outside its error handling.
	Raises bool
}

func (e *DecodeError) Error() string { return "djangosession: decode: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// Codec is SessionBase.encode/decode for one configuration: the key salt of
// the store class, the serializer, the target version's signing rules and
// the pre-3.1 legacy format where Django 3.2 uses it. It is safe for
// concurrent use; key derivation is done once, in NewCodec.
type Codec struct {
	keySalt     string
	signer      *signing.TimestampSigner
	ser         signing.Serializer
	legacyRead  bool
	legacyWrite bool
	legacyKey   []byte // sha1(legacy salt + SECRET_KEY), the HMAC key of _hash
	logger      *slog.Logger
}

// CodecOption configures NewCodec.
type CodecOption func(*codecConfig)

type codecConfig struct {
	storeClass string
	keySalt    string
	logger     *slog.Logger
	now        func() time.Time
	ser        signing.Serializer
	maxPayload int
}

// WithStoreClass sets the __qualname__ of the Python store class whose data
// is encoded ("MySessionStore", "Outer.InnerStore"); the default is
// "SessionStore", shared by all of Django's engines.
func WithStoreClass(qualname string) CodecOption {
	return func(c *codecConfig) { c.storeClass = qualname }
}

// WithKeySalt replaces the whole salt (normally KeySaltPrefix + the store
// class qualname), e.g. "django.contrib.sessions.backends.signed_cookies",
// the salt of the signed_cookies engine's cookie. The pre-3.1 legacy format
// still uses the store class name.
func WithKeySalt(salt string) CodecOption { return func(c *codecConfig) { c.keySalt = salt } }

// WithLogger sets the logger DecodeOrEmpty warns on (default slog.Default()).
func WithLogger(l *slog.Logger) CodecOption { return func(c *codecConfig) { c.logger = l } }

// WithNow sets the clock of the signing timestamp (default time.Now).
func WithNow(now func() time.Time) CodecOption { return func(c *codecConfig) { c.now = now } }

// WithSerializer replaces the SESSION_SERIALIZER-derived serializer (a
// custom serializer class reimplemented in Go).
func WithSerializer(s signing.Serializer) CodecOption {
	return func(c *codecConfig) { c.ser = s }
}

// WithMaxPayloadSize bounds the decoded, decompressed payload (default
// signing.DefaultMaxPayloadSize); a larger one fails with signing.ErrTooLarge.
func WithMaxPayloadSize(n int) CodecOption { return func(c *codecConfig) { c.maxPayload = n } }

// NewCodec returns the session codec for s. It fails if SECRET_KEY is empty,
// the algorithm is unknown, or the serializer is unavailable for the target
// version (ErrUnsupported).
func NewCodec(s *Settings, opts ...CodecOption) (*Codec, error) {
	cfg := codecConfig{storeClass: DefaultStoreClass}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.storeClass == "" {
		cfg.storeClass = DefaultStoreClass
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	ser := cfg.ser
	if ser == nil {
		var err error
		if ser, err = s.Serializer(); err != nil {
			return nil, err
		}
	}
	if cfg.keySalt == "" {
		cfg.keySalt = KeySaltPrefix + cfg.storeClass
	}
	c := &Codec{
		keySalt: cfg.keySalt,
		ser:     ser,
		logger:  cfg.logger,
	}
	o := s.SignerOptions(c.keySalt)
	o.Now = cfg.now
	o.MaxPayloadSize = cfg.maxPayload
	signer, err := signing.NewTimestampSigner(o)
	if err != nil {
		return nil, fmt.Errorf("djangosession: %w", err)
	}
	c.signer = signer
	if s.Version().ReadsLegacySessions() {
		c.legacyRead = true
		c.legacyWrite = s.HashingAlgorithm() == "sha1"
		// _hash() uses "django.contrib.sessions" + __name__ (no dot, the
		// unqualified class name) and salted_hmac's default SHA-1.
		name := cfg.storeClass
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		c.legacyKey, err = signing.DeriveKey("django.contrib.sessions"+name, s.SecretKey, "sha1")
		if err != nil {
			return nil, fmt.Errorf("djangosession: %w", err)
		}
	}
	return c, nil
}

// KeySalt returns "django.contrib.sessions." + the store class qualname.
func (c *Codec) KeySalt() string { return c.keySalt }

// Serializer returns the serializer the codec uses.
func (c *Codec) Serializer() signing.Serializer { return c.ser }

// Encode returns SessionBase.encode(d): signing.dumps(d, salt=KeySalt,
// serializer, compress=True), or, for Django 3.2 with
// DEFAULT_HASHING_ALGORITHM = "sha1", the pre-3.1 format 3.2 then writes.
func (c *Codec) Encode(d *pyvalue.Dict) (string, error) {
	if d == nil {
		d = pyvalue.NewDict(0)
	}
	if c.legacyWrite {
		return c.legacyEncode(d)
	}
	out, err := c.signer.SignObject(d, c.ser, true)
	if err != nil {
		return "", fmt.Errorf("djangosession: encode: %w", err)
	}
	return out, nil
}

// legacyEncode is 3.2's _legacy_encode: standard base64 (padded) of
// hex(HMAC-SHA1) + ":" + serialized.
func (c *Codec) legacyEncode(d *pyvalue.Dict) (string, error) {
	data, err := c.ser.Dumps(d)
	if err != nil {
		return "", fmt.Errorf("djangosession: encode: %w", err)
	}
	raw := make([]byte, 0, 41+len(data))
	raw = append(raw, c.legacyHash(data)...)
	raw = append(raw, ':')
	raw = append(raw, data...)
	return base64.StdEncoding.EncodeToString(raw), nil
}

func (c *Codec) legacyHash(data []byte) string {
	m := hmac.New(sha1.New, c.legacyKey)
	m.Write(data)
	return hex.EncodeToString(m.Sum(nil))
}

// Decode returns the session dict stored in data, or a *DecodeError saying
// why Django would see an empty session instead.
func (c *Codec) Decode(data string) (*pyvalue.Dict, error) {
	v, err := c.DecodeAny(data)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*pyvalue.Dict)
	if !ok {
		// Django's decode returns whatever the serializer produced; the
		// session then fails on first use (a list has no .get). A Go
		// session cannot hold a non-dict: report it.
		return nil, &DecodeError{Err: fmt.Errorf("%w: %s", ErrNotDict, pyvalue.TypeName(v))}
	}
	return d, nil
}

// DecodeAny is Decode without the check that the payload is a dict: what
// Django's decode() returns when it does not fall back to {}.
func (c *Codec) DecodeAny(data string) (any, error) {
	v, err := c.signer.UnsignObject(data, c.ser)
	if err == nil {
		return v, nil
	}
	// A bad timestamp is a Python ValueError, not BadSignature: it takes
	// the "other exception" path, as undecodable payloads do.
	var me *signing.MalformedError
	badSig := errors.Is(err, signing.ErrBadSignature) && !errors.As(err, &me)
	if !c.legacyRead {
		// 4.0+: BadSignature → warning and {}; anything else → {} silently.
		return nil, &DecodeError{Err: err, Warned: badSig}
	}
	// 3.2 retries every failure as the legacy format.
	lv, lr, lerr := c.legacyDecode(data)
	switch lr {
	case legacyOK:
		return lv, nil
	case legacyRaised:
		if badSig {
			// Raised inside the BadSignature handler's try: logged, {}.
			return nil, &DecodeError{Err: err, Warned: true}
		}
		return nil, &DecodeError{Err: fmt.Errorf("%w (then, as the pre-3.1 format: %v)", err, lerr), Raises: true}
	case legacyWarned:
		return nil, &DecodeError{Err: err, Warned: true}
	default: // legacySilent
		return nil, &DecodeError{Err: err}
	}
}

// DecodeOrEmpty is what Django's session sees: the decoded dict, or an empty
// dict for data that does not decode, logging "Session data corrupted" at
// WARNING where Django does.
func (c *Codec) DecodeOrEmpty(data string) *pyvalue.Dict {
	d, err := c.Decode(data)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) && de.Warned {
			c.logger.LogAttrs(context.Background(), slog.LevelWarn, CorruptedMessage,
				slog.String("logger", SuspiciousSessionLogger), slog.String("reason", de.Err.Error()))
		}
		return pyvalue.NewDict(0)
	}
	return d
}

type legacyResult int

const (
	legacyOK     legacyResult = iota
	legacySilent              // _legacy_decode returned {} without logging
	legacyWarned              // _legacy_decode logged SuspiciousSession and returned {}
	legacyRaised              // _legacy_decode raised (base64 or ASCII encoding)
)

// legacyDecode is Django 3.2's _legacy_decode, outcome by outcome.
func (c *Codec) legacyDecode(data string) (any, legacyResult, error) {
	// session_data.encode('ascii') then base64.b64decode (lenient).
	raw, err := pyB64Decode(data)
	if err != nil {
		return nil, legacyRaised, err
	}
	hash, serialized, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, legacySilent, errors.New("ValueError: no ':' in legacy session data")
	}
	// hash.decode() is UTF-8: invalid UTF-8 raises UnicodeDecodeError,
	// which _legacy_decode handles silently.
	if !utf8.ValidString(hash) {
		return nil, legacySilent, errors.New("UnicodeDecodeError in legacy session hash")
	}
	if !signing.ConstantTimeCompare(hash, c.legacyHash([]byte(serialized))) {
		return nil, legacyWarned, errors.New("SuspiciousSession: Session data corrupted")
	}
	v, err := c.ser.Loads([]byte(serialized))
	if err != nil {
		return nil, legacySilent, err
	}
	return v, legacyOK, nil
}

// pyB64Decode is base64.b64decode(s.encode("ascii")) of CPython 3.11:
// characters outside the standard alphabet are skipped, "=" padding ends the
// data once a quad is complete, and a dangling partial quad is an error.
func pyB64Decode(s string) ([]byte, error) {
	out := make([]byte, 0, len(s)*3/4)
	quad, pads := 0, 0
	var left byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 0x80 {
			return nil, errors.New("UnicodeEncodeError: 'ascii' codec can't encode character")
		}
		if ch == '=' {
			if quad >= 2 {
				pads++
				if quad+pads >= 4 {
					return out, nil
				}
			}
			continue
		}
		v := b64std[ch]
		if v >= 64 {
			continue
		}
		pads = 0
		switch quad {
		case 0:
			quad, left = 1, v
		case 1:
			out = append(out, left<<2|v>>4)
			quad, left = 2, v&0x0f
		case 2:
			out = append(out, left<<4|v>>2)
			quad, left = 3, v&0x03
		case 3:
			out = append(out, left<<6|v)
			quad, left = 0, 0
		}
	}
	switch quad {
	case 0:
		return out, nil
	case 1:
		return nil, fmt.Errorf("binascii.Error: Invalid base64-encoded string: number of data characters (%d) cannot be 1 more than a multiple of 4", len(out)/3*4+1)
	}
	return nil, errors.New("binascii.Error: Incorrect padding")
}

var b64std = func() (t [128]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()
