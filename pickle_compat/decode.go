package pickle_compat

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/djsession/djsession/pyvalue"
)

// Default limits of a zero Decoder.
const (
	// DefaultMaxDepth is deeper than any container nesting CPython's
	// recursion limit lets pickle.dumps produce.
	DefaultMaxDepth = 1000
	// DefaultMaxMemo is the largest memo index accepted.
	DefaultMaxMemo = 1 << 20
	// DefaultMaxBytes bounds the input and the decoded size estimate.
	DefaultMaxBytes = 64 << 20
)

// Decoder reads pickles into pyvalue values under resource limits. The zero
// value is ready to use with the defaults; it holds no state between calls
// and may be used concurrently.
type Decoder struct {
	// MaxDepth is the deepest container nesting accepted (0: DefaultMaxDepth).
	MaxDepth int
	// MaxMemo is one more than the largest memo index accepted (0:
	// DefaultMaxMemo).
	MaxMemo int
	// MaxBytes bounds both the pickle's length and the estimated size of the
	// decoded value: string and bytes payloads plus 16 bytes per container
	// slot or stack reference (0: DefaultMaxBytes).
	MaxBytes int
	// StrictGlobals refuses (with a *GlobalError) every global outside the
	// allow-list of types this package maps, instead of keeping unknown
	// objects as inert *pyvalue.Object values.
	StrictGlobals bool
}

// arenaMax is the largest input whose strings share one allocation; above
// it each str is copied on its own so that a few small strings do not keep
// a large pickle alive.
const arenaMax = 64 << 10

// Loads reads one pickle with the default Decoder.
func Loads(b []byte) (any, error) {
	var d Decoder
	return d.Loads(b)
}

// listBuf is a list under construction. The memo and the stack hold the
// buffer so that APPENDs after MEMOIZE are seen by later GETs; the []any is
// handed out when the list is used as a value, after which it must not
// change (only a recursive pickle would change it).
type listBuf struct {
	items []any
	used  bool
}

type memoSlot struct {
	v  any
	ok bool
}

type unpickler struct {
	data []byte
	// text is data as one string for inputs up to arenaMax bytes: str
	// values are then substrings of it, one allocation for all of them.
	text     string
	pos      int
	stack    []any
	marks    []int
	memo     []memoSlot
	memoMap  map[int]any
	memoLen  int
	budget   int
	maxBytes int
	maxMemo  int
	maxDepth int
	strict   bool
	proto    int
	// shared is set when a mutable container was fetched from the memo, so
	// the result may be a DAG or contain a cycle.
	shared     bool
	containers int
	setIndex   map[*pyvalue.Set]*pyvalue.Dict

	a *arena
}

// Loads reads one pickle (protocols 0–5) from b. Data after STOP is
// ignored, as pickle.loads ignores it.
func (d *Decoder) Loads(b []byte) (any, error) {
	maxBytes := d.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if len(b) > maxBytes {
		return nil, &LimitError{Limit: "MaxBytes", Max: maxBytes}
	}
	sc := getScratch()
	u := unpickler{data: b, budget: maxBytes, maxBytes: maxBytes, maxMemo: d.MaxMemo, maxDepth: d.MaxDepth, strict: d.StrictGlobals,
		stack: sc.stack, marks: sc.marks, memo: sc.memo, a: newArena()}
	v, err := u.load()
	putScratch(sc, u.stack, u.marks, u.memo)
	return v, err
}

func (u *unpickler) load() (any, error) {
	b := u.data
	if u.maxMemo <= 0 {
		u.maxMemo = DefaultMaxMemo
	}
	if u.maxDepth <= 0 {
		u.maxDepth = DefaultMaxDepth
	}
	if len(b) <= arenaMax {
		u.text = string(b)
	}
	v, err := u.run()
	if err != nil {
		return nil, err
	}
	if u.shared || u.containers > u.maxDepth {
		if err := u.checkDepth(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (u *unpickler) errf(base error, format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", base, u.pos, fmt.Sprintf(format, args...))
}

func (u *unpickler) truncated() error {
	return fmt.Errorf("%w (at offset %d of %d)", ErrTruncated, u.pos, len(u.data))
}

// take returns the next n bytes, checking the length against what remains
// before anything is allocated.
func (u *unpickler) take(n uint64) ([]byte, error) {
	if n > uint64(len(u.data)-u.pos) {
		return nil, u.truncated()
	}
	b := u.data[u.pos : u.pos+int(n)]
	u.pos += int(n)
	return b, nil
}

func (u *unpickler) readLine() ([]byte, error) {
	i := bytes.IndexByte(u.data[u.pos:], '\n')
	if i < 0 {
		return nil, u.truncated()
	}
	line := u.data[u.pos : u.pos+i]
	u.pos += i + 1
	return line, nil
}

func (u *unpickler) charge(n int) error {
	u.budget -= n
	if u.budget < 0 {
		return &LimitError{Limit: "MaxBytes", Max: u.maxBytes}
	}
	return nil
}

func (u *unpickler) fence() int {
	if len(u.marks) == 0 {
		return 0
	}
	return u.marks[len(u.marks)-1]
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) <= u.fence() {
		return nil, u.errf(ErrMalformed, "unpickling stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) <= u.fence() {
		return nil, u.errf(ErrMalformed, "unpickling stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark returns the items above the topmost MARK and removes them and the
// mark. The returned slice aliases the stack: copy before pushing.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.errf(ErrMalformed, "could not find MARK")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := u.stack[m:]
	u.stack = u.stack[:m]
	return items, nil
}

// value turns a stack entry into the value stored in a container.
func (u *unpickler) value(v any) any {
	if l, ok := v.(*listBuf); ok {
		return u.listValue(l)
	}
	return v // small enough to inline: most values are not lists
}

func (u *unpickler) listValue(l *listBuf) any {
	l.used = true
	if l.items == nil {
		l.items = []any{}
	}
	return u.a.List(l.items)
}

func (u *unpickler) memoPut(idx int, v any) error {
	if idx < 0 || idx >= u.maxMemo {
		return &LimitError{Limit: "MaxMemo", Max: u.maxMemo}
	}
	if idx < len(u.memo) {
		if !u.memo[idx].ok {
			u.memoLen++
		}
		u.memo[idx] = memoSlot{v, true}
		return nil
	}
	if idx == len(u.memo) {
		u.memo = append(u.memo, memoSlot{v, true})
		u.memoLen++
		return nil
	}
	// A sparse index: keep it out of the dense slice so that one opcode
	// cannot make us allocate maxMemo slots.
	if u.memoMap == nil {
		u.memoMap = make(map[int]any)
	}
	if _, ok := u.memoMap[idx]; !ok {
		u.memoLen++
		if err := u.charge(48); err != nil {
			return err
		}
	}
	u.memoMap[idx] = v
	return nil
}

func (u *unpickler) memoGet(idx uint64) error {
	var v any
	found := false
	if idx < uint64(len(u.memo)) {
		s := u.memo[idx]
		v, found = s.v, s.ok
	} else if u.memoMap != nil && idx < uint64(u.maxMemo) {
		v, found = u.memoMap[int(idx)]
	}
	if !found {
		return u.errf(ErrMalformed, "memo value not found at index %d", idx)
	}
	switch v.(type) {
	case *listBuf, *pyvalue.Dict, *pyvalue.Set, *pyvalue.Object:
		u.shared = true
	}
	if err := u.charge(16); err != nil {
		return err
	}
	u.push(v)
	return nil
}

func (u *unpickler) u32() (uint64, error) {
	if len(u.data)-u.pos < 4 {
		return 0, u.truncated()
	}
	v := binary.LittleEndian.Uint32(u.data[u.pos:])
	u.pos += 4
	return uint64(v), nil
}

func (u *unpickler) u64() (uint64, error) {
	if len(u.data)-u.pos < 8 {
		return 0, u.truncated()
	}
	v := binary.LittleEndian.Uint64(u.data[u.pos:])
	u.pos += 8
	return v, nil
}

// counted reads a little-endian length prefix of width 1, 4 or 8 bytes and
// the bytes it counts. The protocol-1 opcodes whose 4-byte count CPython
// reads as signed pass their name as signed, for its error message; the
// others pass "".
func (u *unpickler) counted(width int, signed string) ([]byte, error) {
	var n uint64
	var err error
	switch width {
	case 1:
		n, err = u.u8()
	case 4:
		n, err = u.u32()
		if err == nil && signed != "" && int32(uint32(n)) < 0 {
			return nil, u.errf(ErrMalformed, "%s pickle has negative byte count", signed)
		}
	default:
		n, err = u.u64()
	}
	if err != nil {
		return nil, err
	}
	return u.take(n)
}

func (u *unpickler) u8() (uint64, error) {
	if u.pos >= len(u.data) {
		return 0, u.truncated()
	}
	v := u.data[u.pos]
	u.pos++
	return uint64(v), nil
}

// pyString decodes pickled UTF-8 the way CPython does ("surrogatepass"),
// giving the WTF-8 Go string pyvalue uses.
func (u *unpickler) pyString(b []byte) (string, error) {
	if err := u.charge(len(b)); err != nil {
		return "", err
	}
	// utf8.Valid checks ASCII a word at a time
	if !utf8.Valid(b) && !validWTF8(b) {
		return "", u.errf(ErrMalformed, "invalid UTF-8 in str")
	}
	if u.text != "" {
		off := u.pos - len(b)
		return u.text[off:u.pos], nil
	}
	return string(b), nil
}

// validWTF8 accepts UTF-8 plus encoded surrogates (ED A0 80 .. ED BF BF).
func validWTF8(b []byte) bool {
	for len(b) > 0 {
		c := b[0]
		if c < 0x80 {
			b = b[1:]
			continue
		}
		if c == 0xED && len(b) >= 3 && b[1] >= 0xA0 && b[1] <= 0xBF && b[2] >= 0x80 && b[2] <= 0xBF {
			b = b[3:]
			continue
		}
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return false
		}
		b = b[n:]
	}
	return true
}

func (u *unpickler) bytesVal(b []byte) (pyvalue.Bytes, error) {
	if err := u.charge(len(b)); err != nil {
		return nil, err
	}
	out := make(pyvalue.Bytes, len(b))
	copy(out, b)
	return out, nil
}

// containerCost is what the size budget charges for creating a container,
// so that a pickle of nothing but EMPTY_LIST opcodes cannot allocate far
// more than MaxBytes.
const containerCost = 64

func (u *unpickler) newList(items []any) *listBuf {
	u.containers++
	u.budget -= containerCost
	return u.a.listBuf(items)
}

func (u *unpickler) run() (any, error) {
	for {
		if u.pos >= len(u.data) {
			return nil, u.truncated()
		}
		op := u.data[u.pos]
		u.pos++
		switch op {
		case opProto:
			p, err := u.u8()
			if err != nil {
				return nil, err
			}
			if p > HighestProtocol {
				return nil, u.errf(ErrUnsupported, "unsupported pickle protocol: %d", p)
			}
			u.proto = int(p)
		case opFrame:
			n, err := u.u64()
			if err != nil {
				return nil, err
			}
			// CPython's C unpickler only checks that the frame is present;
			// opcodes may run across frame boundaries.
			if n > uint64(len(u.data)-u.pos) {
				return nil, u.truncated()
			}
		case opStop:
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			return u.value(v), nil
		case opMark:
			u.marks = append(u.marks, len(u.stack))
		case opPop:
			if n := len(u.marks); n > 0 && u.marks[n-1] == len(u.stack) {
				u.marks = u.marks[:n-1]
			} else if _, err := u.pop(); err != nil {
				return nil, err
			}
		case opPopMark:
			if _, err := u.popMark(); err != nil {
				return nil, err
			}
		case opDup:
			v, err := u.top()
			if err != nil {
				return nil, err
			}
			if err := u.charge(16); err != nil {
				return nil, err
			}
			switch v.(type) {
			case *listBuf, *pyvalue.Dict, *pyvalue.Set, *pyvalue.Object:
				u.shared = true // a second reference, as through the memo
			}
			u.push(v)
		case opNone:
			u.push(nil)
		case opNewTrue:
			u.push(true)
		case opNewFalse:
			u.push(false)
		case opBinInt1:
			v, err := u.u8()
			if err != nil {
				return nil, err
			}
			u.push(int64(v))
		case opBinInt2:
			if len(u.data)-u.pos < 2 {
				return nil, u.truncated()
			}
			u.push(u.a.Int(int64(binary.LittleEndian.Uint16(u.data[u.pos:]))))
			u.pos += 2
		case opBinInt:
			v, err := u.u32()
			if err != nil {
				return nil, err
			}
			u.push(u.a.Int(int64(int32(uint32(v)))))
		case opLong1, opLong4:
			width := 4
			if op == opLong1 {
				width = 1
			}
			b, err := u.counted(width, "LONG")
			if err != nil {
				return nil, err
			}
			if err := u.charge(len(b)); err != nil {
				return nil, err
			}
			if len(b) <= 8 {
				u.push(u.a.Int(decodeLong(b).(int64)))
			} else {
				u.push(decodeLong(b))
			}
		case opBinFloat:
			b, err := u.take(8)
			if err != nil {
				return nil, err
			}
			u.push(u.a.Float(math.Float64frombits(binary.BigEndian.Uint64(b))))
		case opShortBinUnicode, opBinUnicode, opBinUnicode8:
			width := 8
			switch op {
			case opShortBinUnicode:
				width = 1
			case opBinUnicode:
				width = 4
			}
			b, err := u.counted(width, "")
			if err != nil {
				return nil, err
			}
			s, err := u.pyString(b)
			if err != nil {
				return nil, err
			}
			u.push(u.a.String(s))
		case opShortBinBytes, opBinBytes, opBinBytes8, opByteArray8:
			width := 8
			switch op {
			case opShortBinBytes:
				width = 1
			case opBinBytes:
				width = 4
			}
			b, err := u.counted(width, "")
			if err != nil {
				return nil, err
			}
			v, err := u.bytesVal(b)
			if err != nil {
				return nil, err
			}
			if op == opByteArray8 {
				u.push(pyvalue.ByteArray(v))
			} else {
				u.push(v)
			}
		case opShortBinString, opBinString:
			// Python 2 str: pickle.loads decodes it as ASCII by default.
			width := 4
			if op == opShortBinString {
				width = 1
			}
			b, err := u.counted(width, "BINSTRING")
			if err != nil {
				return nil, err
			}
			s, err := u.asciiString(b)
			if err != nil {
				return nil, err
			}
			u.push(u.a.String(s))
		case opEmptyDict:
			u.containers++
			if err := u.charge(containerCost); err != nil {
				return nil, err
			}
			u.push(u.a.dict())
		case opEmptyList:
			u.push(u.newList(nil))
			if u.budget < 0 {
				return nil, &LimitError{Limit: "MaxBytes", Max: u.maxBytes}
			}
		case opEmptyTuple:
			u.push(pyvalue.Tuple{})
		case opEmptySet:
			u.containers++
			if err := u.charge(containerCost); err != nil {
				return nil, err
			}
			u.push(&pyvalue.Set{})
		case opTuple1, opTuple2, opTuple3:
			n := int(op-opTuple1) + 1
			if len(u.stack)-u.fence() < n {
				return nil, u.errf(ErrMalformed, "unpickling stack underflow")
			}
			if err := u.charge(containerCost); err != nil {
				return nil, err
			}
			t := make(pyvalue.Tuple, n)
			for i := range t {
				t[i] = u.value(u.stack[len(u.stack)-n+i])
			}
			u.stack = u.stack[:len(u.stack)-n]
			u.containers++
			u.push(t)
		case opTuple:
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			if err := u.charge(16 * len(items)); err != nil {
				return nil, err
			}
			t := make(pyvalue.Tuple, len(items))
			for i, x := range items {
				t[i] = u.value(x)
			}
			u.containers++
			u.push(t)
		case opList:
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			if err := u.charge(16 * len(items)); err != nil {
				return nil, err
			}
			l := make([]any, len(items))
			for i, x := range items {
				l[i] = u.value(x)
			}
			u.push(u.newList(l))
		case opDict:
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			if len(items)%2 != 0 {
				return nil, u.errf(ErrMalformed, "odd number of items for DICT")
			}
			d := u.a.dict()
			if err := u.setItems(d, items); err != nil {
				return nil, err
			}
			u.containers++
			u.push(d)
		case opFrozenSet:
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			s := &pyvalue.Set{Frozen: true}
			if err := u.addItems(s, items); err != nil {
				return nil, err
			}
			u.containers++
			u.push(s)
		case opAppend:
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			if err := u.appendItems([]any{v}); err != nil {
				return nil, err
			}
		case opAppends:
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			if err := u.appendItems(items); err != nil {
				return nil, err
			}
		case opSetItem, opSetItems:
			var items []any
			if op == opSetItem {
				if len(u.stack)-u.fence() < 2 {
					return nil, u.errf(ErrMalformed, "unpickling stack underflow")
				}
				items = u.stack[len(u.stack)-2:]
				u.stack = u.stack[:len(u.stack)-2]
			} else {
				var err error
				if items, err = u.popMark(); err != nil {
					return nil, err
				}
				if len(items)%2 != 0 {
					return nil, u.errf(ErrMalformed, "odd number of items for SETITEMS")
				}
			}
			t, err := u.top()
			if err != nil {
				return nil, err
			}
			switch d := t.(type) {
			case *pyvalue.Dict:
				if err := u.setItems(d, items); err != nil {
					return nil, err
				}
			case *pyvalue.Object:
				if d.DictItems == nil {
					d.DictItems = pyvalue.NewDict(len(items) / 2)
				}
				if err := u.setItems(d.DictItems, items); err != nil {
					return nil, err
				}
			default:
				return nil, u.errf(ErrMalformed, "SETITEM on %s", typeName(t))
			}
		case opAddItems:
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			t, err := u.top()
			if err != nil {
				return nil, err
			}
			s, ok := t.(*pyvalue.Set)
			if !ok || s.Frozen {
				return nil, u.errf(ErrMalformed, "ADDITEMS on %s", typeName(t))
			}
			if err := u.addItems(s, items); err != nil {
				return nil, err
			}
		case opMemoize:
			t, err := u.top()
			if err != nil {
				return nil, err
			}
			if err := u.memoPut(u.memoLen, t); err != nil {
				return nil, err
			}
		case opBinPut, opLongBinPut:
			var idx uint64
			var err error
			if op == opBinPut {
				idx, err = u.u8()
			} else {
				idx, err = u.u32()
			}
			if err != nil {
				return nil, err
			}
			t, err := u.top()
			if err != nil {
				return nil, err
			}
			if idx >= uint64(u.maxMemo) {
				return nil, &LimitError{Limit: "MaxMemo", Max: u.maxMemo}
			}
			if err := u.memoPut(int(idx), t); err != nil {
				return nil, err
			}
		case opPut:
			line, err := u.readLine()
			if err != nil {
				return nil, err
			}
			idx, err := strconv.ParseUint(string(line), 10, 63)
			if err != nil {
				return nil, u.errf(ErrMalformed, "bad PUT index")
			}
			t, err := u.top()
			if err != nil {
				return nil, err
			}
			if idx >= uint64(u.maxMemo) {
				return nil, &LimitError{Limit: "MaxMemo", Max: u.maxMemo}
			}
			if err := u.memoPut(int(idx), t); err != nil {
				return nil, err
			}
		case opBinGet, opLongBinGet:
			var idx uint64
			var err error
			if op == opBinGet {
				idx, err = u.u8()
			} else {
				idx, err = u.u32()
			}
			if err != nil {
				return nil, err
			}
			if err := u.memoGet(idx); err != nil {
				return nil, err
			}
		case opGet:
			line, err := u.readLine()
			if err != nil {
				return nil, err
			}
			idx, err := strconv.ParseUint(string(line), 10, 63)
			if err != nil {
				return nil, u.errf(ErrMalformed, "bad GET index")
			}
			if err := u.memoGet(idx); err != nil {
				return nil, err
			}
		case opGlobal:
			mod, err := u.readLine()
			if err != nil {
				return nil, err
			}
			name, err := u.readLine()
			if err != nil {
				return nil, err
			}
			g, err := u.global(string(mod), string(name), u.proto < 3)
			if err != nil {
				return nil, err
			}
			u.push(g)
		case opStackGlobal:
			name, err := u.pop()
			if err != nil {
				return nil, err
			}
			mod, err := u.pop()
			if err != nil {
				return nil, err
			}
			ms, ok1 := mod.(string)
			ns, ok2 := name.(string)
			if !ok1 || !ok2 {
				return nil, u.errf(ErrMalformed, "STACK_GLOBAL requires str")
			}
			g, err := u.global(ms, ns, false)
			if err != nil {
				return nil, err
			}
			u.push(g)
		case opReduce:
			args, err := u.pop()
			if err != nil {
				return nil, err
			}
			fn, err := u.pop()
			if err != nil {
				return nil, err
			}
			v, err := u.reduce(fn, args)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case opNewObj:
			args, err := u.pop()
			if err != nil {
				return nil, err
			}
			cls, err := u.pop()
			if err != nil {
				return nil, err
			}
			v, err := u.newObj(cls, args, nil)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case opNewObjEx:
			kw, err := u.pop()
			if err != nil {
				return nil, err
			}
			args, err := u.pop()
			if err != nil {
				return nil, err
			}
			cls, err := u.pop()
			if err != nil {
				return nil, err
			}
			kd, ok := kw.(*pyvalue.Dict)
			if !ok {
				return nil, u.errf(ErrMalformed, "NEWOBJ_EX kwargs must be a dict, not %s", typeName(kw))
			}
			v, err := u.newObj(cls, args, kd)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case opBuild:
			state, err := u.pop()
			if err != nil {
				return nil, err
			}
			if err := u.build(u.value(state)); err != nil {
				return nil, err
			}
		case opInst:
			mod, err := u.readLine()
			if err != nil {
				return nil, err
			}
			name, err := u.readLine()
			if err != nil {
				return nil, err
			}
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			args := make(pyvalue.Tuple, len(items))
			for i, x := range items {
				args[i] = u.value(x)
			}
			g, err := u.global(string(mod), string(name), u.proto < 3)
			if err != nil {
				return nil, err
			}
			v, err := u.reduce(g, args)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case opObj:
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			if len(items) == 0 {
				return nil, u.errf(ErrMalformed, "OBJ without class")
			}
			args := make(pyvalue.Tuple, len(items)-1)
			for i, x := range items[1:] {
				args[i] = u.value(x)
			}
			v, err := u.reduce(items[0], args)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case opInt:
			line, err := u.readLine()
			if err != nil {
				return nil, err
			}
			switch string(line) {
			case "00":
				u.push(false)
				continue
			case "01":
				u.push(true)
				continue
			}
			v, err := u.parseInt(line)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case opLong:
			line, err := u.readLine()
			if err != nil {
				return nil, err
			}
			if n := len(line); n > 0 && line[n-1] == 'L' {
				line = line[:n-1]
			}
			v, err := u.parseInt(line)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case opFloat:
			line, err := u.readLine()
			if err != nil {
				return nil, err
			}
			s := string(bytes.TrimSpace(line))
			if bytes.ContainsAny(line, "xX_pP") {
				return nil, u.errf(ErrMalformed, "bad FLOAT")
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil && !isRangeErr(err) {
				return nil, u.errf(ErrMalformed, "bad FLOAT %q", s)
			}
			if f != f {
				f = math.Float64frombits(pyNaN) // float('nan'), not Go's NaN bits
			}
			u.push(f)
		case opString:
			line, err := u.readLine()
			if err != nil {
				return nil, err
			}
			b, err := u.unquote(line)
			if err != nil {
				return nil, err
			}
			s, err := u.asciiString(b)
			if err != nil {
				return nil, err
			}
			u.push(s)
		case opUnicode:
			line, err := u.readLine()
			if err != nil {
				return nil, err
			}
			s, err := u.rawUnicodeEscape(line)
			if err != nil {
				return nil, err
			}
			u.push(s)
		default:
			return nil, &UnsupportedOpcodeError{Op: op, Offset: u.pos - 1}
		}
	}
}

// pyNaN is the bit pattern of CPython's float('nan').
const pyNaN = 0x7FF8000000000000

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// decodeLong decodes a little-endian two's-complement integer.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		shift := 64 - 8*uint(len(b))
		return int64(v<<shift) >> shift
	}
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return pyvalue.Int(n)
}

// maxIntDigits is CPython 3.11's default sys.int_info.default_max_str_digits:
// int() refuses longer decimal text.
const maxIntDigits = 4300

func (u *unpickler) parseInt(line []byte) (any, error) {
	s := string(bytes.TrimSpace(line))
	digits := len(s)
	if digits > 0 && (s[0] == '-' || s[0] == '+') {
		digits--
	}
	if digits > maxIntDigits {
		return nil, &LimitError{Limit: "int digits", Max: maxIntDigits}
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || i == 0 && (s[i] == '-' || s[i] == '+')) {
			return nil, u.errf(ErrMalformed, "bad int literal %q", s)
		}
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, u.errf(ErrMalformed, "bad int literal %q", s)
	}
	if err := u.charge(len(s)); err != nil {
		return nil, err
	}
	return pyvalue.Int(n), nil
}

func (u *unpickler) asciiString(b []byte) (string, error) {
	for _, c := range b {
		if c >= 0x80 {
			return "", u.errf(ErrMalformed, "Python 2 str is not ASCII (pickle.loads encoding='ASCII')")
		}
	}
	if err := u.charge(len(b)); err != nil {
		return "", err
	}
	return string(b), nil
}

// unquote decodes the repr of a Python 2 str (protocol 0 STRING).
func (u *unpickler) unquote(line []byte) ([]byte, error) {
	if len(line) < 2 || line[0] != line[len(line)-1] || (line[0] != '\'' && line[0] != '"') {
		return nil, u.errf(ErrMalformed, "the STRING opcode argument must be quoted")
	}
	s := line[1 : len(line)-1]
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, u.errf(ErrMalformed, "trailing backslash in STRING")
		}
		switch c = s[i]; c {
		case '\n':
		case '\\', '\'', '"':
			out = append(out, c)
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, 11)
		case 'x':
			if i+2 >= len(s) {
				return nil, u.errf(ErrMalformed, "bad \\x escape in STRING")
			}
			v, err := strconv.ParseUint(string(s[i+1:i+3]), 16, 8)
			if err != nil {
				return nil, u.errf(ErrMalformed, "bad \\x escape in STRING")
			}
			out = append(out, byte(v))
			i += 2
		default:
			if c >= '0' && c <= '7' {
				v := int(c - '0')
				for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; k++ {
					i++
					v = v*8 + int(s[i]-'0')
				}
				out = append(out, byte(v))
			} else {
				out = append(out, '\\', c)
			}
		}
	}
	return out, nil
}

// rawUnicodeEscape decodes Python's raw-unicode-escape (protocol 0 UNICODE):
// bytes are Latin-1 except \uXXXX and \UXXXXXXXX after an odd number of
// backslashes.
func (u *unpickler) rawUnicodeEscape(b []byte) (string, error) {
	if err := u.charge(len(b)); err != nil {
		return "", err
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\\' && i+1 < len(b) && (b[i+1] == 'u' || b[i+1] == 'U') {
			// count preceding backslashes: an even run means this one is
			// escaped literally
			n := 0
			for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
				n++
			}
			if n%2 == 0 {
				width := 4
				if b[i+1] == 'U' {
					width = 8
				}
				if i+2+width > len(b) {
					return "", u.errf(ErrMalformed, "truncated \\uXXXX escape")
				}
				v, err := strconv.ParseUint(string(b[i+2:i+2+width]), 16, 32)
				if err != nil || v > 0x10FFFF {
					return "", u.errf(ErrMalformed, "bad \\u escape")
				}
				out = appendWTF8(out, rune(v))
				i += 1 + width
				continue
			}
		}
		out = appendWTF8(out, rune(c))
	}
	return string(out), nil
}

// appendWTF8 is utf8.AppendRune that also encodes surrogates.
func appendWTF8(b []byte, r rune) []byte {
	if r >= 0xD800 && r <= 0xDFFF {
		return append(b, 0xED, byte(0x80|(r>>6)&0x3F), byte(0x80|r&0x3F))
	}
	return utf8.AppendRune(b, r)
}

func (u *unpickler) appendItems(items []any) error {
	t, err := u.top()
	if err != nil {
		return err
	}
	if err := u.charge(16 * len(items)); err != nil {
		return err
	}
	switch l := t.(type) {
	case *listBuf:
		if l.used {
			return u.errf(ErrRecursive, "list modified after use")
		}
		if cap(l.items) == 0 {
			// the first batch, usually the whole list: carve it from
			// the arena (capacity capped, so a later batch reallocates)
			l.items = u.a.Slice(len(items))[:0]
		} else {
			l.items = slices.Grow(l.items, len(items))
		}
		for _, x := range items {
			if x == t {
				return u.errf(ErrRecursive, "list appended to itself")
			}
			l.items = append(l.items, u.value(x))
		}
	case *pyvalue.Object:
		for _, x := range items {
			if x == t {
				return u.errf(ErrRecursive, "object appended to itself")
			}
			l.ListItems = append(l.ListItems, u.value(x))
		}
	default:
		return u.errf(ErrMalformed, "APPEND on %s", typeName(t))
	}
	return nil
}

func (u *unpickler) setItems(d *pyvalue.Dict, items []any) error {
	if err := u.charge(16 * len(items)); err != nil {
		return err
	}
	// Room for the whole batch: one allocation instead of append growth.
	d.Grow(len(items) / 2)
	for i := 0; i+1 < len(items); i += 2 {
		k, v := u.value(items[i]), u.value(items[i+1])
		if p, ok := v.(*pyvalue.Dict); ok && p == d {
			return u.errf(ErrRecursive, "dict set as its own item")
		}
		if err := d.SetChecked(k, v); err != nil {
			return u.errf(ErrMalformed, "%v", err)
		}
	}
	return nil
}

func (u *unpickler) addItems(s *pyvalue.Set, items []any) error {
	if err := u.charge(16 * len(items)); err != nil {
		return err
	}
	idx := u.setIndex[s]
	if idx == nil {
		if u.setIndex == nil {
			u.setIndex = make(map[*pyvalue.Set]*pyvalue.Dict)
		}
		idx = pyvalue.NewDict(len(s.Items) + len(items))
		for _, x := range s.Items {
			_ = idx.SetChecked(x, nil)
		}
		u.setIndex[s] = idx
	}
	for _, x := range items {
		x = u.value(x)
		if idx.Has(x) {
			continue
		}
		if err := idx.SetChecked(x, nil); err != nil {
			return u.errf(ErrMalformed, "%v", err)
		}
		s.Items = append(s.Items, x)
	}
	return nil
}

func typeName(v any) string {
	switch v.(type) {
	case *listBuf:
		return "list"
	}
	return pyvalue.TypeName(v)
}

// checkDepth walks the value looking for nesting beyond MaxDepth and, when
// containers were shared through the memo, for cycles. Shared containers are
// visited once, so a memo bomb (a DAG of exponential unfolded size) costs
// time linear in its distinct containers.
func (u *unpickler) checkDepth(v any) error {
	w := depthWalker{max: u.maxDepth}
	if u.shared {
		w.seen = make(map[any]int)
	}
	_, err := w.walk(v, 0)
	return err
}

type depthWalker struct {
	max  int
	seen map[any]int // 0 absent, -1 in progress, else 1+height
}

const inProgress = -1

func identity(v any) (any, bool) {
	switch x := v.(type) {
	case []any:
		if len(x) > 0 {
			return &x[0], true
		}
	case pyvalue.Tuple:
		if len(x) > 0 {
			return &x[0], true
		}
	case *pyvalue.Dict, *pyvalue.Set, *pyvalue.Object:
		return x, true
	}
	return nil, false
}

func (w *depthWalker) walk(v any, depth int) (int, error) {
	var key any
	if w.seen != nil {
		if k, ok := identity(v); ok {
			key = k
			switch h := w.seen[k]; {
			case h == inProgress:
				return 0, fmt.Errorf("%w: a container contains itself", ErrRecursive)
			case h > 0:
				if depth+h-1 > w.max {
					return 0, &LimitError{Limit: "MaxDepth", Max: w.max}
				}
				return h - 1, nil
			}
			w.seen[k] = inProgress
		}
	}
	if depth > w.max {
		return 0, &LimitError{Limit: "MaxDepth", Max: w.max}
	}
	h := 0
	sub := func(x any) error {
		c, err := w.walk(x, depth+1)
		if c+1 > h {
			h = c + 1
		}
		return err
	}
	var err error
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if err = sub(e); err != nil {
				return 0, err
			}
		}
	case pyvalue.Tuple:
		for _, e := range x {
			if err = sub(e); err != nil {
				return 0, err
			}
		}
	case *pyvalue.Dict:
		for i := 0; i < x.Len(); i++ {
			k, e := x.At(i)
			if err = sub(k); err != nil {
				return 0, err
			}
			if err = sub(e); err != nil {
				return 0, err
			}
		}
	case *pyvalue.Set:
		for _, e := range x.Items {
			if err = sub(e); err != nil {
				return 0, err
			}
		}
	case *pyvalue.Object:
		parts := []any{x.Args, x.ListItems, x.State}
		if x.Callable != nil {
			parts = append(parts, x.Callable)
		}
		if x.Kwargs != nil {
			parts = append(parts, x.Kwargs)
		}
		if x.DictItems != nil {
			parts = append(parts, x.DictItems)
		}
		for _, e := range parts {
			if err = sub(e); err != nil {
				return 0, err
			}
		}
	case pyvalue.DateTime:
		if x.TZ != nil && x.TZ.Object != nil {
			if err = sub(x.TZ.Object); err != nil {
				return 0, err
			}
		}
	case pyvalue.Time:
		if x.TZ != nil && x.TZ.Object != nil {
			if err = sub(x.TZ.Object); err != nil {
				return 0, err
			}
		}
	case *pyvalue.TZInfo:
		if x.Object != nil {
			if err = sub(x.Object); err != nil {
				return 0, err
			}
		}
	}
	if key != nil {
		w.seen[key] = h + 1
	}
	return h, nil
}
