package djangosession

import (
	"crypto/rand"
	"fmt"
	"unicode/utf8"
)

// ValidKeyChars is Django's VALID_KEY_CHARS, the alphabet of generated
// session keys (lowercase so that keys survive case-insensitive file
// systems).
const ValidKeyChars = "abcdefghijklmnopqrstuvwxyz0123456789"

// KeyLength is the length of generated session keys.
const KeyLength = 32

// MinKeyLength is the shortest cookie value Django accepts as a session key.
const MinKeyLength = 8

// NewKey returns a fresh session key as Django's _get_new_session_key draws
// it: 32 characters chosen independently and uniformly from ValidKeyChars
// with the operating system's CSPRNG. It does not check for collisions;
// Session.Create does.
func NewKey() (string, error) {
	var out [KeyLength]byte
	// 252 = 7 * 36: bytes at or above it are rejected so that every
	// character is equally likely (no modulo bias).
	var buf [KeyLength + 16]byte
	n := 0
	for n < KeyLength {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("djangosession: random source: %w", err)
		}
		for _, b := range buf {
			if b >= 252 {
				continue
			}
			out[n] = ValidKeyChars[b%36]
			n++
			if n == KeyLength {
				break
			}
		}
	}
	return string(out[:]), nil
}

// ValidKey reports whether Django keeps a cookie value as the session key
// (SessionBase._validate_session_key): it must have at least 8 characters
// (Python counts code points). No character or upper length check is made
// at this stage; engines add their own (the file engine's [a-z0-9] rule is
// FileKeyValid).
func ValidKey(key string) bool {
	if len(key) < MinKeyLength {
		return false
	}
	return len(key) >= 4*MinKeyLength || utf8.RuneCountInString(key) >= MinKeyLength
}

// FileKeyValid reports whether key passes the file engine's extra check:
// only characters of ValidKeyChars (else Django raises InvalidSessionKey).
func FileKeyValid(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
