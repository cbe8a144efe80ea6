package main

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"

	"github.com/djsession/djsession/pyvalue"
)

// Values JSON cannot carry (a pickled session may hold datetimes, tuples,
// bytes, sets, dicts with non-string keys ...) cross the protocol in the
// tagged form of testdata/vectors, exactly as the Python peer writes them:
// {"$datetime": isoformat}, {"$tuple": [...]}, ... A value JSON can carry is
// its own tagged form, so tagging a JSON session changes nothing.

// maxTagDepth bounds recursion on hostile input.
const maxTagDepth = 1000

// toTagged converts v to JSON-able data, tagging non-JSON types.
func toTagged(v any) any { return tagAt(v, 0) }

func tagAt(v any, depth int) any {
	if depth > maxTagDepth {
		return map1("$repr", "<too deep>")
	}
	list := func(items []any) []any {
		out := make([]any, len(items))
		for i, x := range items {
			out[i] = tagAt(x, depth+1)
		}
		return out
	}
	switch x := v.(type) {
	case nil, bool, int64, int, *big.Int, float64, string:
		return v
	case []any:
		return list(x)
	case pyvalue.Tuple:
		return map1("$tuple", list(x))
	case *pyvalue.Dict:
		allStr := true
		for _, k := range x.Keys() {
			if _, ok := k.(string); !ok {
				allStr = false
				break
			}
		}
		if allStr {
			d := pyvalue.NewDict(x.Len())
			for i := 0; i < x.Len(); i++ {
				k, val := x.At(i)
				d.Set(k, tagAt(val, depth+1))
			}
			return d
		}
		items := make([]any, x.Len())
		for i := 0; i < x.Len(); i++ {
			k, val := x.At(i)
			items[i] = []any{tagAt(k, depth+1), tagAt(val, depth+1)}
		}
		return map1("$dict_items", items)
	case pyvalue.DateTime:
		return map1("$datetime", x.ISOFormat())
	case pyvalue.Date:
		return map1("$date", x.ISOFormat())
	case pyvalue.Time:
		return map1("$time", x.ISOFormat())
	case pyvalue.TimeDelta:
		return map1("$timedelta", []any{x.Days, x.Seconds, x.Microseconds})
	case pyvalue.Decimal:
		return map1("$decimal", string(x))
	case pyvalue.UUID:
		return map1("$uuid", x.String())
	case pyvalue.Bytes:
		return map1("$bytes_hex", hex.EncodeToString(x))
	case pyvalue.ByteArray:
		return map1("$bytearray_hex", hex.EncodeToString(x))
	case *pyvalue.Set:
		if x.Frozen {
			return map1("$frozenset", list(x.Items))
		}
		return map1("$set", list(x.Items))
	case *pyvalue.Object:
		if plain, ok := objectAsPlain(x); ok {
			return tagAt(plain, depth)
		}
		d := pyvalue.NewDict(2)
		d.Set("$repr", "<"+x.PythonType()+" object>")
		d.Set("$type", x.PythonType())
		return d
	}
	d := pyvalue.NewDict(2)
	d.Set("$repr", fmt.Sprint(v))
	d.Set("$type", pyvalue.TypeName(v))
	return d
}

func map1(k string, v any) *pyvalue.Dict {
	d := pyvalue.NewDict(1)
	d.Set(k, v)
	return d
}

// fromTagged is the inverse of toTagged for the tags the peer reads back
// (stdin with "tagged": true). Python's fromisoformat gives
// datetime.timezone.utc for +00:00 and a fixed offset otherwise; so does
// this.
func fromTagged(v any) (any, error) { return untagAt(v, 0) }

func untagAt(v any, depth int) (any, error) {
	if depth > maxTagDepth {
		return nil, fmt.Errorf("tagged value nested deeper than %d", maxTagDepth)
	}
	list := func(x any) ([]any, error) {
		l, ok := x.([]any)
		if !ok {
			return nil, fmt.Errorf("tag expects a list, got %s", pyvalue.TypeName(x))
		}
		out := make([]any, len(l))
		for i, e := range l {
			u, err := untagAt(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = u
		}
		return out, nil
	}
	str := func(x any) (string, error) {
		s, ok := x.(string)
		if !ok {
			return "", fmt.Errorf("tag expects a string, got %s", pyvalue.TypeName(x))
		}
		return s, nil
	}
	switch x := v.(type) {
	case []any:
		return list(x)
	case *pyvalue.Dict:
		if x.Len() == 1 {
			k, val := x.At(0)
			tag, _ := k.(string)
			switch tag {
			case "$datetime":
				s, err := str(val)
				if err != nil {
					return nil, err
				}
				return pyvalue.ParseISO(s)
			case "$date":
				s, err := str(val)
				if err != nil {
					return nil, err
				}
				return pyvalue.ParseISODate(s)
			case "$time":
				s, err := str(val)
				if err != nil {
					return nil, err
				}
				dt, err := pyvalue.ParseISO("2000-01-01T" + s)
				if err != nil {
					return nil, err
				}
				return pyvalue.Time{Hour: dt.Hour, Minute: dt.Minute, Second: dt.Second, Microsecond: dt.Microsecond, TZ: dt.TZ}, nil
			case "$timedelta":
				l, ok := val.([]any)
				if !ok || len(l) != 3 {
					return nil, fmt.Errorf("$timedelta expects [days, seconds, microseconds]")
				}
				var n [3]int64
				for i, e := range l {
					iv, ok := e.(int64)
					if !ok {
						return nil, fmt.Errorf("$timedelta expects integers")
					}
					n[i] = iv
				}
				return pyvalue.NewTimeDelta(n[0], n[1], n[2]), nil
			case "$decimal":
				s, err := str(val)
				if err != nil {
					return nil, err
				}
				return pyvalue.ParseDecimal(s)
			case "$uuid":
				s, err := str(val)
				if err != nil {
					return nil, err
				}
				return pyvalue.ParseUUID(s)
			case "$bytes_hex", "$bytearray_hex":
				s, err := str(val)
				if err != nil {
					return nil, err
				}
				b, err := hex.DecodeString(s)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", tag, err)
				}
				if tag == "$bytes_hex" {
					return pyvalue.Bytes(b), nil
				}
				return pyvalue.ByteArray(b), nil
			case "$tuple":
				l, err := list(val)
				return pyvalue.Tuple(l), err
			case "$set", "$frozenset":
				l, err := list(val)
				if err != nil {
					return nil, err
				}
				return &pyvalue.Set{Frozen: tag == "$frozenset", Items: l}, nil
			case "$float":
				s, err := str(val)
				if err != nil {
					return nil, err
				}
				switch s {
				case "nan":
					return math.NaN(), nil
				case "inf":
					return math.Inf(1), nil
				case "-inf":
					return math.Inf(-1), nil
				}
				return nil, fmt.Errorf("$float %q", s)
			case "$dict_items":
				l, ok := val.([]any)
				if !ok {
					return nil, fmt.Errorf("$dict_items expects a list of pairs")
				}
				d := pyvalue.NewDict(len(l))
				for _, p := range l {
					pair, ok := p.([]any)
					if !ok || len(pair) != 2 {
						return nil, fmt.Errorf("$dict_items expects [key, value] pairs")
					}
					k, err := untagAt(pair[0], depth+1)
					if err != nil {
						return nil, err
					}
					val, err := untagAt(pair[1], depth+1)
					if err != nil {
						return nil, err
					}
					if err := d.SetChecked(k, val); err != nil {
						return nil, err
					}
				}
				return d, nil
			}
		}
		d := pyvalue.NewDict(x.Len())
		for i := 0; i < x.Len(); i++ {
			k, val := x.At(i)
			u, err := untagAt(val, depth+1)
			if err != nil {
				return nil, err
			}
			d.Set(k, u)
		}
		return d, nil
	}
	return v, nil
}
