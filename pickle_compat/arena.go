package pickle_compat

import (
	"sync"

	"github.com/djsession/djsession/internal/slab"
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

// arena holds the chunks of one decode. The inline arrays are the first
// chunks.
type arena struct {
	slab.Boxes
	bufs  []listBuf
	dicts []pyvalue.Dict

	strArr  [8]string
	numArr  [2]uint64
	listArr [1][]any
	bufArr  [1]listBuf
	dictArr [1]pyvalue.Dict
}

func newArena() *arena {
	a := new(arena)
	a.Strs = a.strArr[:0]
	a.Nums = a.numArr[:0]
	a.Lists = a.listArr[:0]
	a.bufs = a.bufArr[:0]
	a.dicts = a.dictArr[:0]
	return a
}

// listBuf returns a fresh list under construction. Unlike boxed values,
// listBufs and Dicts are mutated after they are handed out: they are
// ordinary pointers into their slab.
func (a *arena) listBuf(items []any) *listBuf {
	if len(a.bufs) == cap(a.bufs) {
		a.bufs = make([]listBuf, 0, slab.Grow(cap(a.bufs), 4, 1024))
	}
	a.bufs = append(a.bufs, listBuf{items: items})
	return &a.bufs[len(a.bufs)-1]
}

// dict returns a fresh empty Dict.
func (a *arena) dict() *pyvalue.Dict {
	if len(a.dicts) == cap(a.dicts) {
		a.dicts = make([]pyvalue.Dict, 0, slab.Grow(cap(a.dicts), 4, 1024))
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
