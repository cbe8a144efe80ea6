package signing

import (
	"encoding/binary"
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
	// fastBits is the lookup-table width of every code. A constant lets
	// the compiler drop bounds checks on table lookups; 9 bits keep the
	// per-block table build cheap, which matters at session sizes.
	fastBits   = 9
	fastMask   = 1<<fastBits - 1
	maxCodeLen = 15
)

// huffman is a canonical Huffman code: a lookup table for codes of up to
// fastBits bits, and counts/symbols for the longer ones.
type huffman struct {
	fast   [1 << fastBits]uint16 // symbol | length<<9; 0 = longer code or invalid
	first  int                   // canonical decoding state for the bit after the
	index  int                   // first fastBits (see slow)
	count  [maxCodeLen + 1]uint16
	symbol [320]uint16 // symbols ordered by code
}

type codeKind int

const (
	kindCodes codeKind = iota // code-length code: incomplete sets rejected
	kindLens                  // literal/length code
	kindDists                 // distance code
)

// build constructs the code for lengths, applying zlib's validity rules
// (inflate_table): an over-subscribed set is invalid; an incomplete set is
// invalid except for a literal/length or distance code whose longest code has
// length 1 (a single code), and an empty distance code is allowed.
func (h *huffman) build(lengths []uint8, kind codeKind) bool {
	h.count = [maxCodeLen + 1]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	h.count[0] = 0
	max := 0
	for l := maxCodeLen; l >= 1; l-- {
		if h.count[l] != 0 {
			max = l
			break
		}
	}
	if max == 0 {
		var e uint16 // every entry invalid
		if kind == kindCodes {
			// zlib builds a table whose every entry reads as symbol 0
			// of length 1 for an all-zero code-length code, so every
			// length becomes 0 and the error surfaces later ("missing
			// end-of-block") or not at all before the input ends.
			e = 0 | 1<<9
		}
		for i := range h.fast {
			h.fast[i] = e
		}
		h.first, h.index = 0, 0
		return true
	}
	left := 1
	for l := 1; l <= maxCodeLen; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return false // over-subscribed
		}
	}
	if left > 0 && (kind == kindCodes || max != 1) {
		return false // incomplete
	}
	var offs [maxCodeLen + 2]uint16
	for l := 1; l <= maxCodeLen; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	h.first, h.index = 0, 0
	for l := 1; l <= fastBits; l++ {
		cnt := int(h.count[l])
		h.index += cnt
		h.first = (h.first + cnt) << 1
	}
	for s, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	// The lookup table is built by doubling: the table for l bits is
	// the one for l-1 bits twice over (shorter codes ignore the extra
	// bit), plus one entry per code of length l. That is one copy and one
	// store per symbol instead of a strided fill per symbol.
	h.fast[0] = 0
	size, code := 1, 0
	for l := 1; l <= fastBits; l++ {
		copy(h.fast[size:2*size], h.fast[:size])
		size <<= 1
		code = (code + int(h.count[l-1])) << 1 // first code of length l
		cnt := int(h.count[l])
		start := int(offs[l]) - cnt
		for j := 0; j < cnt; j++ {
			h.fast[reversed9[((code+j)<<(fastBits-l))&fastMask]] = h.symbol[start+j] | uint16(l)<<9
		}
	}
	return true
}

func reverseBits(c uint32, n uint) uint32 {
	r := uint32(0)
	for i := uint(0); i < n; i++ {
		r = r<<1 | c&1
		c >>= 1
	}
	return r
}

// slow decodes a code longer than fastBits (or an invalid one) from the low
// bits of b, returning the symbol and its length, or length 0. It resumes
// canonical decoding (as zlib's puff does it, one bit at a time) after the
// first fastBits bits, whose state build precomputed.
func (h *huffman) slow(b uint64) (sym, n uint) {
	code := int(reversed9[b&fastMask])
	b >>= fastBits
	first, index := h.first, h.index
	for l := fastBits + 1; l <= maxCodeLen; l++ {
		code = code<<1 | int(b&1)
		b >>= 1
		cnt := int(h.count[l])
		if code-cnt < first {
			return uint(h.symbol[index+(code-first)]), uint(l)
		}
		index += cnt
		first += cnt
		first <<= 1
	}
	return 0, 0
}

// reversed9 maps 9 bits as read from the stream to the code value they
// spell (Huffman codes are stored most significant bit first).
var reversed9 = func() (t [1 << fastBits]uint16) {
	for i := range t {
		t[i] = uint16(reverseBits(uint32(i), fastBits))
	}
	return
}()

var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clenOrder   = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// fixedLit and fixedDist are the fixed codes of block type 1; read-only
// after initialisation.
var fixedLit, fixedDist = func() (*huffman, *huffman) {
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
	lit, dist := new(huffman), new(huffman)
	lit.build(l[:], kindLens)
	dist.build(d[:], kindDists)
	return lit, dist
}()

// inflater holds the state of one decompression; pooled because its
// tables are a few KiB.
type inflater struct {
	in   []byte
	pos  int    // next input byte to load into bits
	over int    // zero bytes loaded past the end of in
	bits uint64 // bit buffer, next bit lowest
	nb   uint   // valid bits in bits
	out  []byte
	base int // len(out) when this stream started
	max  int
	lit  huffman
	dist huffman
	clen huffman
	lens [320]uint8
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
		err = f.codes(fixedLit, fixedDist)
	case 2:
		if err = f.dynamic(); err == nil {
			err = f.codes(&f.lit, &f.dist)
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
	f.out = append(f.out, f.in[p:p+n]...)
	f.pos, f.over, f.bits, f.nb = p+n, 0, 0, 0
	return nil
}

func (f *inflater) dynamic() error {
	nlen := int(f.take(5)) + 257
	ndist := int(f.take(5)) + 1
	ncode := int(f.take(4)) + 4
	if nlen > 286 || ndist > 30 {
		return dataError("too many length or distance symbols")
	}
	var cl [19]uint8
	for i := 0; i < ncode; i++ {
		cl[clenOrder[i]] = uint8(f.take(3))
	}
	if f.pastEnd() {
		return errTruncated
	}
	if !f.clen.build(cl[:], kindCodes) {
		return dataError("invalid code lengths set")
	}
	lens := f.lens[:nlen+ndist]
	for i := 0; i < len(lens); {
		if f.nb < 16 {
			f.refill()
		}
		sym, n := f.decode(&f.clen)
		if n == 0 {
			return dataError("invalid code lengths set")
		}
		f.bits >>= n
		f.nb -= n
		if sym < 16 {
			lens[i] = uint8(sym)
			i++
			continue
		}
		var v uint8
		var rep int
		switch sym {
		case 16:
			if i == 0 {
				return dataError("invalid bit length repeat")
			}
			v = lens[i-1]
			rep = 3 + int(f.take(2))
		case 17:
			rep = 3 + int(f.take(3))
		default:
			rep = 11 + int(f.take(7))
		}
		if i+rep > len(lens) {
			return dataError("invalid bit length repeat")
		}
		for ; rep > 0; rep-- {
			lens[i] = v
			i++
		}
		if f.pastEnd() {
			return errTruncated
		}
	}
	if f.pastEnd() {
		return errTruncated
	}
	if lens[256] == 0 {
		return dataError("invalid code -- missing end-of-block")
	}
	if !f.lit.build(lens[:nlen], kindLens) {
		return dataError("invalid literal/lengths set")
	}
	if !f.dist.build(lens[nlen:], kindDists) {
		return dataError("invalid distances set")
	}
	return nil
}

// decode peeks one symbol of h from the bit buffer (which must hold at
// least 15 bits); n is its length, 0 for an invalid code.
func (f *inflater) decode(h *huffman) (sym, n uint) {
	if e := h.fast[f.bits&fastMask]; e != 0 {
		return uint(e & 511), uint(e >> 9)
	}
	return h.slow(f.bits)
}

// slack is the spare capacity codes keeps beyond the output: a whole
// longest match plus the over-write of its last 8-byte word copy.
const slack = 258 + 8

// codes decodes one Huffman-coded block. The hot loop keeps the bit
// buffer, input position and output in locals (the compiler cannot keep
// struct fields in registers across the loop) and stores them back on exit.
// Output goes to buf[:n] with at least slack bytes of capacity beyond n, so
// literals are single stores and matches are copied a word at a time.
func (f *inflater) codes(lit, dist *huffman) (err error) {
	in, max := f.in, f.max
	bits, nb, pos := f.bits, f.nb, f.pos
	n := len(f.out)
	buf := f.out[:cap(f.out)]
	for {
		if n+slack > len(buf) {
			// A literal may have taken n one past max (it went into
			// the slack); the stream is too big then.
			if n > max {
				err = errTooBig
				break
			}
			buf = growOut(buf, n, max)
		}
		if nb < 48 { // longest symbol: 15+5 bits, then 15+13 bits
			if pos+8 <= len(in) {
				bits |= binary.LittleEndian.Uint64(in[pos:]) << (nb & 63)
				k := (63 - nb) >> 3
				pos += int(k)
				nb += k << 3
			} else {
				f.bits, f.nb, f.pos = bits, nb, pos
				f.refill()
				bits, nb, pos = f.bits, f.nb, f.pos
				if f.over > 0 && f.pastEnd() {
					err = errTruncated
					break
				}
			}
		}
		var sym, l uint
		if e := lit.fast[bits&fastMask]; e != 0 {
			sym, l = uint(e&511), uint(e>>9)
		} else if sym, l = lit.slow(bits); l == 0 {
			err = dataError("invalid literal/length code")
			break
		}
		bits >>= l & 63
		nb -= l
		if sym < 256 {
			buf[n] = byte(sym)
			n++
			// Literals come in runs: take a second one straight away
			// when the bit buffer holds a whole table-width code (the
			// slack checked above has room for both bytes).
			if nb >= fastBits {
				if e := lit.fast[bits&fastMask]; e != 0 && e&511 < 256 {
					l = uint(e >> 9)
					bits >>= l & 63
					nb -= l
					buf[n] = byte(e)
					n++
				}
			}
			continue
		}
		if sym == 256 {
			break
		}
		sym -= 257
		if sym >= 29 {
			err = dataError("invalid literal/length code")
			break
		}
		length := int(lengthBase[sym])
		x := uint(lengthExtra[sym])
		length += int(bits & (1<<(x&63) - 1))
		bits >>= x & 63
		nb -= x
		if e := dist.fast[bits&fastMask]; e != 0 {
			sym, l = uint(e&511), uint(e>>9)
		} else if sym, l = dist.slow(bits); l == 0 {
			err = dataError("invalid distance code")
			break
		}
		bits >>= l & 63
		nb -= l
		if sym >= 30 {
			err = dataError("invalid distance code")
			break
		}
		d := int(distBase[sym])
		x = uint(distExtra[sym])
		d += int(bits & (1<<(x&63) - 1))
		bits >>= x & 63
		nb -= x
		if d > n-f.base {
			err = dataError("invalid distance too far back")
			break
		}
		if n+length > max {
			err = errTooBig
			break
		}
		from := n - d
		if d >= 8 {
			// Word copies: each reads 8 bytes that are already final
			// (from+i+8 <= n+i since d >= 8), so overlapping runs work,
			// and the over-write past n+length stays within slack.
			for i := 0; i < length; i += 8 {
				binary.LittleEndian.PutUint64(buf[n+i:], binary.LittleEndian.Uint64(buf[from+i:]))
			}
		} else {
			for i := 0; i < length; i++ {
				buf[n+i] = buf[from+i]
			}
		}
		n += length
	}
	if n > max {
		n, err = max, errTooBig
	}
	f.bits, f.nb, f.pos, f.out = bits, nb, pos, buf[:n]
	if err == nil && f.over > 0 && f.pastEnd() {
		err = errTruncated
	}
	return err
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

// adler32 is the Adler-32 checksum of p. It sums eight bytes per step with
// multiplications (the byte sum and the position-weighted byte sum of a
// little-endian word fall out of two multiply-and-shift operations on its
// even and odd bytes), which runs about twice as fast as hash/adler32's
// byte-at-a-time loop.
func adler32(p []byte) uint32 {
	const (
		mod    = 65521
		lanes  = 0x00ff00ff00ff00ff
		ones   = 0x0001000100010001
		evenW  = 8<<48 | 6<<32 | 4<<16 | 2 // weights of bytes 0, 2, 4, 6
		oddW   = 7<<48 | 5<<32 | 3<<16 | 1 // weights of bytes 1, 3, 5, 7
		chunkN = 1 << 16                   // bytes between reductions; sums stay far below 2^64
	)
	s1, s2 := uint64(1), uint64(0)
	for len(p) > 0 {
		q := p
		if len(q) > chunkN {
			q = q[:chunkN]
		}
		p = p[len(q):]
		for len(q) >= 16 {
			// Two words per step: the second word's bytes each come
			// after all eight of the first, so s2 also gains 8× the
			// first word's byte sum.
			w0 := binary.LittleEndian.Uint64(q)
			w1 := binary.LittleEndian.Uint64(q[8:])
			e0, o0 := w0&lanes, w0>>8&lanes
			e1, o1 := w1&lanes, w1>>8&lanes
			sum0 := ((e0 + o0) * ones) >> 48
			sum1 := ((e1 + o1) * ones) >> 48
			s2 += 16*s1 + 8*sum0 + (e0*evenW)>>48 + (o0*oddW)>>48 + (e1*evenW)>>48 + (o1*oddW)>>48
			s1 += sum0 + sum1
			q = q[16:]
		}
		for len(q) >= 8 {
			w := binary.LittleEndian.Uint64(q)
			even, odd := w&lanes, w>>8&lanes
			s2 += 8*s1 + (even*evenW)>>48 + (odd*oddW)>>48
			s1 += ((even + odd) * ones) >> 48
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
