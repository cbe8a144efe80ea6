package signing

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"math/big"
	"unsafe"
)

// RandomStringChars is Django's RANDOM_STRING_CHARS, the default alphabet of
// get_random_string.
const RandomStringChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// hashFunc returns the constructor of the hashlib algorithm Django would find
// with getattr(hashlib, name). The BLAKE2 and SHAKE families are not
// implemented (SHAKE cannot be used by Django either: its digest() needs a
// length).
func hashFunc(name string) (func() hash.Hash, error) {
	switch name {
	case "sha256":
		return sha256.New, nil
	case "sha1":
		return sha1.New, nil
	case "sha512":
		return sha512.New, nil
	case "sha384":
		return sha512.New384, nil
	case "sha224":
		return sha256.New224, nil
	case "md5":
		return md5.New, nil
	case "sha3_224":
		return func() hash.Hash { return sha3.New224() }, nil
	case "sha3_256":
		return func() hash.Hash { return sha3.New256() }, nil
	case "sha3_384":
		return func() hash.Hash { return sha3.New384() }, nil
	case "sha3_512":
		return func() hash.Hash { return sha3.New512() }, nil
	}
	return nil, &UnknownAlgorithmError{Algorithm: name}
}

// bytesOf views s as a byte slice without copying. Only for passing to
// functions that neither modify nor retain their argument (hash.Hash.Write,
// subtle.ConstantTimeCompare, base64 decoding sources).
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// DeriveKey returns Django's salted_hmac key: H(keySalt || secret), the full
// digest of the named algorithm. An empty algorithm means "sha1", the default
// of salted_hmac itself.
func DeriveKey(keySalt, secret, algorithm string) ([]byte, error) {
	if algorithm == "" {
		algorithm = "sha1"
	}
	newHash, err := hashFunc(algorithm)
	if err != nil {
		return nil, err
	}
	h := newHash()
	h.Write(bytesOf(keySalt))
	h.Write(bytesOf(secret))
	return h.Sum(nil), nil
}

// SaltedHMAC returns the raw digest of Django's salted_hmac(keySalt, value,
// secret, algorithm): HMAC-H(key = H(keySalt || secret), value). An empty
// algorithm means "sha1", the default of salted_hmac itself (Signer defaults
// to sha256). It fails only for an unknown algorithm (ErrUnknownAlgorithm).
func SaltedHMAC(keySalt, value, secret, algorithm string) ([]byte, error) {
	if algorithm == "" {
		algorithm = "sha1"
	}
	newHash, err := hashFunc(algorithm)
	if err != nil {
		return nil, err
	}
	key, _ := DeriveKey(keySalt, secret, algorithm)
	m := hmac.New(newHash, key)
	m.Write(bytesOf(value))
	return m.Sum(nil), nil
}

// SaltedHMACHex is SaltedHMAC returning the lowercase hex digest
// (salted_hmac(...).hexdigest()), as used by the auth hash and the pre-3.1
// session format.
func SaltedHMACHex(keySalt, value, secret, algorithm string) (string, error) {
	d, err := SaltedHMAC(keySalt, value, secret, algorithm)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(d), nil
}

// ConstantTimeCompare reports whether a and b are equal, taking time that
// depends only on their lengths (Django's constant_time_compare; both sides
// are compared as their bytes, Python str as UTF-8).
func ConstantTimeCompare(a, b string) bool {
	return subtle.ConstantTimeCompare(bytesOf(a), bytesOf(b)) == 1
}

// GetRandomString returns length characters drawn independently and
// uniformly from allowedChars with crypto/rand, as Django's
// get_random_string does with the secrets module. An empty allowedChars
// means RandomStringChars. allowedChars is treated as bytes (ASCII alphabets).
func GetRandomString(length int, allowedChars string) (string, error) {
	if allowedChars == "" {
		allowedChars = RandomStringChars
	}
	if length < 0 {
		return "", errors.New("signing: negative length")
	}
	n := len(allowedChars)
	out := make([]byte, length)
	if n&(n-1) == 0 || n > 256 {
		max := big.NewInt(int64(n))
		for i := range out {
			r, err := rand.Int(rand.Reader, max)
			if err != nil {
				return "", err
			}
			out[i] = allowedChars[r.Int64()]
		}
		return string(out), nil
	}
	// Rejection sampling on single bytes: unbiased and far cheaper than
	// big.Int per character.
	limit := 256 - 256%n
	buf := make([]byte, 64)
	pos := len(buf)
	for i := 0; i < length; {
		if pos == len(buf) {
			if _, err := rand.Read(buf); err != nil {
				return "", err
			}
			pos = 0
		}
		b := int(buf[pos])
		pos++
		if b < limit {
			out[i] = allowedChars[b%n]
			i++
		}
	}
	return string(out), nil
}
