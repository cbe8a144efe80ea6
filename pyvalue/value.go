// Package pyvalue is the Go model of the Python values a Django session holds.
//
// A Value is an ordinary Go value of one of these dynamic types:
//
//	Python            Go
//	None              nil
//	bool              bool
//	int               int64, or *big.Int when it does not fit in an int64
//	float             float64 (NaN, ±Inf and -0.0 included)
//	str               string (see below)
//	list              []any
//	tuple             Tuple
//	dict              *Dict (insertion-ordered, any hashable key)
//	set, frozenset    *Set
//	bytes             Bytes
//	bytearray         ByteArray
//	datetime & co.    DateTime, Date, Time, TimeDelta (pytypes.go)
//	decimal.Decimal   Decimal
//	uuid.UUID         UUID
//	anything else     *Object (kept opaque, never executed)
//
// A Python str is a sequence of code points, some of which (lone surrogates)
// have no UTF-8 form. pyvalue stores a str as a Go string in WTF-8: UTF-8,
// except that a lone surrogate U+D800..U+DFFF is written as its three-byte
// generalized UTF-8 sequence (ED A0 80 .. ED BF BF). Every str that has a UTF-8
// form is therefore an ordinary Go string; the rest round-trip exactly.
package pyvalue

import (
	"math"
	"math/big"
	"strconv"
)

// Value is any of the dynamic types listed in the package documentation.
type Value = any

// Tuple is a Python tuple.
type Tuple []any

// Bytes is a Python bytes object.
type Bytes []byte

// ByteArray is a Python bytearray.
type ByteArray []byte

// Set is a Python set or frozenset. Items keep the order in which they were
// read or added, so that a value written back is byte-for-byte what was read.
type Set struct {
	Frozen bool
	Items  []any
}

// Dict is a Python dict: insertion-ordered, last assignment to a key wins.
// Keys compare as Python compares them for the hashable types pyvalue models
// (1, 1.0 and True are the same key); the zero value is an empty dict.
type Dict struct {
	keys []any
	vals []any
	idx  map[hashKey]int
	// sharedKeys: keys may be shared with other dicts (decoders give a
	// list of records one keys slice, capacity capped at its length),
	// so it must be copied before it is changed in place.
	sharedKeys bool
}

// NewDict returns an empty dict with room for n items.
func NewDict(n int) *Dict {
	d := new(Dict)
	d.Grow(n)
	return d
}

// Grow makes room for n more items, so that the next n new keys are stored
// without allocating. Keys and values share one backing array: decoders
// build thousands of small dicts, and each allocation saved counts.
func (d *Dict) Grow(n int) {
	l := len(d.keys)
	if n <= 0 || cap(d.keys)-l >= n {
		return
	}
	c := l + n
	buf := make([]any, 2*c)
	copy(buf, d.keys)
	copy(buf[c:], d.vals)
	// Full slice expressions: an append to keys must never run into vals.
	d.keys = buf[0:l:c]
	d.vals = buf[c : c+l : 2*c]
	d.sharedKeys = false
}

// Len returns the number of items.
func (d *Dict) Len() int {
	if d == nil {
		return 0
	}
	return len(d.keys)
}

// Keys returns the keys in insertion order. The slice is shared: do not modify it.
func (d *Dict) Keys() []any {
	if d == nil {
		return nil
	}
	return d.keys
}

// Values returns the values in insertion order. The slice is shared: do not modify it.
func (d *Dict) Values() []any {
	if d == nil {
		return nil
	}
	return d.vals
}

// At returns the i-th key and value in insertion order.
func (d *Dict) At(i int) (key, value any) { return d.keys[i], d.vals[i] }

// linearLimit is the size below which a scan beats building a hash index.
const linearLimit = 12

func (d *Dict) find(k any) int {
	if d == nil {
		return -1
	}
	if d.idx != nil {
		hk, ok := keyOf(k)
		if !ok {
			return -1
		}
		if i, ok := d.idx[hk]; ok {
			return i
		}
		return -1
	}
	if s, ok := k.(string); ok {
		for i, x := range d.keys {
			if xs, ok := x.(string); ok && xs == s {
				return i
			}
		}
		return -1
	}
	hk, ok := keyOf(k)
	if !ok {
		return -1
	}
	for i, x := range d.keys {
		if xk, ok := keyOf(x); ok && xk == hk {
			return i
		}
	}
	return -1
}

// Get returns the value stored under key k.
func (d *Dict) Get(k any) (any, bool) {
	i := d.find(k)
	if i < 0 {
		return nil, false
	}
	return d.vals[i], true
}

// Has reports whether k is a key.
func (d *Dict) Has(k any) bool { return d.find(k) >= 0 }

// Set stores v under k. An existing key keeps its position (and its original
// key object, as in Python); a new key goes last. Set panics if k is not
// hashable in Python (a list, dict or set); use SetChecked for untrusted keys.
func (d *Dict) Set(k, v any) {
	if err := d.SetChecked(k, v); err != nil {
		panic(err)
	}
}

// SetChecked is Set returning an error for an unhashable key.
func (d *Dict) SetChecked(k, v any) error {
	if i := d.find(k); i >= 0 {
		d.vals[i] = v
		return nil
	}
	hk, ok := keyOf(k)
	if !ok {
		return &UnhashableError{Type: TypeName(k)}
	}
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	if d.idx != nil {
		d.idx[hk] = len(d.keys) - 1
	} else if len(d.keys) > linearLimit {
		d.reindex()
	}
	return nil
}

// Delete removes k and reports whether it was present.
func (d *Dict) Delete(k any) bool {
	i := d.find(k)
	if i < 0 {
		return false
	}
	if d.sharedKeys {
		d.keys, d.sharedKeys = append([]any(nil), d.keys...), false
	}
	copy(d.keys[i:], d.keys[i+1:])
	copy(d.vals[i:], d.vals[i+1:])
	d.keys[len(d.keys)-1] = nil
	d.vals[len(d.vals)-1] = nil
	d.keys = d.keys[:len(d.keys)-1]
	d.vals = d.vals[:len(d.vals)-1]
	if d.idx != nil {
		d.reindex()
	}
	return true
}

// Clear removes every item.
func (d *Dict) Clear() {
	if d.sharedKeys {
		d.keys, d.sharedKeys = nil, false
	}
	d.keys, d.vals, d.idx = d.keys[:0], d.vals[:0], nil
}

// Clone returns a shallow copy.
func (d *Dict) Clone() *Dict {
	c := NewDict(d.Len())
	if d != nil {
		c.keys = append(c.keys, d.keys...)
		c.vals = append(c.vals, d.vals...)
		if d.idx != nil {
			c.reindex()
		}
	}
	return c
}

func (d *Dict) reindex() {
	d.idx = make(map[hashKey]int, len(d.keys))
	for i, k := range d.keys {
		hk, _ := keyOf(k)
		d.idx[hk] = i
	}
}

// UnhashableError reports a dict key or set item Python cannot hash.
type UnhashableError struct{ Type string }

func (e *UnhashableError) Error() string { return "unhashable type: '" + e.Type + "'" }

// hashKey is a comparable stand-in for a Python value under Python equality.
type hashKey struct {
	kind byte
	s    string
}

// keyOf maps a hashable value to its hashKey, folding the numeric tower the
// way Python's == does: True == 1 == 1.0.
func keyOf(v any) (hashKey, bool) {
	switch x := v.(type) {
	case string:
		return hashKey{'s', x}, true
	case nil:
		return hashKey{'N', ""}, true
	case bool:
		if x {
			return hashKey{'i', "1"}, true
		}
		return hashKey{'i', "0"}, true
	case int64:
		return hashKey{'i', strconv.FormatInt(x, 10)}, true
	case int:
		return hashKey{'i', strconv.Itoa(x)}, true
	case *big.Int:
		return hashKey{'i', x.String()}, true
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			if x >= -9e18 && x <= 9e18 {
				return hashKey{'i', strconv.FormatInt(int64(x), 10)}, true
			}
			b, _ := new(big.Float).SetFloat64(x).Int(nil)
			return hashKey{'i', b.String()}, true
		}
		return hashKey{'f', strconv.FormatFloat(x, 'g', -1, 64)}, true
	case Bytes:
		return hashKey{'b', string(x)}, true
	case Tuple:
		s := make([]byte, 0, 16)
		for _, e := range x {
			k, ok := keyOf(e)
			if !ok {
				return hashKey{}, false
			}
			s = append(s, k.kind)
			s = strconv.AppendInt(s, int64(len(k.s)), 10)
			s = append(s, ':')
			s = append(s, k.s...)
		}
		return hashKey{'t', string(s)}, true
	case *Set:
		if !x.Frozen {
			return hashKey{}, false
		}
		// frozenset equality ignores order: a sorted encoding would be exact,
		// but frozenset keys do not occur in sessions; identity is enough.
		return hashKey{'F', strconv.FormatUint(uint64(uintptrOf(x)), 16)}, true
	case []any, *Dict, ByteArray:
		return hashKey{}, false
	default:
		if h, ok := v.(interface{ pyHashKey() string }); ok {
			return hashKey{'o', TypeName(v) + "\x00" + h.pyHashKey()}, true
		}
		return hashKey{'o', TypeName(v) + "\x00" + strconv.FormatUint(uint64(uintptrOf(v)), 16)}, true
	}
}

// TypeName returns the Python type name of v ("str", "int", "dict" ...).
func TypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64, int, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case Tuple:
		return "tuple"
	case *Dict:
		return "dict"
	case *Set:
		if x.Frozen {
			return "frozenset"
		}
		return "set"
	case Bytes:
		return "bytes"
	case ByteArray:
		return "bytearray"
	case interface{ PythonType() string }:
		return x.PythonType()
	default:
		return "<Go " + goTypeName(v) + ">"
	}
}
