package main

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/djsession/djsession/pyvalue"
)

// describe renders a session value for humans: JSON where the value is
// JSON, Python's spelling with the type name where it is not (a pickled
// datetime, Decimal, tuple, set, bytes, an opaque object), indented.
func describe(v any) string {
	var b strings.Builder
	describeTo(&b, v, 0)
	return b.String()
}

// maxDescribeDepth stops a hostile, deeply nested payload from producing an
// unbounded amount of output.
const maxDescribeDepth = 64

func describeTo(b *strings.Builder, v any, depth int) {
	if depth > maxDescribeDepth {
		b.WriteString("…")
		return
	}
	ind := strings.Repeat("  ", depth+1)
	end := strings.Repeat("  ", depth)
	seq := func(open, close string, items []any) {
		if len(items) == 0 {
			b.WriteString(open + close)
			return
		}
		if len(items) <= 32 && allScalar(items) {
			b.WriteString(open)
			for i, x := range items {
				if i > 0 {
					b.WriteString(", ")
				}
				describeTo(b, x, depth+1)
			}
			b.WriteString(close)
			return
		}
		b.WriteString(open + "\n")
		for i, x := range items {
			b.WriteString(ind)
			describeTo(b, x, depth+1)
			if i < len(items)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(end + close)
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case *big.Int:
		b.WriteString(x.String())
	case float64:
		if j, err := pyvalue.MarshalJSON(x); err == nil {
			b.Write(j)
		} else {
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case string:
		b.WriteString(quote(x))
	case []any:
		seq("[", "]", x)
	case pyvalue.Tuple:
		if len(x) == 1 {
			b.WriteString("tuple(")
			describeTo(b, x[0], depth)
			b.WriteString(",)")
			return
		}
		seq("tuple(", ")", []any(x))
	case *pyvalue.Set:
		name := "set"
		if x.Frozen {
			name = "frozenset"
		}
		seq(name+"{", "}", x.Items)
	case *pyvalue.Dict:
		if x.Len() == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		for i := 0; i < x.Len(); i++ {
			k, val := x.At(i)
			b.WriteString(ind)
			if s, ok := k.(string); ok {
				b.WriteString(quote(s))
			} else {
				describeTo(b, k, depth+1)
			}
			b.WriteString(": ")
			describeTo(b, val, depth+1)
			if i < x.Len()-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(end + "}")
	case *pyvalue.Object:
		if plain, ok := objectAsPlain(x); ok {
			b.WriteString(x.PythonType())
			describeTo(b, plain, depth)
			return
		}
		b.WriteString(pyvalue.Repr(x))
	case pyvalue.Bytes, pyvalue.ByteArray, pyvalue.DateTime, pyvalue.Date, pyvalue.Time,
		pyvalue.TimeDelta, pyvalue.Decimal, pyvalue.UUID:
		// Python's own repr: datetime.datetime(2023, 11, 14, ...).
		b.WriteString(pyvalue.Repr(x))
	default:
		fmt.Fprintf(b, "<%s %v>", pyvalue.TypeName(v), v)
	}
}

// allScalar reports whether no item is a container, so that a short
// sequence prints on one line.
func allScalar(items []any) bool {
	for _, x := range items {
		switch x.(type) {
		case []any, pyvalue.Tuple, *pyvalue.Dict, *pyvalue.Set, *pyvalue.Object:
			return false
		}
	}
	return true
}

// quote writes a str as a JSON-style string that keeps printable non-ASCII
// characters readable; lone surrogates (WTF-8) show as \udXXX as Python
// would print them.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		// A lone surrogate is ED A0..BF xx in WTF-8.
		if c == 0xED && i+2 < len(s) && s[i+1] >= 0xA0 && s[i+1] <= 0xBF {
			r := rune(c&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F)
			fmt.Fprintf(&b, `\u%04x`, r)
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\u%04x`, r)
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i-1])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
