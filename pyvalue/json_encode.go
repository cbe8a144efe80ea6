package pyvalue

import (
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// UnsupportedTypeError is a value Python's json.dumps refuses (TypeError):
// bytes, datetime, Decimal, UUID, set, lazy translation strings, any other
// object; or, when Key is set, a dict key that is not str, int, float, bool
// or None.
type UnsupportedTypeError struct {
	// Type is the Python class name, without module ("datetime", "bytes").
	Type string
	// Key is set when the value was a dict key.
	Key bool
}

func (e *UnsupportedTypeError) Error() string {
	if e.Key {
		return "keys must be str, int, float, bool or None, not " + e.Type
	}
	return "Object of type " + e.Type + " is not JSON serializable"
}

// JSONEncoder encodes values exactly as Django's JSONSerializer.dumps does,
// with configurable limits. The zero value is ready to use.
type JSONEncoder struct {
	// MaxDepth bounds the nesting of lists, tuples and dicts; 0 means
	// DefaultMaxDepth. Deeper (or circular) values fail with an error
	// wrapping ErrTooDeep, where Python raises RecursionError.
	MaxDepth int
}

// MarshalJSON returns the bytes of Python's json.dumps(v, separators=(",",
// ":")) — what Django's JSONSerializer.dumps writes: no whitespace, dict
// insertion order, ASCII only with lowercase \uXXXX escapes (surrogate pairs
// for astral characters, lone surrogates as themselves), floats as Python's
// repr, NaN/Infinity/-Infinity, integers of any size.
//
// Accepted values: nil, bool, every Go integer type, *big.Int, float64,
// float32, string (WTF-8), []any, Tuple, *Dict, map[string]any (keys
// sorted, as Go maps have no order), and the *Object forms that are dicts,
// lists or strings in Python (OrderedDict and other dict subclasses, list
// subclasses, SafeString). Dict keys may be str, int, float, bool or None and
// are converted as Python converts them (1 → "1", 2.5 → "2.5", False →
// "false", None → "null"). Anything else fails with *UnsupportedTypeError. A
// string that is not valid WTF-8 has no Python equivalent and fails with an
// error wrapping ErrInvalidUTF8; an integer of more than 4300 digits fails
// with ErrIntTooLong, as in CPython.
func MarshalJSON(v any) ([]byte, error) { return (&JSONEncoder{}).Append(make([]byte, 0, 256), v) }

// AppendJSON appends MarshalJSON(v) to dst. On error the returned slice is
// dst with partial output appended and should be discarded.
func AppendJSON(dst []byte, v any) ([]byte, error) { return (&JSONEncoder{}).Append(dst, v) }

// Marshal is MarshalJSON with e's limits.
func (e *JSONEncoder) Marshal(v any) ([]byte, error) { return e.Append(make([]byte, 0, 256), v) }

// Append is AppendJSON with e's limits.
func (e *JSONEncoder) Append(dst []byte, v any) ([]byte, error) {
	max := e.MaxDepth
	if max <= 0 {
		max = DefaultMaxDepth
	}
	return appendValue(dst, v, max)
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendString(dst, x)
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case float64:
		return appendFloat(dst, x), nil
	case *Dict:
		return appendDict(dst, x, depth)
	case []any:
		return appendList(dst, x, depth)
	case Tuple:
		return appendList(dst, x, depth)
	case *big.Int:
		return appendBig(dst, x)
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case float32:
		return appendFloat(dst, float64(x)), nil
	case map[string]any:
		d := NewDict(len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			d.Set(k, x[k])
		}
		return appendDict(dst, d, depth)
	case *Object:
		if x != nil {
			// Python's encoder tests isinstance(o, str / list / dict), so
			// subclasses of those serialise as their base type.
			switch {
			case x.IsOrderedDict() || x.DictItems != nil:
				return appendDict(dst, x.Dict(), depth)
			case x.ListItems != nil:
				return appendList(dst, x.ListItems, depth)
			case isSafeString(x):
				return appendString(dst, x.Args[0].(string))
			}
		}
	}
	return dst, &UnsupportedTypeError{Type: jsonTypeName(v)}
}

// isSafeString reports whether o is django.utils.safestring.SafeString (or
// its old alias SafeText) as pickle rebuilds it: cls.__new__(cls, text).
func isSafeString(o *Object) bool {
	if o.Module != "django.utils.safestring" || (o.Name != "SafeString" && o.Name != "SafeText") {
		return false
	}
	if len(o.Args) != 1 {
		return false
	}
	_, ok := o.Args[0].(string)
	return ok
}

// jsonTypeName is type(v).__name__ as Python's error message shows it.
func jsonTypeName(v any) string {
	if o, ok := v.(*Object); ok && o != nil {
		if o.Is("django.utils.functional", "_lazy_proxy_unpickle") {
			return "__proxy__" // gettext_lazy() results
		}
		if o.Name != "" {
			return o.Name
		}
	}
	name := TypeName(v)
	if strings.HasPrefix(name, "<Go ") {
		return name
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return name
}

func tooDeep() error {
	return fmt.Errorf("pyvalue: JSON value nested too deep or circular: %w", ErrTooDeep)
}

func appendList(dst []byte, l []any, depth int) ([]byte, error) {
	if depth <= 0 {
		return dst, tooDeep()
	}
	dst = append(dst, '[')
	var err error
	for i, e := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendValue(dst, e, depth-1); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

func appendDict(dst []byte, d *Dict, depth int) ([]byte, error) {
	if depth <= 0 {
		return dst, tooDeep()
	}
	dst = append(dst, '{')
	var err error
	for i := 0; i < d.Len(); i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		k, v := d.keys[i], d.vals[i]
		if s, ok := k.(string); ok {
			dst, err = appendString(dst, s)
		} else {
			dst, err = appendKey(dst, k)
		}
		if err != nil {
			return dst, err
		}
		dst = append(dst, ':')
		if dst, err = appendValue(dst, v, depth-1); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendKey writes a non-string dict key as Python's encoder converts it.
func appendKey(dst []byte, k any) ([]byte, error) {
	switch x := k.(type) {
	case nil, bool, int64, int, float64, *big.Int,
		int32, int16, int8, uint, uint64, uint32, uint16, uint8, float32:
		dst = append(dst, '"')
		dst, err := appendValue(dst, x, 1)
		return append(dst, '"'), err
	}
	return dst, &UnsupportedTypeError{Type: jsonTypeName(k), Key: true}
}

func appendBig(dst []byte, x *big.Int) ([]byte, error) {
	if x == nil {
		return dst, &UnsupportedTypeError{Type: "<Go *big.Int(nil)>"}
	}
	// 2^14300 > 10^4300: no need to format what is surely too long.
	if x.BitLen() <= 14300 {
		n := len(dst)
		dst = x.Append(dst, 10)
		digits := len(dst) - n
		if x.Sign() < 0 {
			digits--
		}
		if digits <= maxIntDigits {
			return dst, nil
		}
		dst = dst[:n]
	}
	return dst, fmt.Errorf("%w; use sys.set_int_max_str_digits() to increase the limit", ErrIntTooLong)
}

// appendFloat writes Python's float repr: the shortest digits that round
// trip, in fixed notation when the decimal exponent is in [-4, 16), else
// in exponent notation with at least two exponent digits ("1e-05", "1e+16").
// Integral values in fixed notation get ".0".
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	// Go's shortest 'e' form is exactly Python's exponent form; read the
	// digits and exponent back from it for the fixed form.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	p := 0
	if e[0] == '-' {
		p = 1
	}
	epos := len(e) - 4 // "e+XX"
	for e[epos] != 'e' {
		epos--
	}
	exp := 0
	for _, c := range e[epos+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[epos+1] == '-' {
		exp = -exp
	}
	if exp < -4 || exp >= 16 {
		return append(dst, e...)
	}
	// Digits without the point: e[p] then e[p+2:epos] when there is a point.
	var digs [20]byte
	nd := 0
	digs[nd] = e[p]
	nd++
	if epos > p+1 {
		nd += copy(digs[nd:], e[p+2:epos])
	}
	if p == 1 {
		dst = append(dst, '-')
	}
	decpt := exp + 1
	switch {
	case decpt <= 0:
		dst = append(dst, '0', '.')
		for i := decpt; i < 0; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, digs[:nd]...)
	case decpt >= nd:
		dst = append(dst, digs[:nd]...)
		for i := nd; i < decpt; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, '.', '0')
	default:
		dst = append(dst, digs[:decpt]...)
		dst = append(dst, '.')
		dst = append(dst, digs[decpt:nd]...)
	}
	return dst
}

// safeASCII marks the bytes written as themselves: printable ASCII except
// '"' and '\\'. '/', '<', '>' and '&' are not escaped, as in Python.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

func appendU(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
}

// appendString writes s (WTF-8) as Python's ensure_ascii encoder does.
func appendString(dst []byte, s string) ([]byte, error) {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"':
				dst = append(dst, '\\', '"')
			case '\\':
				dst = append(dst, '\\', '\\')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = appendU(dst, rune(c))
			}
			i++
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// A lone surrogate in its generalized UTF-8 form (WTF-8).
			if c == 0xED && i+2 < len(s) && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2]&0xC0 == 0x80 {
				r = 0xD000 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F)
				size = 3
			} else {
				return dst, fmt.Errorf("pyvalue: string is not WTF-8 (byte %#x at %d): %w", c, i, ErrInvalidUTF8)
			}
		}
		if r >= 0x10000 {
			r -= 0x10000
			dst = appendU(dst, 0xD800+r>>10)
			dst = appendU(dst, 0xDC00+r&0x3FF)
		} else {
			dst = appendU(dst, r)
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), nil
}
