package pickle_compat

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"sync"
	"time"

	"github.com/djsession/djsession/pyvalue"
)

// DefaultProtocol is the protocol Dumps writes when asked for protocol 0
// or a negative one: pickle.HIGHEST_PROTOCOL of CPython 3.8+, which is what
// Django's PickleSerializer and every cache client use.
const DefaultProtocol = 5

const (
	batchSize       = 1000 // CPython's BATCHSIZE for APPENDS / SETITEMS / ADDITEMS
	frameSizeTarget = 64 * 1024
	frameSizeMin    = 4
	frameHeaderSize = 9
)

// Encoder writes pickles as CPython's C pickler writes them.
type Encoder struct {
	// Protocol is 2, 3, 4 or 5 (0 or negative: DefaultProtocol). Protocols 0
	// and 1 are never used by Django and are not written.
	Protocol int
	// MaxDepth bounds container nesting, as CPython's recursion limit does
	// (0: DefaultMaxDepth).
	MaxDepth int
}

// Dumps pickles v with the given protocol (see Encoder.Protocol).
func Dumps(v any, protocol int) ([]byte, error) {
	return (&Encoder{Protocol: protocol}).Dumps(v)
}

// memo keys: identity for Go values that have one, value for the strings and
// singletons CPython shares (interned identifiers, the latin-1 one-character
// strings, timezone.utc ...).
type (
	sliceKey struct {
		kind byte
		p    *any
		n    int
	}
	bytesKey struct {
		kind byte
		p    *byte
		n    int
	}
	internKey  struct{ s string }
	globalKey  struct{ mod, name string }
	tzValueKey struct {
		kind pyvalue.TZKind
		name string
	}
)

type pickler struct {
	buf        []byte
	proto      int
	framing    bool
	frameStart int
	memo       map[any]int
	strMemo    map[string]int
	dictMemo   map[*pyvalue.Dict]int
	sliceMemo  map[sliceKey]int
	// small session dicts hold few memoized keys and dicts: linear scans of
	// these beat hashing until smallMemo entries, then the maps take over
	strSmall  []strEntry
	dictSmall []dictEntry
	strHint   int // lookupStr's guess of the next strSmall entry
	memoN     int
	depth     int
	maxDepth  int
	// spare (empty) maps of a pooled pickler, taken when the small tables
	// overflow
	spareStr  map[string]int
	spareDict map[*pyvalue.Dict]int
}

// Dumps pickles v. It returns an *UnsupportedTypeError for a Go value
// outside the pyvalue model and a *LimitError for nesting beyond MaxDepth.
// Cycles through pointers (*pyvalue.Dict, *pyvalue.Object ...) are written
// with the memo, as CPython writes them.
func (e *Encoder) Dumps(v any) ([]byte, error) {
	proto := e.Protocol
	if proto <= 0 {
		proto = DefaultProtocol
	}
	if proto < 2 || proto > HighestProtocol {
		return nil, fmt.Errorf("%w: pickle protocol %d", ErrUnsupported, proto)
	}
	p := picklerPool.Get().(*pickler)
	defer p.release()
	p.proto, p.frameStart, p.maxDepth = proto, -1, e.MaxDepth
	if p.maxDepth <= 0 {
		p.maxDepth = DefaultMaxDepth
	}
	p.buf = append(p.buf, opProto, byte(proto))
	if proto >= 4 {
		p.framing = true
	}
	if err := p.save(v); err != nil {
		return nil, err
	}
	p.write1(opStop)
	p.commitFrame()
	// the pooled buffer is reused: hand out an exact copy, one allocation
	// instead of the buffer's growth steps
	return append([]byte(nil), p.buf...), nil
}

// picklers are reused: their buffer and memo maps are the bulk of what a
// Dumps would otherwise allocate.
var picklerPool = sync.Pool{New: func() any { return &pickler{buf: make([]byte, 0, 1024)} }}

// pickleKeep bounds the buffer and memo sizes a pooled pickler keeps, so
// that one huge pickle does not pin its memory (or make every later reset
// clear a huge map).
const pickleKeep = 1 << 16

// release clears every reference to the pickled value and returns p to the
// pool.
func (p *pickler) release() {
	if cap(p.buf) > pickleKeep || len(p.memo) > pickleKeep/16 || len(p.strMemo) > pickleKeep/16 ||
		len(p.dictMemo) > pickleKeep/16 || len(p.sliceMemo) > pickleKeep/16 {
		return
	}
	// field by field: assigning a whole new struct costs a bulk write
	// barrier while the GC runs
	if len(p.memo) > 0 {
		clear(p.memo)
	}
	if len(p.sliceMemo) > 0 {
		clear(p.sliceMemo)
	}
	// the maps are kept empty; the small tables take the next pickle first
	if p.strMemo != nil {
		clear(p.strMemo)
		p.spareStr, p.strMemo = p.strMemo, nil
	}
	if p.dictMemo != nil {
		clear(p.dictMemo)
		p.spareDict, p.dictMemo = p.dictMemo, nil
	}
	clear(p.strSmall)
	clear(p.dictSmall)
	p.buf, p.strSmall, p.dictSmall = p.buf[:0], p.strSmall[:0], p.dictSmall[:0]
	p.framing, p.strHint, p.memoN, p.depth = false, 0, 0, 0
	picklerPool.Put(p)
}

// startFrame reserves a frame header when framing and no frame is open,
// as _Pickler_Write does.
func (p *pickler) startFrame() {
	if p.framing && p.frameStart < 0 {
		p.frameStart = len(p.buf)
		p.buf = append(p.buf, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	}
}

func (p *pickler) write1(b byte) {
	p.startFrame()
	p.buf = append(p.buf, b)
}

func (p *pickler) write(b ...byte) {
	p.startFrame()
	p.buf = append(p.buf, b...)
}

func (p *pickler) commitFrame() {
	if !p.framing || p.frameStart < 0 {
		return
	}
	n := len(p.buf) - p.frameStart - frameHeaderSize
	if n >= frameSizeMin {
		p.buf[p.frameStart] = opFrame
		binary.LittleEndian.PutUint64(p.buf[p.frameStart+1:], uint64(n))
	} else {
		copy(p.buf[p.frameStart:], p.buf[p.frameStart+frameHeaderSize:])
		p.buf = p.buf[:len(p.buf)-frameHeaderSize]
	}
	p.frameStart = -1
}

// writeBytes writes an opcode header and its payload; a payload of 64 KiB
// or more ends the current frame and is written outside any frame, as
// CPython does so that readers can avoid a copy.
func (p *pickler) writeBytes(header []byte, data string) {
	if len(data) >= frameSizeTarget && p.framing {
		p.commitFrame()
		p.buf = append(p.buf, header...)
		p.buf = append(p.buf, data...)
		return
	}
	p.write(header...)
	p.buf = append(p.buf, data...)
}

func (p *pickler) memoPut(key any) {
	idx := p.memoNext()
	if key != nil {
		p.memoSet(key, idx)
	}
}

// memoNext writes the opcode memoizing the top of the stack and returns its
// memo index.
func (p *pickler) memoNext() int {
	idx := p.memoN
	p.memoN++
	switch {
	case p.proto >= 4:
		p.write1(opMemoize)
	case idx < 256:
		p.write(opBinPut, byte(idx))
	default:
		p.write(opLongBinPut, byte(idx), byte(idx>>8), byte(idx>>16), byte(idx>>24))
	}
	return idx
}

type strEntry struct {
	s   string
	idx int
}

type dictEntry struct {
	d   *pyvalue.Dict
	idx int
}

const smallMemo = 24

// memoSet and memoLookup keep the common keys (interned strings, dicts) in
// typed maps, which hash much faster than interface keys.
func (p *pickler) memoSet(key any, idx int) {
	switch k := key.(type) {
	case internKey:
		p.setStr(k.s, idx)
	case *pyvalue.Dict:
		p.setDict(k, idx)
	case sliceKey:
		p.setSlice(k, idx)
	default:
		if p.memo == nil {
			p.memo = make(map[any]int, 8)
		}
		p.memo[key] = idx
	}
}

func (p *pickler) memoLookup(key any) (int, bool) {
	switch k := key.(type) {
	case internKey:
		return p.lookupStr(k.s)
	case *pyvalue.Dict:
		return p.lookupDict(k)
	case sliceKey:
		return p.lookupSlice(k)
	}
	idx, ok := p.memo[key]
	return idx, ok
}

// The typed memo tables below are called directly on the hot paths: going
// through memoSet's `any` parameter would box (allocate) every key.

func (p *pickler) setStr(s string, idx int) {
	if p.strMemo == nil && len(p.strSmall) < smallMemo {
		p.strSmall = append(p.strSmall, strEntry{s, idx})
		return
	}
	if p.strMemo == nil {
		p.strMemo = p.spareStr
		if p.strMemo == nil {
			p.strMemo = make(map[string]int, 2*smallMemo)
		}
		for _, e := range p.strSmall {
			p.strMemo[e.s] = e.idx
		}
	}
	p.strMemo[s] = idx
}

func (p *pickler) lookupStr(s string) (int, bool) {
	if p.strMemo != nil {
		idx, ok := p.strMemo[s]
		return idx, ok
	}
	// The dicts of a list mostly share their keys, in the same order: try
	// the entry after the last hit first.
	if h := p.strHint; h < len(p.strSmall) && p.strSmall[h].s == s {
		p.strHint = h + 1
		return p.strSmall[h].idx, true
	}
	for i, e := range p.strSmall {
		if e.s == s {
			p.strHint = i + 1
			return e.idx, true
		}
	}
	return 0, false
}

func (p *pickler) setDict(d *pyvalue.Dict, idx int) {
	if p.dictMemo == nil && len(p.dictSmall) < smallMemo {
		p.dictSmall = append(p.dictSmall, dictEntry{d, idx})
		return
	}
	if p.dictMemo == nil {
		p.dictMemo = p.spareDict
		if p.dictMemo == nil {
			p.dictMemo = make(map[*pyvalue.Dict]int, 2*smallMemo)
		}
		for _, e := range p.dictSmall {
			p.dictMemo[e.d] = e.idx
		}
	}
	p.dictMemo[d] = idx
}

func (p *pickler) lookupDict(d *pyvalue.Dict) (int, bool) {
	if p.dictMemo != nil {
		idx, ok := p.dictMemo[d]
		return idx, ok
	}
	for _, e := range p.dictSmall {
		if e.d == d {
			return e.idx, true
		}
	}
	return 0, false
}

func (p *pickler) setSlice(k sliceKey, idx int) {
	if p.sliceMemo == nil {
		p.sliceMemo = make(map[sliceKey]int, 8)
	}
	p.sliceMemo[k] = idx
}

func (p *pickler) lookupSlice(k sliceKey) (int, bool) {
	idx, ok := p.sliceMemo[k]
	return idx, ok
}

// memoGet writes a GET when key is memoized.
func (p *pickler) memoGet(key any) bool {
	idx, ok := p.memoLookup(key)
	if !ok {
		return false
	}
	p.writeGet(idx)
	return true
}

func (p *pickler) writeGet(idx int) {
	if idx < 256 {
		p.write(opBinGet, byte(idx))
	} else {
		p.write(opLongBinGet, byte(idx), byte(idx>>8), byte(idx>>16), byte(idx>>24))
	}
}

func (p *pickler) enter() error {
	p.depth++
	if p.depth > p.maxDepth {
		return &LimitError{Limit: "MaxDepth", Max: p.maxDepth}
	}
	return nil
}

func (p *pickler) save(v any) error {
	// CPython's pickle.py commits a full frame before saving each object.
	if p.frameStart >= 0 && len(p.buf)-p.frameStart-frameHeaderSize >= frameSizeTarget {
		p.commitFrame()
	}
	switch x := v.(type) {
	case nil:
		p.write1(opNone)
	case bool:
		if x {
			p.write1(opNewTrue)
		} else {
			p.write1(opNewFalse)
		}
	case int64:
		p.saveInt(x)
	case int:
		p.saveInt(int64(x))
	case int32:
		p.saveInt(int64(x))
	case int16:
		p.saveInt(int64(x))
	case int8:
		p.saveInt(int64(x))
	case uint8:
		p.saveInt(int64(x))
	case uint16:
		p.saveInt(int64(x))
	case uint32:
		p.saveInt(int64(x))
	case uint:
		p.saveBig(new(big.Int).SetUint64(uint64(x)))
	case uint64:
		p.saveBig(new(big.Int).SetUint64(x))
	case *big.Int:
		if x == nil {
			return &UnsupportedTypeError{Type: "nil *big.Int"}
		}
		p.saveBig(x)
	case float64:
		p.saveFloat(x)
	case float32:
		p.saveFloat(float64(x))
	case string:
		p.saveStr(x)
	case pyvalue.Bytes:
		return p.saveBytes(x)
	case pyvalue.ByteArray:
		return p.saveByteArray(x)
	case []any:
		return p.saveList(x)
	case pyvalue.Tuple:
		return p.saveTuple(x)
	case *pyvalue.Dict:
		if x == nil {
			return &UnsupportedTypeError{Type: "nil *pyvalue.Dict"}
		}
		return p.saveDict(x)
	case *pyvalue.Set:
		if x == nil {
			return &UnsupportedTypeError{Type: "nil *pyvalue.Set"}
		}
		return p.saveSet(x)
	case pyvalue.DateTime:
		return p.saveDateTime(x)
	case pyvalue.Date:
		return p.saveDate(x)
	case pyvalue.Time:
		return p.saveTime(x)
	case pyvalue.TimeDelta:
		return p.saveTimeDelta(x)
	case pyvalue.Decimal:
		return p.saveDecimal(x)
	case pyvalue.UUID:
		return p.saveUUID(x)
	case *pyvalue.TZInfo:
		if x == nil {
			return &UnsupportedTypeError{Type: "nil *pyvalue.TZInfo"}
		}
		return p.saveTZ(x)
	case *pyvalue.Object:
		if x == nil {
			return &UnsupportedTypeError{Type: "nil *pyvalue.Object"}
		}
		return p.saveObject(x)
	case time.Time:
		return p.saveDateTime(pyvalue.DateTimeFromTime(x))
	case time.Duration:
		return p.saveTimeDelta(pyvalue.TimeDeltaFromDuration(x))
	default:
		return &UnsupportedTypeError{Type: fmt.Sprintf("%T", v)}
	}
	return nil
}

func (p *pickler) saveInt(x int64) {
	switch {
	case x >= 0 && x < 256:
		p.write(opBinInt1, byte(x))
	case x >= 0 && x < 65536:
		p.write(opBinInt2, byte(x), byte(x>>8))
	case x >= math.MinInt32 && x <= math.MaxInt32:
		p.write(opBinInt, byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
	default:
		p.saveLong64(x)
	}
}

// saveLong64 is saveBig for an int64, without a big.Int: the same
// encode_long bytes (x.to_bytes((x.bit_length() >> 3) + 1, signed), a
// redundant 0xff dropped from a negative).
func (p *pickler) saveLong64(x int64) {
	mag := uint64(x)
	if x < 0 {
		mag = -mag
	}
	n := bits.Len64(mag)/8 + 1
	var b [9]byte
	for i := 0; i < n; i++ {
		b[i] = byte(x >> (8 * uint(i))) // arithmetic shift: sign-extends past 64 bits
	}
	if x < 0 && n > 1 && b[n-1] == 0xff && b[n-2]&0x80 != 0 {
		n--
	}
	p.write(opLong1, byte(n))
	p.buf = append(p.buf, b[:n]...)
}

func (p *pickler) saveBig(x *big.Int) {
	if x.IsInt64() && x.Int64() >= math.MinInt32 && x.Int64() <= math.MaxInt32 {
		p.saveInt(x.Int64())
		return
	}
	b := encodeLong(x)
	if len(b) < 256 {
		p.write(opLong1, byte(len(b)))
	} else {
		n := len(b)
		p.write(opLong4, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	}
	p.buf = append(p.buf, b...)
}

// encodeLong is CPython's encode_long: little-endian two's complement in the
// fewest bytes.
func encodeLong(x *big.Int) []byte {
	if x.Sign() == 0 {
		return nil
	}
	nbytes := x.BitLen()/8 + 1
	var mag *big.Int
	if x.Sign() > 0 {
		mag = x
	} else {
		mag = new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), uint(8*nbytes)), x)
	}
	be := mag.FillBytes(make([]byte, nbytes))
	out := make([]byte, nbytes)
	for i, c := range be {
		out[nbytes-1-i] = c
	}
	if x.Sign() < 0 && nbytes > 1 && out[nbytes-1] == 0xff && out[nbytes-2]&0x80 != 0 {
		out = out[:nbytes-1]
	}
	return out
}

func (p *pickler) saveFloat(f float64) {
	var b [9]byte
	b[0] = opBinFloat
	binary.BigEndian.PutUint64(b[1:], math.Float64bits(f))
	p.write(b[:]...)
}

// singleton reports the strings CPython keeps as singletons whatever made
// them: the empty string and the one-character Latin-1 strings.
func singleton(s string) bool {
	switch len(s) {
	case 0, 1:
		return true
	case 2:
		return s[0] == 0xC2 || s[0] == 0xC3 // U+0080..U+00FF
	}
	return false
}

// nameChars reports an identifier-like string (ASCII letters, digits, _):
// CPython interns such string constants, so equal literals are one object.
func nameChars(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if identByte[s[i]] == 0 {
			return false
		}
	}
	return true
}

// identByte is 1 for the bytes nameChars accepts (read-only table).
var identByte = [256]byte{
	'0': 1, '1': 1, '2': 1, '3': 1, '4': 1, '5': 1, '6': 1, '7': 1, '8': 1, '9': 1,
	'A': 1, 'B': 1, 'C': 1, 'D': 1, 'E': 1, 'F': 1, 'G': 1, 'H': 1, 'I': 1, 'J': 1, 'K': 1, 'L': 1, 'M': 1,
	'N': 1, 'O': 1, 'P': 1, 'Q': 1, 'R': 1, 'S': 1, 'T': 1, 'U': 1, 'V': 1, 'W': 1, 'X': 1, 'Y': 1, 'Z': 1,
	'a': 1, 'b': 1, 'c': 1, 'd': 1, 'e': 1, 'f': 1, 'g': 1, 'h': 1, 'i': 1, 'j': 1, 'k': 1, 'l': 1, 'm': 1,
	'n': 1, 'o': 1, 'p': 1, 'q': 1, 'r': 1, 's': 1, 't': 1, 'u': 1, 'v': 1, 'w': 1, 'x': 1, 'y': 1, 'z': 1,
	'_': 1,
}

// saveStr writes a str value. Go strings have no identity, so values are
// modelled as the freshly computed objects a session mostly holds: each
// occurrence is written again, except CPython's singletons.
func (p *pickler) saveStr(s string) {
	if singleton(s) {
		p.saveInterned(s)
		return
	}
	p.writeStr(s)
	p.memoPut(nil)
}

// saveName writes a dict key or a Python qualname. Identifier-like ones are
// modelled as CPython holds literals and the keys of one json.loads call:
// one object, so every occurrence after the first (also of an equal module
// name) is a memo GET.
func (p *pickler) saveName(s string) {
	if singleton(s) || nameChars(s) {
		p.saveInterned(s)
		return
	}
	p.writeStr(s)
	p.memoPut(nil)
}

// saveKey writes a dict key.
func (p *pickler) saveKey(k any) error {
	if s, ok := k.(string); ok {
		if p.frameStart >= 0 && len(p.buf)-p.frameStart-frameHeaderSize >= frameSizeTarget {
			p.commitFrame()
		}
		p.saveName(s)
		return nil
	}
	return p.save(k)
}

// saveInterned writes a string CPython interns (module names, identifiers
// of C code): one copy per pickle, later uses are memo GETs.
func (p *pickler) saveInterned(s string) {
	if idx, ok := p.lookupStr(s); ok {
		p.writeGet(idx)
		return
	}
	p.writeStr(s)
	p.setStr(s, p.memoNext())
}

func (p *pickler) writeStr(s string) {
	n := len(s)
	var h [9]byte
	switch {
	case n <= 0xff && p.proto >= 4:
		h[0], h[1] = opShortBinUnicode, byte(n)
		p.writeBytes(h[:2], s)
	case uint64(n) <= 0xffffffff:
		h[0] = opBinUnicode
		binary.LittleEndian.PutUint32(h[1:], uint32(n))
		p.writeBytes(h[:5], s)
	default:
		h[0] = opBinUnicode8
		binary.LittleEndian.PutUint64(h[1:], uint64(n))
		p.writeBytes(h[:9], s)
	}
}

// bytesIdentity is the memo key of a bytes-like value: its backing array,
// or, for bytes of length 0 and 1 (singletons in CPython), its value.
func bytesIdentity(kind byte, b []byte) any {
	if kind == 'b' && len(b) <= 1 {
		return internKey{"\x00bytes" + string(b)}
	}
	if len(b) == 0 {
		return nil
	}
	return bytesKey{kind, &b[0], len(b)}
}

func (p *pickler) saveBytes(b pyvalue.Bytes) error {
	key := bytesIdentity('b', b)
	if key != nil && p.memoGet(key) {
		return nil
	}
	if p.proto < 3 {
		// _codecs.encode(latin1_text, "latin1"), or bytes() when empty
		if len(b) == 0 {
			p.saveGlobal("builtins", "bytes")
			p.write1(opEmptyTuple)
			p.write1(opReduce)
			p.memoPut(key)
			return nil
		}
		p.saveGlobal("_codecs", "encode")
		p.saveStr(latin1(b))
		p.saveInterned("latin1")
		p.write1(opTuple2)
		p.memoPut(nil)
		p.write1(opReduce)
		p.memoPut(key)
		return nil
	}
	p.writeBinBytes(opShortBinBytes, opBinBytes, opBinBytes8, b)
	p.memoPut(key)
	return nil
}

func (p *pickler) writeBinBytes(short, long, long8 byte, b []byte) {
	n := len(b)
	var h [9]byte
	switch {
	case n <= 0xff:
		h[0], h[1] = short, byte(n)
		p.writeBytes(h[:2], string(b))
	case uint64(n) <= 0xffffffff:
		h[0] = long
		binary.LittleEndian.PutUint32(h[1:], uint32(n))
		p.writeBytes(h[:5], string(b))
	default:
		h[0] = long8
		binary.LittleEndian.PutUint64(h[1:], uint64(n))
		p.writeBytes(h[:9], string(b))
	}
}

func latin1(b []byte) string {
	out := make([]byte, 0, len(b)+8)
	for _, c := range b {
		if c < 0x80 {
			out = append(out, c)
		} else {
			out = append(out, 0xC0|c>>6, 0x80|c&0x3F)
		}
	}
	return string(out)
}

func (p *pickler) saveByteArray(b pyvalue.ByteArray) error {
	key := bytesIdentity('a', b)
	if key != nil && p.memoGet(key) {
		return nil
	}
	if p.proto >= 5 {
		var h [9]byte
		h[0] = opByteArray8
		binary.LittleEndian.PutUint64(h[1:], uint64(len(b)))
		p.writeBytes(h[:], string(b))
		p.memoPut(key)
		return nil
	}
	// bytearray.__reduce_ex__: (bytearray, (bytes(self),)) or (bytearray, ())
	p.saveGlobal("builtins", "bytearray")
	if len(b) == 0 {
		p.write1(opEmptyTuple)
	} else {
		if err := p.saveBytes(append(pyvalue.Bytes(nil), b...)); err != nil {
			return err
		}
		p.write1(opTuple1)
		p.memoPut(nil)
	}
	p.write1(opReduce)
	p.memoPut(key)
	return nil
}

func sliceIdentity(kind byte, s []any) any {
	if len(s) == 0 {
		return nil
	}
	return sliceKey{kind, &s[0], len(s)}
}

func (p *pickler) saveList(l []any) error {
	if len(l) > 0 {
		if idx, ok := p.lookupSlice(sliceKey{'l', &l[0], len(l)}); ok {
			p.writeGet(idx)
			return nil
		}
	}
	if err := p.enter(); err != nil {
		return err
	}
	p.write1(opEmptyList)
	idx := p.memoNext()
	if len(l) > 0 {
		p.setSlice(sliceKey{'l', &l[0], len(l)}, idx)
	}
	err := p.batchListExact(l)
	p.depth--
	return err
}

// batchListExact is batch_list_exact: one item is APPEND, more are MARK ...
// APPENDS in groups of 1000.
func (p *pickler) batchListExact(l []any) error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		if err := p.save(l[0]); err != nil {
			return err
		}
		p.write1(opAppend)
		return nil
	}
	for i := 0; i < len(l); {
		p.write1(opMark)
		for n := 0; n < batchSize && i < len(l); n++ {
			if err := p.save(l[i]); err != nil {
				return err
			}
			i++
		}
		p.write1(opAppends)
	}
	return nil
}

// batchList is the generic batch_list used for an iterator of items
// (list subclasses): a lone trailing item is APPEND.
func (p *pickler) batchList(l []any) error {
	for i := 0; i < len(l); {
		if len(l)-i == 1 {
			if err := p.save(l[i]); err != nil {
				return err
			}
			p.write1(opAppend)
			return nil
		}
		p.write1(opMark)
		n := 0
		for ; n < batchSize && i < len(l); n++ {
			if err := p.save(l[i]); err != nil {
				return err
			}
			i++
		}
		p.write1(opAppends)
		if n < batchSize {
			break
		}
	}
	return nil
}

func (p *pickler) saveTuple(t pyvalue.Tuple) error {
	if len(t) == 0 {
		p.write1(opEmptyTuple)
		return nil
	}
	key := sliceIdentity('t', t)
	if p.memoGet(key) {
		return nil
	}
	if err := p.enter(); err != nil {
		return err
	}
	defer func() { p.depth-- }()
	if len(t) <= 3 {
		for _, x := range t {
			if err := p.save(x); err != nil {
				return err
			}
		}
		// a tuple that reached the memo while its items were saved is
		// recursive: CPython pops the items and fetches it
		if _, ok := p.memoLookup(key); ok {
			for range t {
				p.write1(opPop)
			}
			p.memoGet(key)
			return nil
		}
		p.write1(opTuple1 + byte(len(t)-1))
		p.memoPut(key)
		return nil
	}
	p.write1(opMark)
	for _, x := range t {
		if err := p.save(x); err != nil {
			return err
		}
	}
	if _, ok := p.memoLookup(key); ok {
		p.write1(opPopMark)
		p.memoGet(key)
		return nil
	}
	p.write1(opTuple)
	p.memoPut(key)
	return nil
}

func (p *pickler) saveDict(d *pyvalue.Dict) error {
	if idx, ok := p.lookupDict(d); ok {
		p.writeGet(idx)
		return nil
	}
	if err := p.enter(); err != nil {
		return err
	}
	p.write1(opEmptyDict)
	p.setDict(d, p.memoNext())
	err := p.batchDictExact(d)
	p.depth--
	return err
}

// batchDictExact is batch_dict_exact: one item is SETITEM; otherwise MARK
// ... SETITEMS per 1000 items, with a trailing empty batch when the size is
// an exact multiple of 1000 (CPython loops while a batch was full).
func (p *pickler) batchDictExact(d *pyvalue.Dict) error {
	n := d.Len()
	if n == 0 {
		return nil
	}
	if n == 1 {
		k, v := d.At(0)
		if err := p.saveKey(k); err != nil {
			return err
		}
		if err := p.save(v); err != nil {
			return err
		}
		p.write1(opSetItem)
		return nil
	}
	i := 0
	for {
		p.write1(opMark)
		c := 0
		for ; c < batchSize && i < n; c++ {
			k, v := d.At(i)
			if err := p.saveKey(k); err != nil {
				return err
			}
			if err := p.save(v); err != nil {
				return err
			}
			i++
		}
		p.write1(opSetItems)
		if c < batchSize {
			return nil
		}
	}
}

// batchDict is the generic batch_dict used for an items iterator
// (OrderedDict and other dict subclasses).
func (p *pickler) batchDict(d *pyvalue.Dict) error {
	n := d.Len()
	for i := 0; i < n; {
		if n-i == 1 {
			k, v := d.At(i)
			if err := p.saveKey(k); err != nil {
				return err
			}
			if err := p.save(v); err != nil {
				return err
			}
			p.write1(opSetItem)
			return nil
		}
		p.write1(opMark)
		c := 0
		for ; c < batchSize && i < n; c++ {
			k, v := d.At(i)
			if err := p.saveKey(k); err != nil {
				return err
			}
			if err := p.save(v); err != nil {
				return err
			}
			i++
		}
		p.write1(opSetItems)
		if c < batchSize {
			break
		}
	}
	return nil
}

func (p *pickler) saveSet(s *pyvalue.Set) error {
	if p.memoGet(s) {
		return nil
	}
	if err := p.enter(); err != nil {
		return err
	}
	defer func() { p.depth-- }()
	if p.proto < 4 {
		// set.__reduce__: (set, (list(self),), None)
		name := "set"
		if s.Frozen {
			name = "frozenset"
		}
		p.saveGlobal("builtins", name)
		p.write1(opEmptyList)
		p.memoPut(nil)
		if err := p.batchListExact(s.Items); err != nil {
			return err
		}
		p.write1(opTuple1)
		p.memoPut(nil)
		p.write1(opReduce)
		p.memoPut(s)
		return nil
	}
	if s.Frozen {
		p.write1(opMark)
		for _, x := range s.Items {
			if err := p.save(x); err != nil {
				return err
			}
		}
		if _, ok := p.memoLookup(s); ok {
			p.write1(opPopMark)
			p.memoGet(s)
			return nil
		}
		p.write1(opFrozenSet)
		p.memoPut(s)
		return nil
	}
	p.write1(opEmptySet)
	p.memoPut(s)
	if len(s.Items) == 0 {
		return nil
	}
	for i := 0; ; {
		p.write1(opMark)
		c := 0
		for ; c < batchSize && i < len(s.Items); c++ {
			if err := p.save(s.Items[i]); err != nil {
				return err
			}
			i++
		}
		p.write1(opAddItems)
		if c < batchSize {
			return nil
		}
	}
}

// cTypes are globals implemented in C whose __qualname__ CPython builds
// afresh on each access (static types, builtin functions), so their names
// are never memo-shared; names of Python classes and functions are interned.
var cTypes = map[modName]bool{
	{"datetime", "datetime"}: true, {"datetime", "date"}: true, {"datetime", "time"}: true,
	{"datetime", "timedelta"}: true, {"datetime", "timezone"}: true, {"datetime", "tzinfo"}: true,
	{"decimal", "Decimal"}: true, {"_codecs", "encode"}: true, {"collections", "OrderedDict"}: true,
	{"collections", "defaultdict"}: true, {"collections", "deque"}: true, {"zoneinfo", "ZoneInfo"}: true,
	{"functools", "partial"}: true,
}

// builtinTypes are the builtins that are types (the others are functions).
var builtinTypes = map[string]bool{
	"object": true, "type": true, "int": true, "float": true, "complex": true, "bool": true, "str": true,
	"bytes": true, "bytearray": true, "list": true, "tuple": true, "dict": true, "set": true,
	"frozenset": true, "range": true, "slice": true, "memoryview": true, "property": true,
	"staticmethod": true, "classmethod": true, "super": true, "enumerate": true, "zip": true,
	"map": true, "filter": true, "reversed": true,
}

// saveGlobal writes a reference to module.name: STACK_GLOBAL from protocol
// 4 (the module name is an interned string, shared through the memo),
// GLOBAL with Python 2 names before that.
func (p *pickler) saveGlobal(module, name string) {
	key := globalKey{module, name}
	if p.memoGet(key) {
		return
	}
	if p.proto >= 4 {
		if module == "builtins" && !builtinTypes[name] {
			// builtin functions carry the builtins module's own __name__
			// object, not the interned "builtins" of the builtin types
			if !p.memoGet(internKey{"\x00builtins module name"}) {
				p.writeStr(module)
				p.memoPut(internKey{"\x00builtins module name"})
			}
		} else {
			p.saveInterned(module)
		}
		if cTypes[modName{module, name}] || module == "builtins" {
			p.saveStr(name)
		} else {
			p.saveName(name)
		}
		p.write1(opStackGlobal)
	} else {
		m, n := module, name
		if p.proto < 3 {
			if r, ok := reverseNameMapping[modName{m, n}]; ok {
				m, n = r.mod, r.name
			} else if r, ok := reverseImportMapping[m]; ok {
				m = r
			}
		}
		p.write1(opGlobal)
		p.buf = append(p.buf, m...)
		p.buf = append(p.buf, '\n')
		p.buf = append(p.buf, n...)
		p.buf = append(p.buf, '\n')
	}
	p.memoPut(key)
}

func (p *pickler) checkGlobalName(module, name string) error {
	bad := func(s string) bool {
		if s == "" {
			return true
		}
		for i := 0; i < len(s); i++ {
			if s[i] == '\n' || (p.proto < 3 && s[i] >= 0x80) {
				return true
			}
		}
		return false
	}
	if bad(module) || bad(name) {
		return fmt.Errorf("%w: can't pickle global identifier %q.%q using pickle protocol %d", ErrUnsupported, module, name, p.proto)
	}
	if p.proto < 4 {
		for i := 0; i < len(name); i++ {
			if name[i] == '.' {
				return fmt.Errorf("%w: nested global %s.%s needs protocol 4", ErrUnsupported, module, name)
			}
		}
	}
	return nil
}

// dateState writes the state bytes of a datetime-family value: a fresh
// bytes object, never shared.
func (p *pickler) dateState(b []byte) error {
	if p.proto < 3 {
		return p.saveBytes(pyvalue.Bytes(b))
	}
	p.writeBinBytes(opShortBinBytes, opBinBytes, opBinBytes8, b)
	p.memoPut(nil)
	return nil
}

func (p *pickler) saveDateTime(d pyvalue.DateTime) error {
	m := byte(d.Month)
	if d.Fold == 1 && p.proto > 3 {
		m |= 0x80
	}
	us := d.Microsecond
	return p.saveDateClass("datetime", []byte{byte(d.Year >> 8), byte(d.Year), m, byte(d.Day), byte(d.Hour),
		byte(d.Minute), byte(d.Second), byte(us >> 16), byte(us >> 8), byte(us)}, d.TZ)
}

func (p *pickler) saveDate(d pyvalue.Date) error {
	return p.saveDateClass("date", []byte{byte(d.Year >> 8), byte(d.Year), byte(d.Month), byte(d.Day)}, nil)
}

func (p *pickler) saveTime(t pyvalue.Time) error {
	h := byte(t.Hour)
	if t.Fold == 1 && p.proto > 3 {
		h |= 0x80
	}
	us := t.Microsecond
	return p.saveDateClass("time", []byte{h, byte(t.Minute), byte(t.Second), byte(us >> 16), byte(us >> 8), byte(us)}, t.TZ)
}

// saveDateClass writes datetime.<name>(state[, tz]) as CPython pickles a
// datetime, date or time: the class, the packed state, the tzinfo if any,
// then REDUCE.
func (p *pickler) saveDateClass(name string, state []byte, tz *pyvalue.TZInfo) error {
	p.saveGlobal("datetime", name)
	if err := p.dateState(state); err != nil {
		return err
	}
	if tz != nil {
		if err := p.saveTZ(tz); err != nil {
			return err
		}
		p.write1(opTuple2)
	} else {
		p.write1(opTuple1)
	}
	p.memoPut(nil)
	p.write1(opReduce)
	p.memoPut(nil)
	return nil
}

func (p *pickler) saveTimeDelta(td pyvalue.TimeDelta) error {
	p.saveGlobal("datetime", "timedelta")
	p.saveInt(td.Days)
	p.saveInt(td.Seconds)
	p.saveInt(td.Microseconds)
	p.write1(opTuple3)
	p.memoPut(nil)
	p.write1(opReduce)
	p.memoPut(nil)
	return nil
}

// saveTZ writes a tzinfo. timezone.utc, pytz.utc and cached ZoneInfo zones
// are singletons in CPython, so a second use is a memo GET; other fixed
// offsets are shared only when the same *TZInfo is.
func (p *pickler) saveTZ(tz *pyvalue.TZInfo) error {
	var key any = tz
	switch tz.Kind {
	case pyvalue.TZUTC, pyvalue.TZPytzUTC:
		key = tzValueKey{kind: tz.Kind}
	case pyvalue.TZZoneInfo:
		key = tzValueKey{kind: tz.Kind, name: tz.Name}
	case pyvalue.TZFixed:
		if tz.Offset == 0 && tz.Name == "" {
			key = tzValueKey{kind: pyvalue.TZUTC}
		}
	case pyvalue.TZOpaque:
		if tz.Object == nil {
			return &UnsupportedTypeError{Type: "opaque tzinfo without Object"}
		}
		return p.saveObject(tz.Object)
	default:
		return &UnsupportedTypeError{Type: fmt.Sprintf("tzinfo kind %d", tz.Kind)}
	}
	if p.memoGet(key) {
		return nil
	}
	switch tz.Kind {
	case pyvalue.TZPytzUTC:
		p.saveGlobal("pytz", "_UTC")
		p.write1(opEmptyTuple)
	case pyvalue.TZZoneInfo:
		p.saveGlobal("builtins", "getattr")
		p.saveGlobal("zoneinfo", "ZoneInfo")
		p.saveStr("_unpickle") // built afresh by the C method's __reduce__
		p.write1(opTuple2)
		p.memoPut(nil)
		p.write1(opReduce)
		p.memoPut(nil)
		p.saveStr(tz.Name)
		p.saveInt(1)
		p.write1(opTuple2)
		p.memoPut(nil)
	default: // timezone(offset[, name])
		off := tz.Offset
		if tz.Kind == pyvalue.TZUTC {
			off = 0
		}
		if off <= -86400e6 || off >= 86400e6 {
			return fmt.Errorf("%w: timezone offset %dµs out of range", ErrUnsupported, off)
		}
		p.saveGlobal("datetime", "timezone")
		if err := p.saveTimeDelta(pyvalue.NewTimeDelta(0, 0, off)); err != nil {
			return err
		}
		if tz.Kind == pyvalue.TZFixed && tz.Name != "" {
			p.saveName(tz.Name) // names are literals in Python code
			p.write1(opTuple2)
		} else {
			p.write1(opTuple1)
		}
		p.memoPut(nil)
	}
	p.write1(opReduce)
	p.memoPut(key)
	return nil
}

func (p *pickler) saveDecimal(d pyvalue.Decimal) error {
	p.saveGlobal("decimal", "Decimal")
	p.saveStr(string(d))
	p.write1(opTuple1)
	p.memoPut(nil)
	p.write1(opReduce)
	p.memoPut(nil)
	return nil
}

func (p *pickler) saveUUID(id pyvalue.UUID) error {
	p.saveGlobal("uuid", "UUID")
	p.write1(opEmptyTuple)
	p.write1(opNewObj)
	p.memoPut(nil)
	p.write1(opEmptyDict)
	p.memoPut(nil)
	p.saveInterned("int")
	p.saveBig(id.Int())
	p.write1(opSetItem)
	p.write1(opBuild)
	return nil
}

func (p *pickler) saveObject(o *pyvalue.Object) error {
	if p.memoGet(o) {
		return nil
	}
	if err := p.enter(); err != nil {
		return err
	}
	defer func() { p.depth-- }()
	saveCallable := func() error {
		if o.Callable != nil {
			return p.saveObject(o.Callable)
		}
		if err := p.checkGlobalName(o.Module, o.Name); err != nil {
			return err
		}
		p.saveGlobal(o.Module, o.Name)
		return nil
	}
	switch o.Kind {
	case pyvalue.ObjectGlobal:
		if err := p.checkGlobalName(o.Module, o.Name); err != nil {
			return err
		}
		key := globalKey{o.Module, o.Name}
		if p.memoGet(key) {
			return nil
		}
		p.saveGlobal(o.Module, o.Name)
		// the class object is the same whichever *Object names it
		idx, _ := p.memoLookup(key)
		p.memoSet(o, idx)
		return nil
	case pyvalue.ObjectReduce, pyvalue.ObjectNewObj:
		if err := saveCallable(); err != nil {
			return err
		}
		args := o.Args
		if args == nil {
			args = pyvalue.Tuple{}
		}
		if err := p.saveTuple(args); err != nil {
			return err
		}
		if o.Kind == pyvalue.ObjectReduce {
			p.write1(opReduce)
		} else {
			p.write1(opNewObj)
		}
	case pyvalue.ObjectNewObjEx:
		if p.proto < 4 {
			return fmt.Errorf("%w: NEWOBJ_EX object %s needs protocol 4", ErrUnsupported, o.PythonType())
		}
		if err := saveCallable(); err != nil {
			return err
		}
		args := o.Args
		if args == nil {
			args = pyvalue.Tuple{}
		}
		if err := p.saveTuple(args); err != nil {
			return err
		}
		kw := o.Kwargs
		if kw == nil {
			kw = pyvalue.NewDict(0)
		}
		if err := p.saveDict(kw); err != nil {
			return err
		}
		p.write1(opNewObjEx)
	default:
		return &UnsupportedTypeError{Type: fmt.Sprintf("pyvalue.Object kind %d", o.Kind)}
	}
	if _, ok := p.memoLookup(o); ok {
		// recursive reduction: CPython discards the new object and fetches
		// the memoized one
		p.write1(opPop)
		p.memoGet(o)
		return nil
	}
	p.memoPut(o)
	if len(o.ListItems) > 0 {
		if err := p.batchList(o.ListItems); err != nil {
			return err
		}
	}
	if o.DictItems != nil && o.DictItems.Len() > 0 {
		if err := p.batchDict(o.DictItems); err != nil {
			return err
		}
	}
	if o.HasState && o.State != nil {
		if err := p.save(o.State); err != nil {
			return err
		}
		p.write1(opBuild)
	}
	return nil
}
