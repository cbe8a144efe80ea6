package pickle_compat

import (
	"sync"
	"unsafe"

	"github.com/djsession/djsession/pyvalue"
)

// The decoder allocates in bulk, as pyvalue's JSON decoder does. Boxing a
// string, a large int or a float into an `any` costs one heap allocation
// each, and so does every list header, list buffer and Dict: for a session
// pickle that is most of the decoding time. One Loads instead carves these
// values out of typed chunks (slabs) and makes the interfaces point into
// them; the first chunks live inline in the arena, so a small session costs
// a handful of allocations in all.
//
// The price is retention: a value that outlives its siblings keeps its
// chunk alive. Session values live and die together, so that is the right
// trade.
//
// Boxing a value that already lives in a slab needs unsafe: Go has no other
// way to make an interface point to existing memory. It is sound because a
// boxed slab element is never written again (slabs grow by reslicing to a
// fresh element or by allocating a new chunk), which is exactly the
// immutability the runtime assumes of an interface's data.

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

func box(typ, data unsafe.Pointer) any {
	return *(*any)(unsafe.Pointer(&eface{typ: typ, data: data}))
}

// arena holds the chunks of one decode. The inline arrays are the first
// chunks.
type arena struct {
	strs  []string
	ints  []int64
	flts  []float64
	anys  []any
	lists [][]any
	bufs  []listBuf
	dicts []pyvalue.Dict

	strArr  [8]string
	intArr  [1]int64
	fltArr  [1]float64
	listArr [1][]any
	bufArr  [1]listBuf
	dictArr [1]pyvalue.Dict
}

func newArena() *arena {
	a := new(arena)
	a.strs = a.strArr[:0]
	a.ints = a.intArr[:0]
	a.flts = a.fltArr[:0]
	a.lists = a.listArr[:0]
	a.bufs = a.bufArr[:0]
	a.dicts = a.dictArr[:0]
	return a
}

// grow is the size of the next chunk: double the last, within [min, max].
func grow(n, min, max int) int {
	n *= 2
	if n < min {
		n = min
	}
	if n > max {
		n = max
	}
	return n
}

func (a *arena) boxString(s string) any {
	if s == "" {
		return "" // boxing the empty string does not allocate
	}
	if len(a.strs) == cap(a.strs) {
		a.strs = make([]string, 0, grow(cap(a.strs), 16, 4096))
	}
	a.strs = append(a.strs, s)
	return box(stringType, unsafe.Pointer(&a.strs[len(a.strs)-1]))
}

func (a *arena) boxInt(n int64) any {
	if n >= 0 && n < 256 {
		return n // the runtime boxes small integers without allocating
	}
	if len(a.ints) == cap(a.ints) {
		a.ints = make([]int64, 0, grow(cap(a.ints), 16, 4096))
	}
	a.ints = append(a.ints, n)
	return box(int64Type, unsafe.Pointer(&a.ints[len(a.ints)-1]))
}

func (a *arena) boxFloat(f float64) any {
	if len(a.flts) == cap(a.flts) {
		a.flts = make([]float64, 0, grow(cap(a.flts), 8, 4096))
	}
	a.flts = append(a.flts, f)
	return box(float64Type, unsafe.Pointer(&a.flts[len(a.flts)-1]))
}

// slice returns n zeroed elements whose capacity is capped at n, so that an
// append reallocates instead of overwriting a neighbour.
func (a *arena) slice(n int) []any {
	if n > cap(a.anys)-len(a.anys) {
		if n > 256 {
			return make([]any, n)
		}
		a.anys = make([]any, 0, max(n, grow(cap(a.anys), 64, 4096)))
	}
	l := len(a.anys)
	a.anys = a.anys[:l+n]
	return a.anys[l : l+n : l+n]
}

// boxList boxes a list header from the lists slab.
func (a *arena) boxList(l []any) any {
	if len(a.lists) == cap(a.lists) {
		a.lists = make([][]any, 0, grow(cap(a.lists), 4, 1024))
	}
	a.lists = append(a.lists, l)
	return box(listType, unsafe.Pointer(&a.lists[len(a.lists)-1]))
}

// listBuf returns a fresh list under construction. Unlike boxed values,
// listBufs and Dicts are mutated after they are handed out: they are
// ordinary pointers into their slab.
func (a *arena) listBuf(items []any) *listBuf {
	if len(a.bufs) == cap(a.bufs) {
		a.bufs = make([]listBuf, 0, grow(cap(a.bufs), 4, 1024))
	}
	a.bufs = append(a.bufs, listBuf{items: items})
	return &a.bufs[len(a.bufs)-1]
}

// dict returns a fresh empty Dict.
func (a *arena) dict() *pyvalue.Dict {
	if len(a.dicts) == cap(a.dicts) {
		a.dicts = make([]pyvalue.Dict, 0, grow(cap(a.dicts), 4, 1024))
	}
	a.dicts = a.dicts[:len(a.dicts)+1]
	return &a.dicts[len(a.dicts)-1]
}

// The value stack, mark stack and memo of an unpickler hold no result
// memory once Loads returns (they are cleared), so they are reused across
// calls.
var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

type scratch struct {
	stack []any
	marks []int
	memo  []memoSlot
}

// scratchKeep bounds what a pooled scratch keeps: one huge pickle must not
// pin its stacks forever.
const scratchKeep = 4096

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch, stack []any, marks []int, memo []memoSlot) {
	if cap(stack) > scratchKeep || cap(memo) > scratchKeep || cap(marks) > scratchKeep {
		return // the old buffers were written to as well: drop them all
	}
	clear(stack[:cap(stack)])
	clear(memo[:cap(memo)])
	s.stack, s.marks, s.memo = stack[:0], marks[:0], memo[:0]
	scratchPool.Put(s)
}
