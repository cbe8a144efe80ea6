// Package slab boxes decoded values into interfaces from a few typed chunks
// instead of one heap allocation per value. Both decoders of the project
// (pyvalue's JSON, pickle_compat's pickle) build thousands of small values
// per session, and boxing each string, number and list header into an `any`
// would cost more than all the parsing.
//
// The price is retention: a value that outlives its siblings keeps its
// chunk alive. Session values live and die together, so that is the right
// trade.
//
// Boxing a value that already lives in a chunk needs unsafe: Go has no
// other way to make an interface point to existing memory. It is sound
// because a boxed chunk element is never written again (chunks grow by
// reslicing to a fresh element or by allocating a new chunk), which is
// exactly the immutability the runtime assumes of an interface's data.
package slab

import (
	"math"
	"unsafe"
)

// eface is the runtime layout of an empty interface.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

// Type words of the boxed types; written once at init, read-only after.
var (
	stringType  = typeOf("")
	int64Type   = typeOf(int64(0))
	float64Type = typeOf(float64(0))
	listType    = typeOf([]any(nil))
)

// Data returns the data word of v: two values with the same data word and
// type hold the very same boxed value.
func Data(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).data }

func box(typ, data unsafe.Pointer) any {
	return *(*any)(unsafe.Pointer(&eface{typ: typ, data: data}))
}

// Boxes holds the chunks of one decode. A decoder may preset the fields
// (a first chunk sized from the input, or an array of its own) before the
// first call; the zero value works and allocates on demand.
type Boxes struct {
	Strs []string
	// Nums holds the boxed int64s and float64s, both eight bytes without
	// pointers: one chunk that a decoder can size from a single estimate.
	Nums  []uint64
	Anys  []any
	Lists [][]any
	// AnysCut lowers the largest Anys chunk Slice starts (twice the last,
	// at most 4096-AnysCut): a decoder that sized the first chunk from its
	// whole input sets it, as its estimate falls short by a few items if
	// at all, and doubling would allocate as much again for them.
	AnysCut int
}

// Grow is the size of the next chunk: double the last, within [min, max].
func Grow(n, min, max int) int {
	n *= 2
	if n < min {
		n = min
	}
	if n > max {
		n = max
	}
	return n
}

// String boxes s.
func (b *Boxes) String(s string) any {
	if s == "" {
		return "" // boxing the empty string does not allocate
	}
	if len(b.Strs) == cap(b.Strs) {
		b.Strs = make([]string, 0, Grow(cap(b.Strs), 16, 4096))
	}
	b.Strs = append(b.Strs, s)
	return box(stringType, unsafe.Pointer(&b.Strs[len(b.Strs)-1]))
}

// Int boxes n as an int64.
func (b *Boxes) Int(n int64) any {
	if n >= 0 && n < 256 {
		return n // the runtime boxes small integers without allocating
	}
	if len(b.Nums) == cap(b.Nums) {
		b.Nums = make([]uint64, 0, Grow(cap(b.Nums), 16, 4096))
	}
	b.Nums = append(b.Nums, uint64(n))
	return box(int64Type, unsafe.Pointer(&b.Nums[len(b.Nums)-1]))
}

// Float boxes f.
func (b *Boxes) Float(f float64) any {
	if len(b.Nums) == cap(b.Nums) {
		b.Nums = make([]uint64, 0, Grow(cap(b.Nums), 16, 4096))
	}
	b.Nums = append(b.Nums, math.Float64bits(f))
	return box(float64Type, unsafe.Pointer(&b.Nums[len(b.Nums)-1]))
}

// Slice returns n zeroed elements whose capacity is capped at n, so that an
// append by the caller reallocates instead of overwriting a neighbour.
func (b *Boxes) Slice(n int) []any {
	if n > cap(b.Anys)-len(b.Anys) {
		if n > 256 {
			return make([]any, n)
		}
		b.Anys = make([]any, 0, max(n, Grow(cap(b.Anys), 64, 4096-b.AnysCut)))
	}
	l := len(b.Anys)
	b.Anys = b.Anys[:l+n]
	return b.Anys[l : l+n : l+n]
}

// List boxes a list header.
func (b *Boxes) List(l []any) any {
	if len(b.Lists) == cap(b.Lists) {
		b.Lists = make([][]any, 0, Grow(cap(b.Lists), 4, 1024))
	}
	b.Lists = append(b.Lists, l)
	return box(listType, unsafe.Pointer(&b.Lists[len(b.Lists)-1]))
}
