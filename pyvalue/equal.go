package pyvalue

import (
	"math"
	"math/big"
	"reflect"
)

// Equal reports whether a and b are the same Python value with the same
// types all the way down. It is stricter than Python's ==, as tests of a
// byte-exact codec need: 1, 1.0 and True differ; a list differs from a tuple
// and bytes from bytearray; -0.0 differs from 0.0; dicts must hold the same
// items in the same order. NaN equals NaN. Integers compare by value whatever
// their Go representation (int, int64, *big.Int). Sets compare as sets
// (item order ignored) but a set never equals a frozenset. Other types
// (DateTime, Decimal, *Object ...) compare with reflect.DeepEqual.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int, int64, *big.Int:
		xa, ok1 := bigOf(a)
		ya, ok2 := bigOf(b)
		return ok1 && ok2 && xa.Cmp(ya) == 0
	case float64:
		y, ok := b.(float64)
		if !ok {
			return false
		}
		if math.IsNaN(x) || math.IsNaN(y) {
			return math.IsNaN(x) && math.IsNaN(y)
		}
		return math.Float64bits(x) == math.Float64bits(y)
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		return ok && equalSlices(x, y)
	case Tuple:
		y, ok := b.(Tuple)
		return ok && equalSlices(x, y)
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for i := 0; i < x.Len(); i++ {
			if !Equal(x.keys[i], y.keys[i]) || !Equal(x.vals[i], y.vals[i]) {
				return false
			}
		}
		return true
	case *Set:
		y, ok := b.(*Set)
		if !ok || x == nil || y == nil {
			return ok && x == y
		}
		if x.Frozen != y.Frozen || len(x.Items) != len(y.Items) {
			return false
		}
		used := make([]bool, len(y.Items))
	next:
		for _, e := range x.Items {
			for j, f := range y.Items {
				if !used[j] && Equal(e, f) {
					used[j] = true
					continue next
				}
			}
			return false
		}
		return true
	case Bytes:
		y, ok := b.(Bytes)
		return ok && string(x) == string(y)
	case ByteArray:
		y, ok := b.(ByteArray)
		return ok && string(x) == string(y)
	}
	return reflect.DeepEqual(a, b)
}

func equalSlices(x, y []any) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !Equal(x[i], y[i]) {
			return false
		}
	}
	return true
}

// bigOf returns an integer Value as a *big.Int.
func bigOf(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case int:
		return big.NewInt(int64(x)), true
	case int64:
		return big.NewInt(x), true
	case *big.Int:
		return x, x != nil
	}
	return nil, false
}
