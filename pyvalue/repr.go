package pyvalue

import (
	"math"
	"math/big"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// reprMaxDepth bounds Repr's recursion: deeper containers print as "...",
// as Python prints a recursive container.
const reprMaxDepth = 200

// ReprMaxLen bounds Repr's output: a value sharing containers (a pickle
// "memo bomb" is a small DAG whose text is exponential) is cut with "..."
// once this many bytes are written.
const ReprMaxLen = 1 << 20

// Repr returns Python's repr() of v: 'text', b'\x00', 1.5, [1, 'a'],
// (1,), {'k': None}, {1, 2}, frozenset({1}), datetime.datetime(2023, 11,
// 14, 22, 13, 20, tzinfo=datetime.timezone.utc), Decimal('1.50'),
// UUID('...'), OrderedDict([('a', 1)]). Opaque objects, which Python would
// print with their own __repr__, are shown as the reduction that builds
// them: <django.utils.safestring.SafeString('<b>')>.
func Repr(v any) string { return string(AppendRepr(nil, v)) }

// AppendRepr appends Repr(v) to dst.
func AppendRepr(dst []byte, v any) []byte { return appendRepr(dst, v, 0) }

func appendRepr(b []byte, v any, depth int) []byte {
	if depth > reprMaxDepth || len(b) > ReprMaxLen {
		return append(b, "..."...)
	}
	switch x := v.(type) {
	case nil:
		return append(b, "None"...)
	case bool:
		if x {
			return append(b, "True"...)
		}
		return append(b, "False"...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case *big.Int:
		return x.Append(b, 10)
	case float64:
		switch {
		case math.IsNaN(x):
			return append(b, "nan"...)
		case math.IsInf(x, 1):
			return append(b, "inf"...)
		case math.IsInf(x, -1):
			return append(b, "-inf"...)
		}
		return appendFloat(b, x)
	case string:
		return appendStrRepr(b, x)
	case Bytes:
		return appendBytesRepr(b, x, false)
	case ByteArray:
		b = append(b, "bytearray("...)
		return append(appendBytesRepr(b, x, true), ')')
	case []any:
		b = append(b, '[')
		b = appendItems(b, x, depth)
		return append(b, ']')
	case Tuple:
		b = append(b, '(')
		b = appendItems(b, x, depth)
		if len(x) == 1 {
			b = append(b, ',')
		}
		return append(b, ')')
	case *Dict:
		return appendDictRepr(b, x, depth)
	case *Set:
		if len(x.Items) == 0 {
			if x.Frozen {
				return append(b, "frozenset()"...)
			}
			return append(b, "set()"...)
		}
		if x.Frozen {
			b = append(b, "frozenset("...)
		}
		b = append(b, '{')
		b = appendItems(b, x.Items, depth)
		b = append(b, '}')
		if x.Frozen {
			b = append(b, ')')
		}
		return b
	case DateTime:
		b = append(b, "datetime.datetime("...)
		b = appendInts(b, x.Year, x.Month, x.Day, x.Hour, x.Minute)
		if x.Second != 0 || x.Microsecond != 0 {
			b = appendInts(append(b, ", "...), x.Second)
		}
		if x.Microsecond != 0 {
			b = appendInts(append(b, ", "...), x.Microsecond)
		}
		if x.Fold != 0 {
			b = append(b, ", fold=1"...)
		}
		if x.TZ != nil {
			b = appendTZRepr(append(b, ", tzinfo="...), x.TZ, depth)
		}
		return append(b, ')')
	case Date:
		b = append(b, "datetime.date("...)
		return append(appendInts(b, x.Year, x.Month, x.Day), ')')
	case Time:
		b = append(b, "datetime.time("...)
		b = appendInts(b, x.Hour, x.Minute)
		if x.Second != 0 || x.Microsecond != 0 {
			b = appendInts(append(b, ", "...), x.Second)
		}
		if x.Microsecond != 0 {
			b = appendInts(append(b, ", "...), x.Microsecond)
		}
		if x.TZ != nil {
			b = appendTZRepr(append(b, ", tzinfo="...), x.TZ, depth)
		}
		if x.Fold != 0 {
			b = append(b, ", fold=1"...)
		}
		return append(b, ')')
	case TimeDelta:
		return appendTimeDeltaRepr(b, x)
	case Decimal:
		b = append(b, "Decimal("...)
		return append(appendStrRepr(b, string(x)), ')')
	case UUID:
		b = append(b, "UUID("...)
		return append(appendStrRepr(b, x.String()), ')')
	case *TZInfo:
		return appendTZRepr(b, x, depth)
	case *Object:
		return appendObjectRepr(b, x, depth)
	}
	return append(b, "<"+TypeName(v)+">"...)
}

func appendInts(b []byte, xs ...int) []byte {
	for i, x := range xs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return b
}

func appendItems(b []byte, xs []any, depth int) []byte {
	for i, x := range xs {
		if len(b) > ReprMaxLen {
			return append(b, "..."...)
		}
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendRepr(b, x, depth+1)
	}
	return b
}

func appendDictRepr(b []byte, d *Dict, depth int) []byte {
	b = append(b, '{')
	for i := 0; i < d.Len(); i++ {
		if len(b) > ReprMaxLen {
			b = append(b, "..."...)
			break
		}
		if i > 0 {
			b = append(b, ", "...)
		}
		k, v := d.At(i)
		b = appendRepr(b, k, depth+1)
		b = append(b, ": "...)
		b = appendRepr(b, v, depth+1)
	}
	return append(b, '}')
}

func appendTimeDeltaRepr(b []byte, td TimeDelta) []byte {
	b = append(b, "datetime.timedelta("...)
	if td == (TimeDelta{}) {
		return append(b, "0)"...)
	}
	sep := ""
	if td.Days != 0 {
		b = strconv.AppendInt(append(b, "days="...), td.Days, 10)
		sep = ", "
	}
	if td.Seconds != 0 {
		b = strconv.AppendInt(append(append(b, sep...), "seconds="...), td.Seconds, 10)
		sep = ", "
	}
	if td.Microseconds != 0 {
		b = strconv.AppendInt(append(append(b, sep...), "microseconds="...), td.Microseconds, 10)
	}
	return append(b, ')')
}

func appendTZRepr(b []byte, tz *TZInfo, depth int) []byte {
	switch tz.Kind {
	case TZUTC:
		return append(b, "datetime.timezone.utc"...)
	case TZPytzUTC:
		return append(b, "<UTC>"...)
	case TZFixed:
		if tz.Offset == 0 && tz.Name == "" {
			return append(b, "datetime.timezone.utc"...)
		}
		b = append(b, "datetime.timezone("...)
		b = appendTimeDeltaRepr(b, NewTimeDelta(0, 0, tz.Offset))
		if tz.Name != "" {
			b = appendStrRepr(append(b, ", "...), tz.Name)
		}
		return append(b, ')')
	case TZZoneInfo:
		b = append(b, "zoneinfo.ZoneInfo(key="...)
		return append(appendStrRepr(b, tz.Name), ')')
	}
	if tz.Object != nil {
		return appendObjectRepr(b, tz.Object, depth)
	}
	return append(b, "<tzinfo>"...)
}

func appendObjectRepr(b []byte, o *Object, depth int) []byte {
	if o.IsOrderedDict() {
		d := o.Dict()
		b = append(b, "OrderedDict("...)
		if d.Len() > 0 {
			b = append(b, '[')
			for i := 0; i < d.Len(); i++ {
				if i > 0 {
					b = append(b, ", "...)
				}
				k, v := d.At(i)
				b = appendRepr(append(b, '('), k, depth+1)
				b = appendRepr(append(b, ", "...), v, depth+1)
				b = append(b, ')')
			}
			b = append(b, ']')
		}
		return append(b, ')')
	}
	if o.Kind == ObjectGlobal {
		return append(append(append(b, "<global "...), o.PythonType()...), '>')
	}
	b = append(b, '<')
	if o.Callable != nil && o.Module == "" && o.Name == "" {
		b = appendObjectRepr(b, o.Callable, depth+1)
	} else {
		b = append(b, o.PythonType()...)
	}
	if o.Kind == ObjectNewObj || o.Kind == ObjectNewObjEx {
		b = append(b, ".__new__"...)
	}
	b = append(b, '(')
	b = appendItems(b, o.Args, depth)
	if o.Kwargs != nil {
		for i := 0; i < o.Kwargs.Len(); i++ {
			if i > 0 || len(o.Args) > 0 {
				b = append(b, ", "...)
			}
			k, v := o.Kwargs.At(i)
			if s, ok := k.(string); ok {
				b = append(b, s...)
			} else {
				b = appendRepr(b, k, depth+1)
			}
			b = appendRepr(append(b, '='), v, depth+1)
		}
	}
	b = append(b, ')')
	if len(o.ListItems) > 0 {
		b = append(b, " items=["...)
		b = appendItems(b, o.ListItems, depth)
		b = append(b, ']')
	}
	if o.DictItems != nil && o.DictItems.Len() > 0 {
		b = appendDictRepr(append(b, " items="...), o.DictItems, depth+1)
	}
	if o.HasState && o.State != nil {
		b = appendRepr(append(b, " state="...), o.State, depth+1)
	}
	return append(b, '>')
}

// appendStrRepr is Python's str.__repr__: single quotes unless the text
// holds a single quote and no double quote; \\, \n, \r, \t and the
// non-printable characters escaped (\xNN, \uNNNN, \UNNNNNNNN); lone
// surrogates (WTF-8) escaped as \udXXX.
func appendStrRepr(b []byte, s string) []byte {
	q := byte('\'')
	if containsByte(s, '\'') && !containsByte(s, '"') {
		q = '"'
	}
	b = append(b, q)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == q || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7F:
				b = appendHexEscape(b, 'x', uint32(c), 2)
			default:
				b = append(b, c)
			}
			continue
		}
		if c == 0xED && i+2 < len(s) && s[i+1] >= 0xA0 && s[i+1] <= 0xBF {
			r := uint32(c&0x0F)<<12 | uint32(s[i+1]&0x3F)<<6 | uint32(s[i+2]&0x3F)
			b = appendHexEscape(b, 'u', r, 4)
			i += 3
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = appendHexEscape(b, 'x', uint32(c), 2)
			i++
			continue
		}
		switch {
		case isPrintable(r):
			b = append(b, s[i:i+n]...)
		case r <= 0xFF:
			b = appendHexEscape(b, 'x', uint32(r), 2)
		case r <= 0xFFFF:
			b = appendHexEscape(b, 'u', uint32(r), 4)
		default:
			b = appendHexEscape(b, 'U', uint32(r), 8)
		}
		i += n
	}
	return append(b, q)
}

// isPrintable approximates Python's str.isprintable for one character:
// letters, marks, numbers, punctuation, symbols and the ASCII space.
func isPrintable(r rune) bool {
	if r == ' ' {
		return true
	}
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S)
}

func appendHexEscape(b []byte, kind byte, v uint32, width int) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '\\', kind)
	for i := width - 1; i >= 0; i-- {
		b = append(b, hexd[(v>>(4*uint(i)))&15])
	}
	return b
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// appendBytesRepr is Python's bytes.__repr__ (and, with array set, the
// bytes part of bytearray.__repr__).
func appendBytesRepr(b []byte, x []byte, array bool) []byte {
	q := byte('\'')
	hasSingle, hasDouble := false, false
	for _, c := range x {
		hasSingle = hasSingle || c == '\''
		hasDouble = hasDouble || c == '"'
	}
	if hasSingle && !hasDouble {
		q = '"'
	}
	b = append(b, 'b', q)
	for _, c := range x {
		switch {
		case c == q || c == '\\' || (c == '\'' && array): // bytearray's repr escapes ' even inside "..."
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20 || c >= 0x7F:
			b = appendHexEscape(b, 'x', uint32(c), 2)
		default:
			b = append(b, c)
		}
	}
	return append(b, q)
}
