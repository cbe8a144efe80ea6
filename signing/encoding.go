package signing

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"slices"
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
	// Fast path: text of base64 characters only, without padding, which
	// is all that Django and this package ever produce.
	if len(s)%4 != 1 {
		if out, ok := appendB64Plain(dst, s); ok {
			return out, nil
		}
	}
	return appendB64Lenient(dst, s)
}

// b64Groups[k][c] is the value of base64 character c (either alphabet) in
// position k of a four-character group, shifted into place in the group's
// 24 bits; any other byte has bit 31 set. Read-only after initialisation.
var b64Groups = func() (t [4][256]uint32) {
	for k := range t {
		for c := range t[k] {
			if v := base64Index[c]; v == 0xff {
				t[k][c] = 1 << 31
			} else {
				t[k][c] = uint32(v) << (18 - 6*k)
			}
		}
	}
	return
}()

// appendB64Plain decodes s, which holds no padding, when every byte of it is
// a base64 character, appending to dst; ok is false (and dst unchanged) if
// some byte is not. Four table lookups OR-ed together make a group's three
// bytes, and one 8-byte store writes two groups: several times fewer
// instructions per character than encoding/base64, which tests every
// character on its own.
func appendB64Plain(dst []byte, s string) (out []byte, ok bool) {
	t0, t1, t2, t3 := &b64Groups[0], &b64Groups[1], &b64Groups[2], &b64Groups[3]
	n := len(s)/4*3 + (len(s)%4*3)/4 // 2 leftover characters make 1 byte, 3 make 2
	start := len(dst)
	dst = slices.Grow(dst, n+8) // the last 8-byte store writes 2 bytes past n
	buf := dst[start : start+n+8]
	i, o := 0, 0
	for ; i+8 <= len(s); i, o = i+8, o+6 {
		g := s[i : i+8]
		a := t0[g[0]] | t1[g[1]] | t2[g[2]] | t3[g[3]]
		b := t0[g[4]] | t1[g[5]] | t2[g[6]] | t3[g[7]]
		if (a|b)&(1<<31) != 0 {
			return dst[:start], false
		}
		binary.BigEndian.PutUint64(buf[o:], uint64(a)<<40|uint64(b)<<16)
	}
	var a uint32
	switch len(s) - i {
	case 0:
		return dst[:start+o], true
	case 2:
		a = t0[s[i]] | t1[s[i+1]]
	case 3:
		a = t0[s[i]] | t1[s[i+1]] | t2[s[i+2]]
	case 4, 6, 7:
		a = t0[s[i]] | t1[s[i+1]] | t2[s[i+2]] | t3[s[i+3]]
		switch len(s) - i {
		case 6:
			a2 := t0[s[i+4]] | t1[s[i+5]]
			a, buf[o+3] = a|a2&(1<<31), byte(a2>>16)
		case 7:
			a2 := t0[s[i+4]] | t1[s[i+5]] | t2[s[i+6]]
			a, buf[o+3], buf[o+4] = a|a2&(1<<31), byte(a2>>16), byte(a2>>8)
		}
	default: // 5 is 1 more than a multiple of 4, as is 1: not for this path
		return dst[:start], false
	}
	if a&(1<<31) != 0 {
		return dst[:start], false
	}
	buf[o], buf[o+1], buf[o+2] = byte(a>>16), byte(a>>8), byte(a)
	return dst[:start+n], true
}

// appendB64Lenient is appendB64Decode for any text, one character at a time.
func appendB64Lenient(dst []byte, s string) ([]byte, error) {
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
