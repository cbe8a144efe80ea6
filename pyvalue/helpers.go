package pyvalue

import (
	"fmt"
	"math/big"
	"reflect"
)

func goTypeName(v any) string { return fmt.Sprintf("%T", v) }

// uintptrOf gives pointer-shaped values an identity, as Python's default
// object hash does.
func uintptrOf(v any) uintptr {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return rv.Pointer()
	}
	return 0
}

// Int returns x as an int Value: an int64 when it fits, else x itself.
func Int(x *big.Int) any {
	if x.IsInt64() {
		return x.Int64()
	}
	return x
}
