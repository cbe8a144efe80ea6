package pyvalue

import (
	"bytes"
	"encoding/binary"
	"unsafe"

	"github.com/djsession/djsession/internal/slab"
)

// The JSON decoder allocates in bulk. A session decode would otherwise make
// one heap allocation per string, per number (boxing it into an `any`), per
// list and per dict — about a hundred for a 1 KB session, which costs more
// than all the parsing. Instead, one decode carves its values out of a few
// chunks: strings, int64s and float64s live in typed slabs and the
// interfaces point into them; lists and dict items are sub-slices (with
// capped capacity) of one []any chunk; Dicts come from a []Dict chunk.
//
// The price is retention: a value that outlives its siblings keeps the
// whole chunk alive. For session dicts, which live and die together, that is
// the right trade.
//
// Boxing a value that already lives in a slab needs unsafe: Go has no other
// way to make an interface point to existing memory. It is sound because a
// slab element is never written again after it is boxed (slabs only grow
// by reslicing to a fresh element, or by allocating a new chunk), which is
// exactly the immutability the runtime assumes of an interface's data.

// arena holds the chunks of one decode.
type arena struct {
	slab.Boxes
	dicts []Dict
	bytes []byte // text of strings that are not a plain slice of the input

	// keys caches boxed dict keys that were plain slices of the input,
	// indexed by their first two bytes. Sessions repeat the same few keys
	// ("id", "sku", "qty" ...) in every dict of a list; a key whose input
	// bytes match a cached one needs neither scanning nor a new box, much
	// as CPython's decoder memoizes keys. A collision only costs a miss.
	keys [64]cachedKey
}

// cachedKey is a slot of arena.keys.
type cachedKey struct {
	box  any // the boxed key; nil for an empty slot
	text string
	// For a key of up to 7 bytes, word is the key and the closing '"' as
	// an 8-byte little-endian load of the input sees them, and mask
	// selects those bytes: one load and compare match the key. mask is 0
	// for longer keys.
	word, mask uint64
}

// set fills the slot with box, the key text k.
func (c *cachedKey) set(box any, k string) {
	c.box, c.text, c.word, c.mask = box, k, 0, 0
	if len(k) <= 7 {
		var w [8]byte
		copy(w[:], k)
		w[len(k)] = '"'
		c.word = binary.LittleEndian.Uint64(w[:])
		c.mask = ^uint64(0) >> (64 - 8*(len(k)+1))
	}
}

// keyIndex is the slot in arena.keys of a key starting with bytes c0, c1.
func keyIndex(c0, c1 byte) int { return int(c0+c1*7) & 63 }

// presize makes the first chunks as large as the input suggests, counting
// quotes, separators and brackets: a string per pair of quotes that is not
// a key, a number per value that is neither string nor container, a list
// or dict slot per ',' plus one per container, a Dict per '{'. Keys are
// mostly cached (see keys), and the dicts of a list of records share one
// keys slice: only a share of them is reserved. An input that needs more
// (a big dict of distinct keys, say) gets further chunks on demand. It
// returns the count of ',' plus one, a bound on the items of any container.
func (a *arena) presize(in []byte) (items int) {
	if len(in) > 1<<16 {
		in = in[:1<<16] // later chunks grow on demand
	}
	colons := bytes.Count(in, []byte{':'})
	commas := bytes.Count(in, []byte{','})
	quotes := bytes.Count(in, []byte{'"'})
	if n := quotes/2 - colons + min(colons, 32+colons/8); n > 0 {
		a.Strs = make([]string, 0, n)
	}
	if n := commas - quotes/2 + colons + 1; n > 0 {
		a.Nums = make([]uint64, 0, n)
	}
	braces := bytes.Count(in, []byte{'{'})
	brackets := bytes.Count(in, []byte{'['})
	if n := commas + min(colons, 32+colons/8) + braces + brackets; n > 0 {
		a.Anys = make([]any, 0, n)
		a.AnysCut = 4096 - 256 // later chunks: 256 at most (see slab.Boxes)
	}
	if braces > 0 {
		a.dicts = make([]Dict, 0, braces)
	}
	if brackets > 0 {
		a.Lists = make([][]any, 0, brackets)
	}
	return commas + 1
}

func (a *arena) dict() *Dict {
	if len(a.dicts) == cap(a.dicts) {
		a.dicts = make([]Dict, 0, slab.Grow(cap(a.dicts), 4, 1024))
	}
	a.dicts = a.dicts[:len(a.dicts)+1]
	return &a.dicts[len(a.dicts)-1]
}

// The text of strings that need decoding (escapes, Latin-1) is appended to
// a.bytes between beginText and endText. Bytes below len(a.bytes) are never
// written again, so strings over them stay valid when a later append moves
// the chunk elsewhere.

// beginText returns the byte chunk to append a string of about n bytes to.
func (a *arena) beginText(n int) []byte {
	if n > cap(a.bytes)-len(a.bytes) {
		a.bytes = make([]byte, 0, max(n, slab.Grow(cap(a.bytes), 256, 64<<10)))
	}
	return a.bytes
}

// endText keeps b (beginText's chunk with a string appended from offset
// start) and returns the string.
func (a *arena) endText(b []byte, start int) string {
	a.bytes = b
	if len(b) == start {
		return ""
	}
	return unsafe.String(&b[start], len(b)-start)
}
