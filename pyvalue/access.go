package pyvalue

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"unicode/utf8"
)

// TypeError is returned by the As* accessors and Decode when a value is not
// of the Python type asked for.
type TypeError struct {
	// Want is what the caller asked for ("str", "int", "dict" ...).
	Want string
	// Got is the Python type name of the value (see TypeName).
	Got string
}

func (e *TypeError) Error() string { return "pyvalue: want " + e.Want + ", got " + e.Got }

// ErrOutOfRange is wrapped by the accessors' error for a number that does
// not fit the Go type asked for.
var ErrOutOfRange = errors.New("number out of range")

// AsString returns v as a string when it is a Python str (SafeString
// included). The string is WTF-8: it is valid UTF-8 unless the Python str
// held lone surrogates.
func AsString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case *Object:
		if x != nil && isSafeString(x) {
			return x.Args[0].(string), nil
		}
	}
	return "", &TypeError{Want: "str", Got: TypeName(v)}
}

// AsInt64 returns v when it is a Python int that fits in an int64. bool is
// refused although Python's bool is an int: a Go caller asking for a number
// holding true has a bug. Floats are refused too, even integral ones, since
// JSON keeps 3 and 3.0 apart and so should callers.
func AsInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case *big.Int:
		if x != nil && x.IsInt64() {
			return x.Int64(), nil
		}
		if x != nil {
			return 0, fmt.Errorf("pyvalue: int %s does not fit in int64: %w", x, ErrOutOfRange)
		}
	}
	return 0, &TypeError{Want: "int", Got: TypeName(v)}
}

// AsBool returns v when it is a Python bool. Truthiness is not applied: 0,
// "" and None are errors, not false.
func AsBool(v any) (bool, error) {
	if b, ok := v.(bool); ok {
		return b, nil
	}
	return false, &TypeError{Want: "bool", Got: TypeName(v)}
}

// AsFloat64 returns v when it is a Python float, or an int converted as
// Python's float(x) converts it (rounded to nearest; an int beyond the float
// range is an error wrapping ErrOutOfRange, Python's OverflowError). bool is
// refused.
func AsFloat64(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	case int:
		return float64(x), nil
	case *big.Int:
		if x != nil {
			f, _ := new(big.Float).SetInt(x).Float64()
			if math.IsInf(f, 0) {
				return 0, fmt.Errorf("pyvalue: int too large to convert to float: %w", ErrOutOfRange)
			}
			return f, nil
		}
	}
	return 0, &TypeError{Want: "float", Got: TypeName(v)}
}

// AsDict returns v when it is a Python dict. An OrderedDict (or another dict
// subclass read from a pickle) gives its items.
func AsDict(v any) (*Dict, error) {
	switch x := v.(type) {
	case *Dict:
		if x != nil {
			return x, nil
		}
	case *Object:
		if x != nil && (x.IsOrderedDict() || x.DictItems != nil) {
			return x.Dict(), nil
		}
	}
	return nil, &TypeError{Want: "dict", Got: TypeName(v)}
}

// AsList returns the items of a Python list or tuple (a tuple written to
// JSON comes back as a list, so callers rarely care which). The slice is
// the value's own: modifying it modifies the value.
func AsList(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case Tuple:
		return x, nil
	}
	return nil, &TypeError{Want: "list", Got: TypeName(v)}
}

// Decode stores v in the Go value out points to, as encoding/json would
// store the JSON text ToUTF8JSON(v) returns: into structs (field tags
// honoured), maps, slices, numbers, strings, *big.Int, json.Number, any ...
// Integers keep every digit (an `any` target receives a json.Number for
// each number; a *big.Int field receives the exact value). The values JSON
// cannot express are rendered as ToUTF8JSON documents. Mismatches are
// reported by encoding/json (*json.UnmarshalTypeError).
func Decode(v any, out any) error {
	b, err := ToUTF8JSON(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("pyvalue: decode %s into %T: %w", TypeName(v), out, err)
	}
	return nil
}

// ToUTF8JSON renders v as standard JSON (RFC 8259) in UTF-8 for Go programs
// and people, unlike MarshalJSON, which writes Django's ASCII bytes. It is
// compact, keeps dict order, writes non-ASCII text as UTF-8 and renders the
// values JSON lacks as Go's encoding/json would expect them:
//
//	tuple, set, frozenset        array
//	dict with non-str keys       object, keys converted as Python's json does
//	bytes, bytearray             base64 string (as encoding/json does []byte)
//	datetime, date, time         ISO 8601 string (datetime.isoformat())
//	timedelta                    number of seconds (timedelta.total_seconds())
//	Decimal                      number, or string for NaN/Infinity
//	UUID                         "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
//
// NaN and ±Infinity floats have no JSON form and are an error wrapping
// ErrOutOfRange; a lone surrogate is written as \udXXX, which encoding/json
// reads as U+FFFD. Objects that are not dicts, lists or strings fail with
// *UnsupportedTypeError.
func ToUTF8JSON(v any) ([]byte, error) { return appendUTF8(nil, v, DefaultMaxDepth) }

func appendUTF8(dst []byte, v any, depth int) ([]byte, error) {
	if depth <= 0 {
		return dst, tooDeep()
	}
	switch x := v.(type) {
	case string:
		return appendUTF8String(dst, x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return dst, fmt.Errorf("pyvalue: float %v has no JSON form: %w", x, ErrOutOfRange)
		}
		return appendFloat(dst, x), nil
	case float32:
		return appendUTF8(dst, float64(x), depth)
	case []any:
		return appendUTF8List(dst, x, depth)
	case Tuple:
		return appendUTF8List(dst, x, depth)
	case *Set:
		if x == nil {
			break
		}
		return appendUTF8List(dst, x.Items, depth)
	case map[string]any:
		d := NewDict(len(x))
		for _, k := range slices.Sorted(mapsKeys(x)) {
			d.Set(k, x[k])
		}
		return appendUTF8Dict(dst, d, depth)
	case *Dict:
		if x == nil {
			break
		}
		return appendUTF8Dict(dst, x, depth)
	case *Object:
		if x == nil {
			break
		}
		switch {
		case x.IsOrderedDict() || x.DictItems != nil:
			return appendUTF8Dict(dst, x.Dict(), depth)
		case x.ListItems != nil:
			return appendUTF8List(dst, x.ListItems, depth)
		case isSafeString(x):
			return appendUTF8String(dst, x.Args[0].(string))
		}
	case Bytes:
		return appendQuoted(dst, base64.StdEncoding.EncodeToString(x)), nil
	case ByteArray:
		return appendQuoted(dst, base64.StdEncoding.EncodeToString(x)), nil
	case DateTime:
		return appendQuoted(dst, x.ISOFormat()), nil
	case Date:
		return appendQuoted(dst, x.ISOFormat()), nil
	case Time:
		return appendQuoted(dst, x.ISOFormat()), nil
	case TimeDelta:
		return appendFloat(dst, x.TotalSeconds()), nil
	case Decimal:
		if isJSONNumber(string(x)) {
			return append(dst, x...), nil
		}
		return appendQuoted(dst, string(x)), nil
	case UUID:
		var b [36]byte
		hex.Encode(b[0:8], x[0:4])
		b[8] = '-'
		hex.Encode(b[9:13], x[4:6])
		b[13] = '-'
		hex.Encode(b[14:18], x[6:8])
		b[18] = '-'
		hex.Encode(b[19:23], x[8:10])
		b[23] = '-'
		hex.Encode(b[24:], x[10:])
		return appendQuoted(dst, string(b[:])), nil
	}
	// Everything else is written as MarshalJSON writes it (nil, bool,
	// integers), or refused with its error.
	return appendValue(dst, v, depth)
}

func mapsKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func appendUTF8List(dst []byte, l []any, depth int) ([]byte, error) {
	dst = append(dst, '[')
	var err error
	for i, e := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendUTF8(dst, e, depth-1); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

func appendUTF8Dict(dst []byte, d *Dict, depth int) ([]byte, error) {
	dst = append(dst, '{')
	var err error
	for i := 0; i < d.Len(); i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		k, v := d.keys[i], d.vals[i]
		if s, ok := k.(string); ok {
			dst, err = appendUTF8String(dst, s)
		} else {
			dst, err = appendKey(dst, k)
		}
		if err != nil {
			return dst, err
		}
		dst = append(dst, ':')
		if dst, err = appendUTF8(dst, v, depth-1); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendQuoted writes an ASCII string that needs no escaping.
func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// appendUTF8String writes s with the escapes JSON requires and UTF-8 text
// as is; lone surrogates become \udXXX escapes.
func appendUTF8String(dst []byte, s string) ([]byte, error) {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safeASCII[c] || c == 0x7f {
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
			default:
				dst = appendU(dst, rune(c))
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			if c == 0xED && i+2 < len(s) && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2]&0xC0 == 0x80 {
				dst = append(dst, s[start:i]...)
				dst = appendU(dst, 0xD000|rune(s[i+1]&0x3F)<<6|rune(s[i+2]&0x3F))
				i += 3
				start = i
				continue
			}
			return dst, fmt.Errorf("pyvalue: string is not WTF-8 (byte %#x at %d): %w", c, i, ErrInvalidUTF8)
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), nil
}

// isJSONNumber reports whether s (a Decimal's str()) is a JSON number:
// finite values are ("1.50", "-0", "1E+2"), NaN and Infinity are not.
func isJSONNumber(s string) bool {
	return s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') && json.Valid([]byte(s))
}
