package signing

import (
	"crypto/hmac"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Default salts: Django's "<module>.<ClassName>" of the signer class, used
// when Options.Salt is empty.
const (
	DefaultSignerSalt          = "django.core.signing.Signer"
	DefaultTimestampSignerSalt = "django.core.signing.TimestampSigner"
	// DefaultDumpsSalt is the salt of Django's signing.dumps and loads.
	DefaultDumpsSalt = "django.core.signing"
	// DefaultCookieSalt is get_cookie_signer's default salt.
	DefaultCookieSalt = "django.core.signing.get_cookie_signer"
)

// DefaultAlgorithm is the hash algorithm of a Signer when Options.Algorithm
// is empty (Django ≥ 3.1; 3.2's DEFAULT_HASHING_ALGORITHM defaults to it too).
const DefaultAlgorithm = "sha256"

// DefaultMaxPayloadSize bounds the decoded, decompressed payload of
// UnsignObject and Loads when Options.MaxPayloadSize is zero. Django has no
// bound (a zlib bomb inside a validly signed value exhausts its memory); the
// biggest legitimate values, database sessions, are far smaller.
const DefaultMaxPayloadSize = 16 << 20

// Options configures a Signer or TimestampSigner. Field names follow the
// keyword arguments of Django's Signer.
type Options struct {
	// Key is the secret key (Django's key=, normally settings.SECRET_KEY):
	// the UTF-8 text of a Python str key or the raw bytes of a bytes key.
	// Required: an empty Key is ErrEmptyKey.
	Key string

	// FallbackKeys are further keys accepted when verifying, tried in order
	// after Key; signing always uses Key (Django ≥ 4.1 fallback_keys,
	// defaulting there to settings.SECRET_KEY_FALLBACKS: pass that setting
	// here).
	FallbackKeys []string

	// Salt namespaces the signatures. Empty means the class default
	// (DefaultSignerSalt or DefaultTimestampSignerSalt), as in Django, where
	// an empty salt is falsy.
	Salt string

	// Sep separates value, timestamp and signature. Empty means ":".
	// Django rejects a separator made only of [A-z0-9-_=] characters: so
	// does this package (ErrInvalidSeparator). Note that Django's empty
	// string is rejected, not defaulted; Go's zero value cannot tell the two
	// apart and means the default.
	Sep string

	// Algorithm names the hash (hashlib names: sha256, sha1, sha512, sha384,
	// sha224, md5, sha3_256 ...). Empty means DefaultAlgorithm. For Django
	// 3.2 pass its DEFAULT_HASHING_ALGORITHM setting here.
	Algorithm string

	// AcceptSHA1 makes verification also accept SHA-1 signatures, as Django
	// 3.2 always does (its legacy_algorithm) during the SHA-1 to SHA-256
	// transition. Set it to read values written by a 3.2 project running
	// with DEFAULT_HASHING_ALGORITHM = "sha1" (or by Django < 3.1).
	AcceptSHA1 bool

	// Now returns the current time for TimestampSigner; nil means time.Now.
	Now func() time.Time

	// MaxPayloadSize bounds the decoded, decompressed payload of
	// UnsignObject (ErrTooLarge beyond it). Zero means
	// DefaultMaxPayloadSize.
	MaxPayloadSize int
}

// macPool hands out HMAC instances keyed with one derived key. hmac.Reset
// restores the precomputed inner and outer pad states, so a signature costs
// two short hash runs and no key derivation.
type macPool struct {
	pool sync.Pool // of *pooledMAC
}

// pooledMAC is an HMAC with a scratch buffer for its digest, so that Sum
// (an interface call, whose argument would otherwise escape) allocates
// nothing.
type pooledMAC struct {
	h   hash.Hash
	sum [64]byte
}

func newMACPool(keySalt, secret, algorithm string) (*macPool, error) {
	newHash, err := hashFunc(algorithm)
	if err != nil {
		return nil, err
	}
	key, err := DeriveKey(keySalt, secret, algorithm)
	if err != nil {
		return nil, err
	}
	p := &macPool{}
	p.pool.New = func() any { return &pooledMAC{h: hmac.New(newHash, key)} }
	// Prime one instance: the first Sum marshals the pad states, after which
	// Reset is a copy.
	m := p.pool.New().(*pooledMAC)
	m.h.Sum(m.sum[:0])
	m.h.Reset()
	p.pool.Put(m)
	return p, nil
}

// appendSignature appends b64(HMAC(msg)) to dst.
func (p *macPool) appendSignature(dst, msg []byte) []byte {
	m := p.pool.Get().(*pooledMAC)
	m.h.Write(msg)
	d := m.h.Sum(m.sum[:0])
	dst = base64.RawURLEncoding.AppendEncode(dst, d)
	m.h.Reset()
	p.pool.Put(m)
	return dst
}

// Signer signs and verifies strings as Django's Signer does:
// value + sep + signature. It is safe for concurrent use.
type Signer struct {
	sep        string
	salt       string
	algorithm  string
	keys       []*macPool // the signing key, then the fallback keys
	legacy     []*macPool // SHA-1 states when AcceptSHA1 adds an algorithm
	maxPayload int
	now        func() time.Time
}

// NewSigner returns a Signer configured by opts. It fails with ErrEmptyKey,
// ErrInvalidSeparator or ErrUnknownAlgorithm. All key derivation happens
// here, once.
func NewSigner(opts Options) (*Signer, error) {
	return newSigner(opts, DefaultSignerSalt)
}

func newSigner(opts Options, defaultSalt string) (*Signer, error) {
	if opts.Key == "" {
		return nil, ErrEmptyKey
	}
	s := &Signer{sep: opts.Sep, salt: opts.Salt, algorithm: opts.Algorithm,
		maxPayload: opts.MaxPayloadSize, now: opts.Now}
	if s.sep == "" {
		s.sep = ":"
	}
	if !SafeSeparator(s.sep) {
		return nil, &separatorError{s.sep}
	}
	if s.salt == "" {
		s.salt = defaultSalt
	}
	if s.algorithm == "" {
		s.algorithm = DefaultAlgorithm
	}
	if s.maxPayload <= 0 {
		s.maxPayload = DefaultMaxPayloadSize
	}
	if s.now == nil {
		s.now = time.Now
	}
	keySalt := s.salt + "signer"
	s.keys = make([]*macPool, 0, 1+len(opts.FallbackKeys))
	for i := -1; i < len(opts.FallbackKeys); i++ {
		k := opts.Key
		if i >= 0 {
			k = opts.FallbackKeys[i]
		}
		p, err := cachedMACPool(keySalt, k, s.algorithm)
		if err != nil {
			return nil, err
		}
		s.keys = append(s.keys, p)
		if opts.AcceptSHA1 && s.algorithm != "sha1" {
			p, err := cachedMACPool(keySalt, k, "sha1")
			if err != nil {
				return nil, err
			}
			s.legacy = append(s.legacy, p)
		}
	}
	return s, nil
}

// SafeSeparator reports whether Django accepts sep as a Signer separator:
// it must be non-empty and contain a character outside the regular
// expression class [A-z0-9-_=]. A-z is the ASCII range 0x41-0x7a, so
// "[", "\", "]", "^", "_" and "`" are unsafe as well. Python's "$" also
// matches before a final newline, so one trailing "\n" is ignored in the
// test, exactly as Django's regular expression does.
func SafeSeparator(sep string) bool {
	t := strings.TrimSuffix(sep, "\n")
	for i := 0; i < len(t); i++ {
		c := t[i]
		unsafeChar := (c >= 'A' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '='
		if !unsafeChar {
			return true
		}
	}
	return false
}

type separatorError struct{ sep string }

func (e *separatorError) Error() string {
	return "signing: Unsafe Signer separator: " + pyRepr(e.sep) +
		" (cannot be empty or consist of only A-z0-9-_=)"
}

func (e *separatorError) Is(target error) bool { return target == ErrInvalidSeparator }

// pyRepr returns Python's repr of a str for error messages (single quotes
// unless the text holds a single quote and no double quote).
func pyRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	b := []byte{q}
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < 0x20 || r == 0x7f:
			b = append(b, fmt.Sprintf(`\x%02x`, r)...)
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return string(append(b, q))
}

// Salt returns the effective salt (the class default when none was given).
func (s *Signer) Salt() string { return s.salt }

// Sep returns the separator.
func (s *Signer) Sep() string { return s.sep }

// Algorithm returns the hash algorithm used for signing.
func (s *Signer) Algorithm() string { return s.algorithm }

// Signature returns the signature of value with the signing key: the text
// that Sign appends after the separator.
func (s *Signer) Signature(value string) string {
	var buf [88]byte
	return string(s.keys[0].appendSignature(buf[:0], bytesOf(value)))
}

// Sign returns value + sep + signature.
func (s *Signer) Sign(value string) string {
	b := make([]byte, 0, len(value)+len(s.sep)+88)
	b = append(b, value...)
	b = append(b, s.sep...)
	b = s.keys[0].appendSignature(b, bytesOf(value))
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Unsign verifies signed and returns the value before its last separator.
// The signature text is compared in constant time against the signature
// under the key and then each fallback key (and SHA-1 when AcceptSHA1). It
// fails with a *BadSignatureError (ErrBadSignature) carrying Django's
// message.
func (s *Signer) Unsign(signed string) (string, error) {
	i := strings.LastIndex(signed, s.sep)
	if i < 0 {
		return "", &BadSignatureError{Msg: `No "` + s.sep + `" found in value`}
	}
	value, sig := signed[:i], signed[i+len(s.sep):]
	if s.verify(bytesOf(value), bytesOf(sig)) {
		return value, nil
	}
	return "", &BadSignatureError{Msg: `Signature "` + sig + `" does not match`}
}

// verify reports whether sig is the signature text of value under any
// accepted key. Django compares texts, not decoded bytes: a signature that
// differs only in the unused low bits of its last character is rejected.
func (s *Signer) verify(value, sig []byte) bool {
	if len(sig) > 86 { // longer than any supported digest's text
		return false
	}
	var buf [88]byte
	ok := false
	for _, k := range s.keys {
		if subtle.ConstantTimeCompare(k.appendSignature(buf[:0], value), sig) == 1 {
			ok = true
			break
		}
	}
	if !ok {
		for _, k := range s.legacy {
			if subtle.ConstantTimeCompare(k.appendSignature(buf[:0], value), sig) == 1 {
				ok = true
				break
			}
		}
	}
	return ok
}

// macCache shares derived-key state between signers built with the same
// (key salt, secret, algorithm), so that the package-level Dumps and Loads
// (which, like Django's, build a signer per call) derive each key once. It is
// bounded: when full it is emptied and refilled, which costs a re-derivation
// and nothing else. This is the package's only mutable global state.
var macCache struct {
	sync.Mutex
	m map[macCacheKey]*macPool
}

type macCacheKey struct{ keySalt, secret, algorithm string }

const macCacheLimit = 256

func cachedMACPool(keySalt, secret, algorithm string) (*macPool, error) {
	k := macCacheKey{keySalt, secret, algorithm}
	macCache.Lock()
	p := macCache.m[k]
	macCache.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := newMACPool(keySalt, secret, algorithm)
	if err != nil {
		return nil, err
	}
	macCache.Lock()
	if macCache.m == nil || len(macCache.m) >= macCacheLimit {
		macCache.m = make(map[macCacheKey]*macPool)
	}
	macCache.m[k] = p
	macCache.Unlock()
	return p, nil
}
