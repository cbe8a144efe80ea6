package cachestore

import (
	"time"
	"unicode/utf8"
)

// Selector picks the server of a multi-server memcached LOCATION that holds
// a stored key, exactly as the Python client Django uses would, so that Go
// and Django find the same item.
type Selector interface {
	// Pick returns the index (in LOCATION order) of the server for key.
	Pick(key string) int
}

// RendezvousSelector is pymemcache's HashClient with its default hasher,
// RendezvousHash (seed 0): every node scores murmur3_32(node + "-" + key)
// and the highest score wins, a tie going to the lexicographically larger
// node name. Nodes are named "host:port" as pymemcache renders them.
type RendezvousSelector struct {
	// Nodes are the node names in LOCATION order.
	Nodes []string
}

// Pick implements Selector.
func (r RendezvousSelector) Pick(key string) int {
	if len(r.Nodes) <= 1 {
		return 0
	}
	return r.pickLive(key, nil)
}

// pickLive is Pick among the nodes not in dead, as RendezvousHash picks
// once HashClient has removed dead servers from it; -1 when none is left.
func (r RendezvousSelector) pickLive(key string, dead map[int]time.Time) int {
	win, high := -1, int64(-1)
	for i, n := range r.Nodes {
		if _, ok := dead[i]; ok {
			continue
		}
		score := int64(pyMurmur3(n + "-" + key))
		switch {
		case score > high:
			win, high = i, score
		case score == high && n > r.Nodes[win]:
			win = i
		}
	}
	return win
}

// ModulaSelector is libmemcached's default distribution as pylibmc
// configures it (hash "default" = Jenkins one-at-a-time over the key's
// UTF-8 bytes taken as signed C chars, distribution modula):
// servers[hash % n].
type ModulaSelector struct {
	// N is the number of servers.
	N int
}

// Pick implements Selector.
func (m ModulaSelector) Pick(key string) int {
	if m.N <= 1 {
		return 0
	}
	return int(OneAtATime(key) % uint32(m.N))
}

// OneAtATime is libmemcached's hashkit_one_at_a_time. The C code reads the
// key through a (signed) char pointer, so bytes >= 0x80 are sign-extended
// before they are added: that, not the textbook unsigned variant, is what
// places non-ASCII keys where pylibmc puts them.
func OneAtATime(key string) uint32 {
	var h uint32
	for i := 0; i < len(key); i++ {
		h += uint32(int32(int8(key[i])))
		h += h << 10
		h ^= h >> 6
	}
	h += h << 3
	h ^= h >> 11
	h += h << 15
	return h
}

// Murmur3 is MurmurHash3 x86 32-bit of data with the given seed.
func Murmur3(data []byte, seed uint32) uint32 {
	return murmur3(len(data), func(i int) uint32 { return uint32(data[i]) }, seed)
}

// pyMurmur3 is pymemcache's pure-Python murmur3_32(s) over a Python str: it
// walks characters, not bytes, and each character contributes the low 8
// bits of its code point (the length is the number of characters). Go
// strings here are WTF-8, so lone surrogates count as one character too.
func pyMurmur3(s string) uint32 {
	var cps []uint32
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return murmur3(len(s), func(i int) uint32 { return uint32(s[i]) }, 0)
	}
	cps = make([]uint32, 0, len(s))
	for i := 0; i < len(s); {
		r, w := decodeWTF8(s[i:])
		cps = append(cps, uint32(r)&0xff)
		i += w
	}
	return murmur3(len(cps), func(i int) uint32 { return cps[i] }, 0)
}

// decodeWTF8 decodes one code point, accepting the 3-byte encodings of
// surrogates (ED A0 80 .. ED BF BF) that WTF-8 uses for lone surrogates.
// Invalid bytes count as one character each (U+FFFD).
func decodeWTF8(s string) (rune, int) {
	if len(s) >= 3 && s[0] == 0xED && s[1] >= 0xA0 && s[1] <= 0xBF && s[2] >= 0x80 && s[2] <= 0xBF {
		return rune(0xD000 | rune(s[1]&0x3F)<<6 | rune(s[2]&0x3F)), 3
	}
	return utf8.DecodeRuneInString(s)
}

func murmur3(n int, at func(int) uint32, seed uint32) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	h := seed
	end := n &^ 3
	for i := 0; i < end; i += 4 {
		k := at(i) | at(i+1)<<8 | at(i+2)<<16 | at(i+3)<<24
		k *= c1
		k = k<<15 | k>>17
		k *= c2
		h ^= k
		h = h<<13 | h>>19
		h = h*5 + 0xe6546b64
	}
	var k uint32
	switch n & 3 {
	case 3:
		k = at(end+2) << 16
		fallthrough
	case 2:
		k |= at(end+1) << 8
		fallthrough
	case 1:
		k |= at(end)
		k *= c1
		k = k<<15 | k>>17
		k *= c2
		h ^= k
	}
	h ^= uint32(n)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
