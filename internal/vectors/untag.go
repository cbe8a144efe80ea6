package vectors

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/djsession/djsession/pyvalue"
)

// Repr is what Untag returns for {"$repr": ..., "$type": ...}: a Python
// object the vector generator could only describe. Callers detect it with a
// type switch; encoding it fails as encoding the original object would
// (TypeName gives the short class name, e.g. "timedelta").
type Repr struct {
	// Repr is Python's repr() of the object.
	Repr string
	// Type is its dotted class name ("datetime.timedelta").
	Type string
}

// PythonType returns the class name without its module, as Python's
// "Object of type X is not JSON serializable" names it.
func (r *Repr) PythonType() string {
	if i := strings.LastIndexByte(r.Type, '.'); i >= 0 {
		return r.Type[i+1:]
	}
	return r.Type
}

// ErrBadTag is wrapped by Untag's errors for a malformed tagged value.
var ErrBadTag = errors.New("vectors: malformed tagged value")

// Options tunes Untag.
type Options struct {
	// UTC is the TZKind given to datetimes with offset +00:00. The zero
	// value means pyvalue.TZUTC (datetime.timezone.utc, Django ≥ 4.0);
	// use pyvalue.TZPytzUTC for values Django 3.2 produced with pytz.
	UTC pyvalue.TZKind
}

// Untag converts the tagged forms of the vector files to pyvalue values with
// the default Options. See Options.Untag.
func Untag(v any) (any, error) { return Options{}.Untag(v) }

// Untag converts the tagged forms of the vector files, recursively:
//
//	{"$datetime": isoformat}         pyvalue.DateTime (naive, or TZ: +00:00 → o.UTC, else TZFixed)
//	{"$date": "YYYY-MM-DD"}          pyvalue.Date
//	{"$decimal": str}                pyvalue.Decimal
//	{"$uuid": str}                   pyvalue.UUID
//	{"$bytes_hex": hex}              pyvalue.Bytes ("$ascii" beside it is ignored)
//	{"$tuple": [...]}                pyvalue.Tuple
//	{"$set": [...]}                  *pyvalue.Set
//	{"$float": "nan"|"inf"|"-inf"}   float64
//	{"$dict_items": [[k, v], ...]}   *pyvalue.Dict with non-string keys
//	{"$repr": r, "$type": t}         pyvalue.TimeDelta for datetime.timedelta reprs, else *Repr
//
// Other dicts and lists are copied with their items converted; v itself is
// not modified.
func (o Options) Untag(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			u, err := o.Untag(e)
			if err != nil {
				return nil, err
			}
			out[i] = u
		}
		return out, nil
	case *pyvalue.Dict:
		if x.Len() >= 1 && x.Len() <= 2 {
			if k, ok := x.Keys()[0].(string); ok && strings.HasPrefix(k, "$") {
				if u, ok, err := o.tagged(x); ok || err != nil {
					return u, err
				}
			}
		}
		out := pyvalue.NewDict(x.Len())
		for i := 0; i < x.Len(); i++ {
			k, e := x.At(i)
			u, err := o.Untag(e)
			if err != nil {
				return nil, err
			}
			out.Set(k, u)
		}
		return out, nil
	}
	return v, nil
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadTag}, args...)...)
}

// tagged converts a dict that is a tag; ok is false when it is not one.
func (o Options) tagged(d *pyvalue.Dict) (v any, ok bool, err error) {
	str := func(k string) (string, error) {
		x, _ := d.Get(k)
		s, ok := x.(string)
		if !ok {
			return "", bad("%s is %s, want str", k, pyvalue.TypeName(x))
		}
		return s, nil
	}
	list := func(k string) ([]any, error) {
		x, _ := d.Get(k)
		l, ok := x.([]any)
		if !ok {
			return nil, bad("%s is %s, want list", k, pyvalue.TypeName(x))
		}
		return o.untagList(l)
	}
	one := d.Len() == 1
	switch {
	case one && d.Has("$datetime"):
		s, err := str("$datetime")
		if err != nil {
			return nil, true, err
		}
		dt, err := o.parseDateTime(s)
		return dt, true, err
	case one && d.Has("$date"):
		s, err := str("$date")
		if err != nil {
			return nil, true, err
		}
		dt, err := parseDate(s)
		return dt, true, err
	case one && d.Has("$decimal"):
		s, err := str("$decimal")
		return pyvalue.Decimal(s), true, err
	case one && d.Has("$uuid"):
		s, err := str("$uuid")
		if err != nil {
			return nil, true, err
		}
		b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
		if err != nil || len(b) != 16 {
			return nil, true, bad("$uuid %q", s)
		}
		var u pyvalue.UUID
		copy(u[:], b)
		return u, true, nil
	case d.Has("$bytes_hex") && (one || d.Has("$ascii")):
		s, err := str("$bytes_hex")
		if err != nil {
			return nil, true, err
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, true, bad("$bytes_hex: %v", err)
		}
		return pyvalue.Bytes(b), true, nil
	case one && d.Has("$tuple"):
		l, err := list("$tuple")
		return pyvalue.Tuple(l), true, err
	case one && d.Has("$set"):
		l, err := list("$set")
		return &pyvalue.Set{Items: l}, true, err
	case one && d.Has("$float"):
		s, err := str("$float")
		if err != nil {
			return nil, true, err
		}
		switch s {
		case "nan":
			return math.NaN(), true, nil
		case "inf":
			return math.Inf(1), true, nil
		case "-inf":
			return math.Inf(-1), true, nil
		}
		return nil, true, bad("$float %q", s)
	case one && d.Has("$dict_items"):
		x, _ := d.Get("$dict_items")
		items, ok := x.([]any)
		if !ok {
			return nil, true, bad("$dict_items is %s, want list", pyvalue.TypeName(x))
		}
		out := pyvalue.NewDict(len(items))
		for _, it := range items {
			pair, ok := it.([]any)
			if !ok || len(pair) != 2 {
				return nil, true, bad("$dict_items item is not a [key, value] pair")
			}
			k, err := o.Untag(pair[0])
			if err != nil {
				return nil, true, err
			}
			v, err := o.Untag(pair[1])
			if err != nil {
				return nil, true, err
			}
			if err := out.SetChecked(k, v); err != nil {
				return nil, true, bad("$dict_items key: %v", err)
			}
		}
		return out, true, nil
	case d.Len() == 2 && d.Has("$repr") && d.Has("$type"):
		r, err := str("$repr")
		if err != nil {
			return nil, true, err
		}
		t, err := str("$type")
		if err != nil {
			return nil, true, err
		}
		if t == "datetime.timedelta" {
			if td, ok := parseTimeDelta(r); ok {
				return td, true, nil
			}
		}
		return &Repr{Repr: r, Type: t}, true, nil
	}
	return nil, false, nil
}

func (o Options) untagList(l []any) ([]any, error) {
	u, err := o.Untag(l)
	if err != nil {
		return nil, err
	}
	return u.([]any), nil
}

func atoi(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func parseDate(s string) (pyvalue.Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return pyvalue.Date{}, bad("$date %q", s)
	}
	y, ok1 := atoi(s[:4])
	m, ok2 := atoi(s[5:7])
	d, ok3 := atoi(s[8:])
	if !ok1 || !ok2 || !ok3 {
		return pyvalue.Date{}, bad("$date %q", s)
	}
	return pyvalue.Date{Year: y, Month: m, Day: d}, nil
}

// parseHMS parses HH:MM[:SS[.ffffff]] as Python's isoformat writes it.
func parseHMS(s string) (h, m, sec, us int, ok bool) {
	if len(s) < 5 || s[2] != ':' {
		return 0, 0, 0, 0, false
	}
	h, ok1 := atoi(s[:2])
	m, ok2 := atoi(s[3:5])
	if !ok1 || !ok2 {
		return 0, 0, 0, 0, false
	}
	rest := s[5:]
	if rest == "" {
		return h, m, 0, 0, true
	}
	if len(rest) < 3 || rest[0] != ':' {
		return 0, 0, 0, 0, false
	}
	sec, ok = atoi(rest[1:3])
	if !ok {
		return 0, 0, 0, 0, false
	}
	rest = rest[3:]
	if rest == "" {
		return h, m, sec, 0, true
	}
	if len(rest) != 7 || rest[0] != '.' {
		return 0, 0, 0, 0, false
	}
	us, ok = atoi(rest[1:])
	return h, m, sec, us, ok
}

// parseDateTime parses datetime.isoformat() output:
// YYYY-MM-DDTHH:MM:SS[.ffffff][±HH:MM[:SS[.ffffff]]].
func (o Options) parseDateTime(s string) (pyvalue.DateTime, error) {
	if len(s) < 19 || s[10] != 'T' {
		return pyvalue.DateTime{}, bad("$datetime %q", s)
	}
	d, err := parseDate(s[:10])
	if err != nil {
		return pyvalue.DateTime{}, bad("$datetime %q", s)
	}
	rest := s[11:]
	tzAt := strings.IndexAny(rest, "+-")
	clock, tz := rest, ""
	if tzAt >= 0 {
		clock, tz = rest[:tzAt], rest[tzAt:]
	}
	h, m, sec, us, ok := parseHMS(clock)
	if !ok {
		return pyvalue.DateTime{}, bad("$datetime %q", s)
	}
	dt := pyvalue.DateTime{Year: d.Year, Month: d.Month, Day: d.Day, Hour: h, Minute: m, Second: sec, Microsecond: us}
	if tz != "" {
		oh, om, os, ous, ok := parseHMS(tz[1:])
		if !ok {
			return pyvalue.DateTime{}, bad("$datetime %q", s)
		}
		off := ((int64(oh)*60+int64(om))*60+int64(os))*1000000 + int64(ous)
		if tz[0] == '-' {
			off = -off
		}
		if off == 0 && tz == "+00:00" {
			kind := o.UTC
			if kind == 0 {
				kind = pyvalue.TZUTC
			}
			dt.TZ = &pyvalue.TZInfo{Kind: kind}
		} else {
			dt.TZ = &pyvalue.TZInfo{Kind: pyvalue.TZFixed, Offset: off}
		}
	}
	return dt, nil
}

// parseTimeDelta parses repr(datetime.timedelta): "datetime.timedelta(0)" or
// "datetime.timedelta(days=1, seconds=2, microseconds=3)" (any subset).
func parseTimeDelta(r string) (pyvalue.TimeDelta, bool) {
	const pre = "datetime.timedelta("
	if !strings.HasPrefix(r, pre) || !strings.HasSuffix(r, ")") {
		return pyvalue.TimeDelta{}, false
	}
	body := r[len(pre) : len(r)-1]
	var td pyvalue.TimeDelta
	if body == "0" {
		return td, true
	}
	for _, part := range strings.Split(body, ", ") {
		name, num, ok := strings.Cut(part, "=")
		if !ok {
			return pyvalue.TimeDelta{}, false
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return pyvalue.TimeDelta{}, false
		}
		switch name {
		case "days":
			td.Days = n
		case "seconds":
			td.Seconds = n
		case "microseconds":
			td.Microseconds = n
		default:
			return pyvalue.TimeDelta{}, false
		}
	}
	return td, true
}
