package signing

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"sync"
)

// This file is a whole-buffer zlib (RFC 1950/1951) decompressor. Signed
// payloads are small and arrive complete, so there is no need for a
// streaming reader with its 32 KiB window, per-call state reset and
// io.Reader plumbing: decoding straight into the output slice makes
// decompression several times faster than compress/zlib or
// klauspost/compress at session sizes. Error texts are zlib's own, as
// CPython's zlib.error reports them.

const (
	// litBits and distBits are the lookup-table widths of the
	// literal/length and distance codes; codes up to that long decode in
	// one lookup, longer ones (rare: a code that long has probability
	// below 2^-litBits) bit by bit in slow. Wider tables make that
	// rarer but cost more to build per dynamic block, which dominates
	// at session sizes. Constants let the compiler drop bounds checks.
	litBits  = 10
	litMask  = 1<<litBits - 1
	distBits = 8
	distMask = 1<<distBits - 1
	// clenBits covers every code-length code (at most 7 bits long), so
	// that table never needs slow.
	clenBits   = 7
	clenMask   = 1<<clenBits - 1
	maxCodeLen = 15
)

// The fast loop takes five literals of up to litBits bits from a refilled
// 56-bit buffer; this fails to compile if they would not fit.
const _ = uint(56 - 5*litBits)

type (
	litTable  [1 << litBits]uint32
	distTable [1 << distBits]uint32
	// codeTables keeps a block's two tables together, so the hot loop
	// reaches both through one pointer (one register fewer).
	codeTables struct {
		lit  litTable
		dist distTable
	}
	clenTable [1 << clenBits]uint32
)

// A table entry describes one code and what the decoder does with it, so
// the hot loop needs no second lookup (libdeflate's layout):
//
//	bits 0-7   code length + extra bits: the whole shift once decoded
//	bits 8-11  code length alone: extra bits = (bits & (1<<total-1)) >> this
//	bits 12-15 flags
//	bits 16-31 the literal byte, the length or distance base, or the
//	           code-length symbol
//
// A length or distance entry has no flag; its extra-bit count is folded
// into the shift. An entry with flagSlow (and length 0) stands for every
// code longer than the table, and for the codes missing from an
// incomplete set, which slow then reports invalid.
const (
	flagBad  = 1 << 12 // invalid symbol (286, 287, distance 30, 31) or code
	flagSlow = 1 << 13
	flagEOB  = 1 << 14
	flagLit  = 1 << 15
)

// litInfo, distInfo and clenInfo are the per-symbol parts of the entries
// (value, flags, extra-bit count); build adds the code length.
var litInfo, distInfo, clenInfo = func() (lit [288]uint32, dist [32]uint32, clen [19]uint32) {
	lengthBase := [29]uint32{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra := [29]uint32{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase := [30]uint32{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra := [30]uint32{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	for s := range lit {
		switch {
		case s < 256:
			lit[s] = flagLit | uint32(s)<<16
		case s == 256:
			lit[s] = flagEOB
		case s < 286:
			lit[s] = lengthBase[s-257]<<16 | lengthExtra[s-257]
		default:
			lit[s] = flagBad
		}
	}
	for s := range dist {
		if s < 30 {
			dist[s] = distBase[s]<<16 | distExtra[s]
		} else {
			dist[s] = flagBad
		}
	}
	for s := range clen {
		clen[s] = uint32(s) << 16
	}
	return
}()

// huffman is the canonical form of a code, which slow decodes from for
// codes longer than the lookup table; build fills both.
type huffman struct {
	first int // canonical decoding state after the first tbits bits (see slow)
	count [maxCodeLen + 1]uint16
	// bucket[l][:count[l]] are the symbols of length l in increasing
	// order, that is in code order. dynamic files them as it decodes the
	// lengths, which spares build a sort pass.
	bucket [maxCodeLen + 1][288]uint16
}

type codeKind int

const (
	kindCodes codeKind = iota // code-length code: incomplete sets rejected
	kindLens                  // literal/length code
	kindDists                 // distance code
)

// build constructs the code for lengths into h and the lookup table (of
// width tbits, len(table) == 1<<tbits; info gives the entries' symbol
// parts), applying zlib's validity rules (inflate_table): an
// over-subscribed set is invalid; an incomplete set is invalid except for a
// literal/length or distance code whose longest code has length 1 (a single
// code), and an empty distance code is allowed.
//
// h.count and h.bucket must describe the lengths (count[0] is ignored).
func (h *huffman) build(table []uint32, tbits int, kind codeKind, info []uint32) bool {
	h.count[0] = 0
	left, total := 1, 0 // left: codes of the current length not yet assigned
	for l := 1; l <= maxCodeLen; l++ {
		left = left<<1 - int(h.count[l])
		total += int(h.count[l])
		if left < 0 {
			return false // over-subscribed
		}
	}
	if total == 0 {
		e := uint32(flagBad) // no code at all: every code is invalid
		if kind == kindCodes {
			// zlib builds a table whose every entry reads as symbol 0
			// of length 1 for an all-zero code-length code, so every
			// length becomes 0 and the error surfaces later ("missing
			// end-of-block") or not at all before the input ends.
			e = info[0] + 1 + 1<<8
		}
		for i := range table {
			table[i] = e
		}
		h.first = 0
		return true
	}
	if left > 0 && (kind == kindCodes || total != 1 || h.count[1] != 1) {
		return false // incomplete, and not a single code of length 1
	}
	h.first = 0
	for l := 1; l <= tbits; l++ {
		h.first = (h.first + int(h.count[l])) << 1
	}
	// The lookup table is built by doubling: the table for l bits is
	// the one for l-1 bits twice over (shorter codes ignore the extra
	// bit), plus one entry per code of length l. That is one copy and one
	// store per symbol instead of a strided fill per symbol. Entries no
	// code of up to tbits bits claims keep flagSlow. The doubling starts
	// at the shortest code's length, below which the table is all
	// flagSlow: that saves a few tiny copies per table.
	minLen := 1
	for h.count[minLen] == 0 && minLen < tbits {
		minLen++
	}
	size, code := 1<<(minLen-1), 0
	for i := range table[:size] {
		table[i] = flagSlow
	}
	for l := minLen; l <= tbits; l++ {
		copy(table[size:2*size], table[:size])
		size <<= 1
		code = (code + int(h.count[l-1])) << 1 // first code of length l
		add := uint32(l) | uint32(l)<<8
		for j, s := range h.bucket[l][:h.count[l]] {
			// Codes are stored most significant bit first.
			table[reversed10[(code+j)<<(10-l)&1023]] = info[s] + add
		}
	}
	return true
}

// reversed10 maps 10 bits to their reverse: for a code c of l <= 10 bits,
// reversed10[c<<(10-l)] is c as it appears in the stream (most significant
// bit first).
var reversed10 = func() (t [1024]uint16) {
	for i := range t {
		t[i] = bits.Reverse16(uint16(i)) >> 6
	}
	return
}()

// fileLengths sets h.count and h.bucket from lengths, for build.
func (h *huffman) fileLengths(lengths []uint8) {
	h.count = [maxCodeLen + 1]uint16{}
	for s, l := range lengths {
		l &= maxCodeLen
		h.bucket[l][h.count[l]] = uint16(s)
		h.count[l]++
	}
}

// slow decodes a code longer than tbits (or an invalid one) from the low
// bits of b, returning the symbol and its length, or length 0. It resumes
// canonical decoding (as zlib's puff does it, one bit at a time) after the
// first tbits bits, whose state build precomputed.
func (h *huffman) slow(b uint64, tbits int) (sym, n uint) {
	code := int(bits.Reverse16(uint16(b)) >> (16 - tbits))
	b >>= tbits
	first := h.first
	for l := tbits + 1; l <= maxCodeLen; l++ {
		code = code<<1 | int(b&1)
		b >>= 1
		cnt := int(h.count[l])
		if code-cnt < first {
			return uint(h.bucket[l][code-first]), uint(l)
		}
		first += cnt
		first <<= 1
	}
	return 0, 0
}

// slowEntry is the table entry slow finds for the code in b: flagBad of
// length 0 for an invalid code.
func (h *huffman) slowEntry(b uint64, tbits int, info []uint32) uint32 {
	sym, n := h.slow(b, tbits)
	if n == 0 {
		return flagBad
	}
	return info[sym] + uint32(n) + uint32(n)<<8
}

var clenOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// fixedLit and fixedDist are the fixed codes of block type 1 (codes of
// at most 9 and 5 bits, so slow is never needed); read-only after
// initialisation.
var (
	fixedTabs codeTables
	fixedLit  huffman
	fixedDist huffman
)

func init() {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	// 32 codes of 5 bits; 30 and 31 are invalid when decoded.
	var d [32]uint8
	for i := range d {
		d[i] = 5
	}
	fixedLit.fileLengths(l[:])
	fixedLit.build(fixedTabs.lit[:], litBits, kindLens, litInfo[:])
	fixedDist.fileLengths(d[:])
	fixedDist.build(fixedTabs.dist[:], distBits, kindDists, distInfo[:])
}

// inflater holds the state of one decompression; pooled because its
// tables and symbol buckets take about 33 KiB.
type inflater struct {
	in      []byte
	pos     int    // next input byte to load into bits
	over    int    // zero bytes loaded past the end of in
	bits    uint64 // bit buffer, next bit lowest
	nb      uint   // valid bits in bits
	out     []byte
	base    int // len(out) when this stream started
	max     int
	lit     huffman
	dist    huffman
	clen    huffman
	tabs    codeTables
	clenTab clenTable
	lens    [320]uint8
}

var inflaterPool = sync.Pool{New: func() any { return new(inflater) }}

type inflateError struct {
	code int // zlib return code: -3 data error, -5 truncated, 2 need dict
	msg  string
}

var (
	errTruncated = &inflateError{-5, "incomplete or truncated stream"}
	errTooBig    = &inflateError{0, "too large"}
)

func dataError(msg string) *inflateError { return &inflateError{-3, msg} }

func (e *inflateError) Error() string {
	if e.code == 2 {
		return "Error 2 while decompressing data"
	}
	return "Error " + strconv.Itoa(e.code) + " while decompressing data: " + e.msg
}

// refill tops the bit buffer up to at least 56 bits, loading zero bytes
// past the end of the input (counted in over, so truncation is detected).
func (f *inflater) refill() {
	if f.pos+8 <= len(f.in) {
		f.bits |= binary.LittleEndian.Uint64(f.in[f.pos:]) << f.nb
		n := (63 - f.nb) >> 3
		f.pos += int(n)
		f.nb += n << 3
		return
	}
	for f.nb <= 56 {
		if f.pos < len(f.in) {
			f.bits |= uint64(f.in[f.pos]) << f.nb
			f.pos++
		} else {
			f.over++
		}
		f.nb += 8
	}
}

// pastEnd reports whether more bits were consumed than the input holds.
func (f *inflater) pastEnd() bool {
	return (f.pos+f.over)*8-int(f.nb) > len(f.in)*8
}

func (f *inflater) take(n uint) uint64 {
	if f.nb < n {
		f.refill()
	}
	v := f.bits & (1<<n - 1)
	f.bits >>= n
	f.nb -= n
	return v
}

// bytePos discards the bits up to the next byte boundary and returns the
// input offset of the next unread byte.
func (f *inflater) bytePos() int {
	f.take(f.nb & 7)
	return f.pos + f.over - int(f.nb>>3)
}

// inflateZlib decompresses the zlib stream z, appending to dst. More than
// max output bytes fail with errTooBig. Input after the stream is ignored,
// as zlib.decompress ignores it.
func inflateZlib(dst, z []byte, max int) ([]byte, error) {
	if len(z) < 2 {
		return dst, errTruncated
	}
	cmf, flg := z[0], z[1]
	switch {
	case (uint(cmf)<<8|uint(flg))%31 != 0:
		return dst, dataError("incorrect header check")
	case cmf&0x0f != 8:
		return dst, dataError("unknown compression method")
	case cmf>>4 > 7:
		return dst, dataError("invalid window size")
	case flg&0x20 != 0:
		return dst, &inflateError{2, ""}
	}
	f := inflaterPool.Get().(*inflater)
	defer inflaterPool.Put(f)
	f.in, f.pos, f.over, f.bits, f.nb = z, 2, 0, 0, 0
	f.out, f.base, f.max = dst, len(dst), len(dst)+max
	start := len(dst)
	err := f.run()
	out := f.out
	f.in, f.out = nil, nil
	if err != nil {
		return out, err
	}
	p := f.bytePos()
	if p+4 > len(z) {
		return out, errTruncated
	}
	if binary.BigEndian.Uint32(z[p:]) != adler32(out[start:]) {
		return out, dataError("incorrect data check")
	}
	return out, nil
}

func (f *inflater) run() error {
	for {
		final := f.take(1)
		typ := f.take(2)
		if f.pastEnd() {
			return errTruncated
		}
		err := f.block(typ)
		if e, ok := err.(*inflateError); ok && e.code == -3 && f.pastEnd() {
			// zlib asks for more input before it can see the bad data.
			return errTruncated
		}
		if err != nil {
			return err
		}
		if final == 1 {
			return nil
		}
	}
}

func (f *inflater) block(typ uint64) error {
	var err error
	switch typ {
	case 0:
		err = f.stored()
	case 1:
		err = f.codes(&fixedTabs, &fixedLit, &fixedDist)
	case 2:
		if err = f.dynamic(); err == nil {
			err = f.codes(&f.tabs, &f.lit, &f.dist)
		}
	default:
		err = dataError("invalid block type")
	}
	return err
}

func (f *inflater) stored() error {
	p := f.bytePos()
	if p+4 > len(f.in) {
		return errTruncated
	}
	n := int(binary.LittleEndian.Uint16(f.in[p:]))
	if uint16(n) != ^binary.LittleEndian.Uint16(f.in[p+2:]) {
		return dataError("invalid stored block lengths")
	}
	p += 4
	if p+n > len(f.in) {
		if len(f.out)+len(f.in)-p > f.max {
			return errTooBig
		}
		return errTruncated
	}
	if len(f.out)+n > f.max {
		return errTooBig
	}
	if need := len(f.out) + n; need > cap(f.out) {
		// Grow as growOut does, never past max+slack, rather than by
		// append's rule, which may allocate up to twice max.
		out := make([]byte, len(f.out), min(max(2*cap(f.out), need), f.max+slack))
		copy(out, f.out)
		f.out = out
	}
	f.out = append(f.out, f.in[p:p+n]...)
	f.pos, f.over, f.bits, f.nb = p+n, 0, 0, 0
	return nil
}

func (f *inflater) dynamic() error {
	if f.nb < 14 {
		f.refill()
	}
	nlen := int(f.bits&31) + 257
	ndist := int(f.bits>>5&31) + 1
	ncode := int(f.bits>>10&15) + 4
	f.bits >>= 14
	f.nb -= 14
	if nlen > 286 || ndist > 30 {
		return dataError("too many length or distance symbols")
	}
	// The code-length code lengths, 3 bits each: at most 57 bits, so at
	// most one refill on the way.
	var cl [19]uint8
	for _, c := range clenOrder[:ncode] {
		if f.nb < 3 {
			f.refill()
		}
		cl[c] = uint8(f.bits & 7)
		f.bits >>= 3
		f.nb -= 3
	}
	if f.pastEnd() {
		return errTruncated
	}
	f.clen.fileLengths(cl[:])
	if !f.clen.build(f.clenTab[:], clenBits, kindCodes, clenInfo[:]) {
		return dataError("invalid code lengths set")
	}
	// The code lengths: a code-length code of at most 7 bits and at most 7
	// extra bits, so 16 bits in the buffer do for a symbol. The bit buffer
	// lives in locals meanwhile.
	lens := f.lens[:nlen+ndist]
	lit, dist := &f.lit, &f.dist
	lit.count, dist.count = [maxCodeLen + 1]uint16{}, [maxCodeLen + 1]uint16{}
	bits, nb := f.bits, f.nb
	for i := 0; i < len(lens); {
		if nb < 16 {
			f.bits, f.nb = bits, nb
			f.refill()
			bits, nb = f.bits, f.nb
		}
		e := f.clenTab[bits&clenMask]
		n := uint(e>>8) & 15
		bits >>= n
		nb -= n
		sym := e >> 16
		if sym < 16 {
			lens[i] = uint8(sym)
			if sym != 0 {
				if i < nlen {
					lit.bucket[sym][lit.count[sym]] = uint16(i)
					lit.count[sym]++
				} else {
					dist.bucket[sym][dist.count[sym]] = uint16(i - nlen)
					dist.count[sym]++
				}
			}
			i++
			continue
		}
		var v uint8
		var rep int
		switch sym {
		case 16:
			if i == 0 {
				f.bits, f.nb = bits, nb // for run's pastEnd
				return dataError("invalid bit length repeat")
			}
			v = lens[i-1]
			rep = 3 + int(bits&3)
			bits >>= 2
			nb -= 2
		case 17:
			rep = 3 + int(bits&7)
			bits >>= 3
			nb -= 3
		default:
			rep = 11 + int(bits&127)
			bits >>= 7
			nb -= 7
		}
		if i+rep > len(lens) {
			f.bits, f.nb = bits, nb
			return dataError("invalid bit length repeat")
		}
		if v == 0 {
			clear(lens[i : i+rep])
			i += rep
		} else {
			// A repeat may run from the literal/length lengths
			// into the distance ones.
			v &= maxCodeLen
			for ; rep > 0; rep-- {
				lens[i] = v
				if i < nlen {
					lit.bucket[v][lit.count[v]] = uint16(i)
					lit.count[v]++
				} else {
					dist.bucket[v][dist.count[v]] = uint16(i - nlen)
					dist.count[v]++
				}
				i++
			}
		}
		// Reading past the end of the input is noticed after the
		// loop, or by run when an error comes first: the loop ends
		// within len(lens) symbols either way.
	}
	f.bits, f.nb = bits, nb
	if f.pastEnd() {
		return errTruncated
	}
	if lens[256] == 0 {
		return dataError("invalid code -- missing end-of-block")
	}
	if !f.lit.build(f.tabs.lit[:], litBits, kindLens, litInfo[:]) {
		return dataError("invalid literal/lengths set")
	}
	if !f.dist.build(f.tabs.dist[:], distBits, kindDists, distInfo[:]) {
		return dataError("invalid distances set")
	}
	return nil
}

// slack is the spare capacity codes keeps beyond the output: a whole
// longest match plus the over-write of its last 8-byte word copy.
const slack = 258 + 8

// entryValue is the length or distance an entry and the bit buffer b
// (starting at the entry's code) spell: the base plus the extra bits that
// follow the code.
func entryValue(e uint32, b uint64) int {
	return int(e>>16) + int((b&(1<<(e&63)-1))>>(e>>8&15))
}

// codes decodes one Huffman-coded block. The loops keep the bit buffer,
// input position and output in locals (the compiler cannot keep struct
// fields in registers across a loop) and store them back on exit. Output
// goes to buf[:n] with at least slack bytes of capacity beyond n, so
// literals are single stores and matches are copied a word at a time.
//
// The fast loop decodes one length/distance pair or up to five literals
// per step, which take at most 48 and 5*litBits = 50 bits, after topping
// the bit buffer up to 56 bits or more. While at least 8 input bytes
// remain, that top-up is one 8-byte load that cannot run past the input,
// and while n <= outEnd the output has room for a match, and neither a
// match nor five literals can exceed max: such steps need no other checks. The fast loop makes no
// calls, so the compiler keeps its state in registers; anything unusual
// (a code longer than the table, the end of the block, an error, a match
// with distance below 8) leaves the symbol to the careful step. That one
// decodes a single symbol with every check: it refills byte by byte near
// the end of the input, noting zero bytes read past it, grows the buffer,
// and decides between errTooBig and errTruncated at the first symbol to
// exceed max or to read past the end.
func (f *inflater) codes(t *codeTables, lh, dh *huffman) (err error) {
	// buf and n, max count from the start of this stream's output
	// (f.base): matches cannot reach before it, so d > n is the "too
	// far back" check and base need not occupy a register. full is the
	// whole buffer, which growOut copies.
	in, base := f.in, f.base
	bits, nb, pos := f.bits, f.nb, f.pos
	full := f.out[:cap(f.out)]
	buf := full[base:]
	n, max := len(f.out)-base, f.max-base
	inEnd := len(in) - 8
	for {
		for outEnd := min(len(buf)-slack, max-258); pos <= inEnd && n <= outEnd; {
			bits |= binary.LittleEndian.Uint64(in[pos:]) << (nb & 63)
			pos += int((63 - nb) >> 3)
			nb |= 56 // nb + 8*bytes loaded: 56 + nb%8
			e := t.lit[bits&litMask]
			if e&flagLit != 0 {
				// Literals come in runs: take up to four more
				// straight away while they are in the table. Codes
				// in the table have at most litBits bits, so five
				// fit in the 56 bits.
				w := (*[5]byte)(buf[n : n+5])
				bits >>= e & 63
				nb -= uint(e & 63)
				w[0] = byte(e >> 16)
				if e = t.lit[bits&litMask]; e&flagLit == 0 {
					n++
					continue
				}
				bits >>= e & 63
				nb -= uint(e & 63)
				w[1] = byte(e >> 16)
				if e = t.lit[bits&litMask]; e&flagLit == 0 {
					n += 2
					continue
				}
				bits >>= e & 63
				nb -= uint(e & 63)
				w[2] = byte(e >> 16)
				if e = t.lit[bits&litMask]; e&flagLit == 0 {
					n += 3
					continue
				}
				bits >>= e & 63
				nb -= uint(e & 63)
				w[3] = byte(e >> 16)
				if e = t.lit[bits&litMask]; e&flagLit == 0 {
					n += 4
					continue
				}
				bits >>= e & 63
				nb -= uint(e & 63)
				w[4] = byte(e >> 16)
				n += 5
				continue
			}
			if e&(flagEOB|flagBad|flagSlow) != 0 {
				break
			}
			// A length and a distance: decoded before anything is
			// consumed, so the careful step can start over.
			length := entryValue(e, bits)
			b := bits >> (e & 63)
			de := t.dist[b&distMask]
			if de&(flagBad|flagSlow) != 0 {
				break
			}
			d := entryValue(de, b)
			if d < 8 || d > n {
				break
			}
			bits = b >> (de & 63)
			nb -= uint(e&63 + de&63)
			// Word copies: each reads 8 bytes that are already final
			// (n-d+i+8 <= n+i since d >= 8), so overlapping runs work,
			// and the over-write past n+length stays within slack. Most
			// matches are short: two words unrolled.
			w := (*[slack]byte)(buf[n : n+slack])
			r := (*[slack]byte)(buf[n-d : n-d+slack])
			binary.LittleEndian.PutUint64(w[0:8], binary.LittleEndian.Uint64(r[0:8]))
			binary.LittleEndian.PutUint64(w[8:16], binary.LittleEndian.Uint64(r[8:16]))
			for i := 16; i < length; i += 8 {
				binary.LittleEndian.PutUint64(w[i:i+8], binary.LittleEndian.Uint64(r[i:i+8]))
			}
			n += length
		}

		// The careful step.
		if n > max {
			// A literal took n past max (into the slack).
			n, err = max, f.tooBig(pos, nb)
			break
		}
		if n+slack > len(buf) {
			full = growOut(full, base+n, base+max)
			buf = full[base:]
		}
		if nb < 48 { // longest symbol: 15+5 bits, then 15+13 bits
			f.bits, f.nb, f.pos = bits, nb, pos
			f.refill()
			bits, nb, pos = f.bits, f.nb, f.pos
			if f.over > 0 && f.pastEnd() {
				err = errTruncated
				break
			}
		}
		e := t.lit[bits&litMask]
		if e&flagSlow != 0 {
			e = lh.slowEntry(bits, litBits, litInfo[:])
		}
		if e&flagLit != 0 {
			bits >>= e & 63
			nb -= uint(e & 63)
			buf[n] = byte(e >> 16)
			n++
			continue
		}
		if e&(flagEOB|flagBad) != 0 {
			// Consumed even if invalid: a symbol 286 or 287 read
			// partly past the end of the input is a truncation (see
			// run), as zlib needs the whole code to see it is invalid.
			bits >>= e & 63
			nb -= uint(e & 63)
			if e&flagBad != 0 {
				err = dataError("invalid literal/length code")
			}
			break
		}
		length := entryValue(e, bits)
		bits >>= e & 63
		nb -= uint(e & 63)
		e = t.dist[bits&distMask]
		if e&flagSlow != 0 {
			e = dh.slowEntry(bits, distBits, distInfo[:])
		}
		d := entryValue(e, bits)
		bits >>= e & 63 // invalid ones too, as for symbols 286 and 287
		nb -= uint(e & 63)
		if e&flagBad != 0 {
			err = dataError("invalid distance code")
			break
		}
		if d > n {
			err = dataError("invalid distance too far back")
			break
		}
		if n+length > max {
			err = f.tooBig(pos, nb)
			break
		}
		copyMatch(buf, n, d, length)
		n += length
	}
	f.bits, f.nb, f.pos, f.out = bits, nb, pos, full[:base+n]
	if err == nil && f.over > 0 && f.pastEnd() {
		err = errTruncated
	}
	return err
}

// copyMatch copies length bytes from distance d back to buf[n:], which has
// slack bytes of room.
func copyMatch(buf []byte, n, d, length int) {
	w := (*[slack]byte)(buf[n : n+slack])
	switch {
	case d >= 8:
		// As in the fast loop.
		r := (*[slack]byte)(buf[n-d : n-d+slack])
		for i := 0; i < length; i += 8 {
			binary.LittleEndian.PutUint64(w[i:i+8], binary.LittleEndian.Uint64(r[i:i+8]))
		}
	case d == 1:
		// A run of one byte, a word at a time.
		v := uint64(buf[n-1]) * 0x0101010101010101
		for i := 0; i < length; i += 8 {
			binary.LittleEndian.PutUint64(w[i:i+8], v)
		}
	default:
		for i := 0; i < length; i++ {
			w[i] = buf[n-d+i]
		}
	}
}

// tooBig is the error for output exceeding max with the bit buffer at
// pos, nb: errTruncated if the symbol that did it read past the end of the
// input (zlib would have stopped for more input before it).
func (f *inflater) tooBig(pos int, nb uint) error {
	if f.over > 0 && (pos+f.over)*8-int(nb) > len(f.in)*8 {
		return errTruncated
	}
	return errTooBig
}

// growOut returns buf with room for at least n+slack bytes, keeping buf[:n].
func growOut(buf []byte, n, max int) []byte {
	c := 2 * len(buf)
	if c < n+slack {
		c = n + slack
	}
	if c > max+slack {
		c = max + slack
	}
	nbuf := make([]byte, c)
	copy(nbuf, buf[:n])
	return nbuf
}

// Lanes and weights for adler32: a little-endian word's even bytes (0, 2,
// 4, 6) land in the four 16-bit lanes of w&lanes, its odd bytes in those
// of w>>8&lanes; multiplying by ones sums the lanes into the top one, and
// by evenW or oddW sums them weighted by how many times each byte is
// added into s2 (8 for byte 0 down to 1 for byte 7).
const (
	adlerLanes = 0x00ff00ff00ff00ff
	adlerOnes  = 0x0001000100010001
	adlerEvenW = 8<<48 | 6<<32 | 4<<16 | 2 // weights of bytes 0, 2, 4, 6
	adlerOddW  = 7<<48 | 5<<32 | 3<<16 | 1 // weights of bytes 1, 3, 5, 7
)

// adler32 is the Adler-32 checksum of p, computed about three times as
// fast as hash/adler32's byte-at-a-time loop by summing 16-bit lanes of
// 64-byte blocks (see adlerBlock).
func adler32(p []byte) uint32 {
	const (
		mod    = 65521
		chunkN = 1 << 16 // bytes between reductions; sums stay far below 2^64
	)
	s1, s2 := uint64(1), uint64(0)
	for len(p) > 0 {
		q := p[:min(len(p), chunkN)]
		p = p[len(q):]
		for len(q) >= 64 {
			s1, s2 = adlerBlock((*[64]byte)(q), s1, s2)
			q = q[64:]
		}
		for len(q) >= 8 {
			w := binary.LittleEndian.Uint64(q)
			even, odd := w&adlerLanes, w>>8&adlerLanes
			s2 += 8*s1 + (even*adlerEvenW)>>48 + (odd*adlerOddW)>>48
			s1 += ((even + odd) * adlerOnes) >> 48
			q = q[8:]
		}
		for _, b := range q {
			s1 += uint64(b)
			s2 += s1
		}
		s1 %= mod
		s2 %= mod
	}
	return uint32(s2<<16 | s1)
}

// adlerBlock adds the 64 bytes of b to the Adler-32 sums s1, s2. Per
// word it keeps three sums in 16-bit lanes, one add each: s of all byte
// pairs so far, e of the even bytes, and t of the values s had before
// each word, which counts each earlier word once per later one (the 8*s1
// that s2 gains per word). Eight words keep every lane and every weighted
// lane sum below 2^16 (t's lanes reach 510*28), so one multiply-and-shift
// per sum folds them into s1 and s2 at the end.
func adlerBlock(b *[64]byte, s1, s2 uint64) (uint64, uint64) {
	var s, t, e uint64
	s, t, e = adlerWord(binary.LittleEndian.Uint64(b[0:8]), s, t, e)
	s, t, e = adlerWord(binary.LittleEndian.Uint64(b[8:16]), s, t, e)
	s, t, e = adlerWord(binary.LittleEndian.Uint64(b[16:24]), s, t, e)
	s, t, e = adlerWord(binary.LittleEndian.Uint64(b[24:32]), s, t, e)
	s, t, e = adlerWord(binary.LittleEndian.Uint64(b[32:40]), s, t, e)
	s, t, e = adlerWord(binary.LittleEndian.Uint64(b[40:48]), s, t, e)
	s, t, e = adlerWord(binary.LittleEndian.Uint64(b[48:56]), s, t, e)
	s, t, e = adlerWord(binary.LittleEndian.Uint64(b[56:64]), s, t, e)
	o := s - e // the odd bytes
	s2 += 64*s1 + 8*((t*adlerOnes)>>48) + (e*adlerEvenW)>>48 + (o*adlerOddW)>>48
	s1 += (s * adlerOnes) >> 48
	return s1, s2
}

func adlerWord(w, s, t, e uint64) (uint64, uint64, uint64) {
	even := w & adlerLanes
	return s + even + w>>8&adlerLanes, t + s, e + even
}
