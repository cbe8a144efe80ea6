package signing

import (
	"encoding/base64"
	"math"
	"strconv"
)

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// B62Encode returns the base-62 text of n (Django's b62_encode), with a
// leading '-' for negative numbers.
func B62Encode(n int64) string {
	var buf [13]byte
	return string(appendB62(buf[:0], n))
}

func appendB62(dst []byte, n int64) []byte {
	if n == 0 {
		return append(dst, '0')
	}
	u := uint64(n)
	if n < 0 {
		dst = append(dst, '-')
		u = uint64(-n) // two's complement: correct for MinInt64 too
	}
	var buf [11]byte
	i := len(buf)
	for u > 0 {
		i--
		buf[i] = base62Alphabet[u%62]
		u /= 62
	}
	return append(dst, buf[i:]...)
}

var base62Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base62Alphabet); i++ {
		t[base62Alphabet[i]] = int8(i)
	}
	return
}()

// B62Decode parses Django's base-62 text (b62_decode): an optional leading
// '-' then digits of the alphabet 0-9A-Za-z. Like Django it accepts leading
// zeros and reads "-" alone as 0; the empty string, any other character, or
// a value outside int64 fails with ErrInvalidBase62 (Django raises
// ValueError/IndexError for the former, and has no overflow).
func B62Decode(s string) (int64, error) {
	if s == "" {
		return 0, &strconvError{s, "empty string"}
	}
	neg := false
	digits := s
	if s[0] == '-' {
		neg = true
		digits = s[1:]
	}
	var u uint64
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	for i := 0; i < len(digits); i++ {
		d := base62Index[digits[i]]
		if d < 0 {
			return 0, &strconvError{s, "invalid digit " + strconv.QuoteRune(rune(digits[i]))}
		}
		if u > (limit-uint64(d))/62 {
			return 0, &strconvError{s, "value out of range"}
		}
		u = u*62 + uint64(d)
	}
	if neg {
		return -int64(u), nil // u == 1<<63 wraps to MinInt64 as intended
	}
	return int64(u), nil
}

type strconvError struct{ text, why string }

func (e *strconvError) Error() string {
	return "signing: invalid base62 " + strconv.Quote(e.text) + ": " + e.why
}

func (e *strconvError) Is(target error) bool { return target == ErrInvalidBase62 }

// B64Encode returns the URL-safe base64 text of b without '=' padding
// (Django's b64_encode).
func B64Encode(b []byte) string {
	return base64.RawURLEncoding.EncodeToString(b)
}

// B64Decode decodes text as Django's b64_decode does: it re-pads s with '='
// to a multiple of four and calls Python's base64.urlsafe_b64decode, which is
// lenient. Both the URL-safe (-_) and the standard (+/) alphabets are
// accepted, characters outside them are skipped, and decoding stops at the
// first complete padding. It fails with ErrInvalidBase64 where Python raises
// binascii.Error.
func B64Decode(s string) ([]byte, error) {
	return appendB64Decode(make([]byte, 0, len(s)*3/4+3), s)
}

// base64Index maps a byte to its 6-bit value in the union of the standard and
// URL-safe alphabets (urlsafe_b64decode translates -_ to +/ and then decodes
// the standard alphabet, so both forms are accepted), or 0xff.
var base64Index = func() (t [256]byte) {
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(std); i++ {
		t[std[i]] = byte(i)
	}
	t['-'], t['_'] = 62, 63
	return
}()

// appendB64Decode is CPython's binascii.a2b_base64 in non-strict mode applied
// to s plus Django's re-padding, appending to dst.
func appendB64Decode(dst []byte, s string) ([]byte, error) {
	// Fast path: a clean unpadded URL-safe text, which is all that Django
	// and this package ever produce. The standard library decodes it far
	// faster than the byte loop below.
	if len(s)%4 != 1 {
		n := base64.RawURLEncoding.DecodedLen(len(s))
		start := len(dst)
		if cap(dst)-start >= n {
			dst = dst[:start+n]
		} else {
			dst = append(dst, make([]byte, n)...)
		}
		m, err := base64.RawURLEncoding.Decode(dst[start:], bytesOf(s))
		// m < n: the decoder skipped '\r' or '\n', which Django counts
		// when re-padding; let the exact decoder below handle those.
		if err == nil && m == n {
			return dst[:start+m], nil
		}
		dst = dst[:start]
	}
	// Django appends (-len(s)) % 4 '=' characters before decoding.
	pad := (4 - len(s)%4) % 4
	quad, pads := 0, 0
	var left uint32
	chars := 0
	for i := 0; i < len(s)+pad; i++ {
		var c byte = '='
		if i < len(s) {
			c = s[i]
		}
		if c == '=' {
			if quad >= 2 {
				pads++
				if quad+pads >= 4 {
					return dst, nil
				}
			}
			continue
		}
		v := base64Index[c]
		if v == 0xff {
			continue
		}
		pads = 0
		chars++
		switch quad {
		case 0:
			left = uint32(v)
			quad = 1
		case 1:
			dst = append(dst, byte(left<<2|uint32(v)>>4))
			left = uint32(v) & 0xf
			quad = 2
		case 2:
			dst = append(dst, byte(left<<4|uint32(v)>>2))
			left = uint32(v) & 0x3
			quad = 3
		case 3:
			dst = append(dst, byte(left<<6|uint32(v)))
			left = 0
			quad = 0
		}
	}
	switch quad {
	case 0:
		return dst, nil
	case 1:
		return dst, &base64Error{"Invalid base64-encoded string: number of data characters (" +
			strconv.Itoa(chars) + ") cannot be 1 more than a multiple of 4"}
	default:
		return dst, &base64Error{"Incorrect padding"}
	}
}

type base64Error struct{ msg string }

func (e *base64Error) Error() string { return "signing: invalid base64: " + e.msg }

func (e *base64Error) Is(target error) bool { return target == ErrInvalidBase64 }
