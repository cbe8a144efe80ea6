package pyvalue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/djsession/djsession/internal/slab"
)

// DefaultMaxDepth is the nesting depth a JSONDecoder or JSONEncoder accepts
// when none is configured. CPython's json module fails with RecursionError a
// little below 1000 levels, so no value Django wrote or can read is deeper.
const DefaultMaxDepth = 1000

// maxIntDigits is CPython's default sys.get_int_max_str_digits(): json.loads
// and json.dumps refuse integers with more decimal digits than this.
const maxIntDigits = 4300

// shareLimit is the input size up to which decoded strings share one copy of
// the input instead of being allocated one by one. Sharing saves most
// allocations but keeps the whole input alive as long as any string is; past
// this size that could pin far more memory than the strings need.
const shareLimit = 1 << 20

var (
	// ErrTooDeep is wrapped by the error for input nested deeper than MaxDepth.
	ErrTooDeep = errors.New("nesting too deep")
	// ErrTooLarge is wrapped by the error for input longer than MaxBytes.
	ErrTooLarge = errors.New("input too large")
	// ErrIntTooLong is wrapped by the error for an integer with more than
	// 4300 digits, which CPython refuses to convert (ValueError).
	ErrIntTooLong = errors.New("Exceeds the limit (4300 digits) for integer string conversion")
	// ErrInvalidUTF8 is wrapped by the error for a string that is not valid
	// UTF-8 (UnmarshalJSONText) or not valid WTF-8 (MarshalJSON).
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
)

// SyntaxError is a JSON document Python's json.loads rejects. Error returns
// the text of Python's json.JSONDecodeError ("Expecting value: line 1 column
// 1 (char 0)"); Offset is the byte offset in the input.
type SyntaxError struct {
	// Msg is Python's message without the position ("Expecting value").
	Msg string
	// Offset is the byte offset of the error in the input.
	Offset int64
	// Line, Column and Char are the position as Python reports it: 1-based
	// line and column, 0-based character index, counted in code points.
	Line, Column, Char int
	err                error
}

func (e *SyntaxError) Error() string {
	return e.Msg + ": line " + strconv.Itoa(e.Line) + " column " + strconv.Itoa(e.Column) +
		" (char " + strconv.Itoa(e.Char) + ")"
}

// Unwrap returns ErrTooDeep, ErrTooLarge, ErrIntTooLong or ErrInvalidUTF8
// when the error is about a limit or the encoding rather than the syntax.
func (e *SyntaxError) Unwrap() error { return e.err }

// JSONDecoder decodes JSON into pyvalue values with configurable limits. The
// zero value is ready to use and applies the defaults.
type JSONDecoder struct {
	// MaxDepth bounds the nesting of arrays and objects; 0 means
	// DefaultMaxDepth. Deeper input fails with an error wrapping ErrTooDeep.
	MaxDepth int
	// MaxBytes bounds the input length; 0 means no limit. Longer input fails
	// with an error wrapping ErrTooLarge.
	MaxBytes int
}

// UnmarshalJSON decodes b exactly as Django's JSONSerializer.loads does:
// json.loads(b.decode("latin-1")). Every byte is one code point, so raw UTF-8
// in b turns into the mojibake Django sees. Objects become *Dict (insertion
// order, last duplicate wins at the first position), arrays []any, integers
// int64 or *big.Int, floats float64 (NaN, Infinity and -Infinity included),
// strings WTF-8 Go strings.
func UnmarshalJSON(b []byte) (any, error) { return (&JSONDecoder{}).Unmarshal(b) }

// UnmarshalJSONText decodes b as UTF-8 JSON text, as Python's
// json.loads(b.decode("utf-8")) would: invalid UTF-8 and a leading byte
// order mark are errors.
func UnmarshalJSONText(b []byte) (any, error) { return (&JSONDecoder{}).UnmarshalText(b) }

// UnmarshalJSONOwned is UnmarshalJSON for a buffer the caller hands over:
// b must never be modified afterwards, because decoded strings may share
// its memory instead of a copy (which saves an allocation the size of the
// input). Use it for buffers nothing else references, such as the output
// of base64 decoding or decompression.
func UnmarshalJSONOwned(b []byte) (any, error) { return (&JSONDecoder{}).UnmarshalOwned(b) }

// UnmarshalJSONString is UnmarshalJSON for input held in a string. It does
// not copy the input: decoded strings that need no unescaping share its
// memory, which saves time and keeps s alive as long as they are.
func UnmarshalJSONString(s string) (any, error) { return (&JSONDecoder{}).UnmarshalString(s) }

// Unmarshal is UnmarshalJSON with d's limits.
func (d *JSONDecoder) Unmarshal(b []byte) (any, error) {
	if len(b) <= shareLimit {
		// One copy of the input, shared by all the decoded strings.
		str := string(b)
		return d.decode(unsafe.Slice(unsafe.StringData(str), len(str)), str, false)
	}
	return d.decode(b, "", false)
}

// UnmarshalOwned is UnmarshalJSONOwned with d's limits.
func (d *JSONDecoder) UnmarshalOwned(b []byte) (any, error) {
	if len(b) == 0 {
		return d.decode(b, "", false)
	}
	return d.decode(b, unsafe.String(&b[0], len(b)), false)
}

// UnmarshalString is UnmarshalJSONString with d's limits.
func (d *JSONDecoder) UnmarshalString(s string) (any, error) {
	return d.decode(unsafe.Slice(unsafe.StringData(s), len(s)), s, false)
}

// UnmarshalText is UnmarshalJSONText with d's limits.
func (d *JSONDecoder) UnmarshalText(b []byte) (any, error) {
	if len(b) <= shareLimit {
		str := string(b)
		return d.decode(unsafe.Slice(unsafe.StringData(str), len(str)), str, true)
	}
	return d.decode(b, "", true)
}

// decode parses b; when str is not empty it is b as a string (b is then
// never written), and unescaped strings are sliced from it.
func (d *JSONDecoder) decode(b []byte, str string, text bool) (any, error) {
	if d.MaxBytes > 0 && len(b) > d.MaxBytes {
		return nil, &SyntaxError{Msg: "Input longer than " + strconv.Itoa(d.MaxBytes) + " bytes",
			Line: 1, Column: 1, err: ErrTooLarge}
	}
	s := scanner{buf: b, text: text, maxDepth: d.MaxDepth, str: str, shared: str != ""}
	if s.maxDepth <= 0 {
		s.maxDepth = DefaultMaxDepth
	}
	s.itemsHint = s.a.presize(b)
	if text {
		if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
			return nil, s.fail(0, "Unexpected UTF-8 BOM (decode using utf-8-sig)")
		}
		if !utf8.Valid(b) {
			// Python fails while decoding, before any JSON is parsed.
			i := 0
			for i < len(b) {
				r, n := utf8.DecodeRune(b[i:])
				if r == utf8.RuneError && n <= 1 {
					break
				}
				i += n
			}
			e := &SyntaxError{Msg: "invalid UTF-8 at byte " + strconv.Itoa(i), Offset: int64(i), err: ErrInvalidUTF8}
			e.Line, e.Column, e.Char = 1, 1, 0
			return nil, e
		}
	}
	i := skipWS(s.buf, 0)
	v, i, err := s.parse(i)
	s.releaseStaging(err != nil)
	if err != nil {
		return nil, err
	}
	i = skipWS(s.buf, i)
	if i != len(b) {
		return nil, s.fail(i, "Extra data")
	}
	return v, nil
}

type scanner struct {
	buf      []byte
	str      string // buf as a string when shared is set
	shared   bool
	text     bool // UTF-8 input instead of Latin-1
	maxDepth int
	a        arena
	staging  *[]any // pooled overflow of parse's staging array, or nil
	// stagingHigh is the most items staging has held: the part to clear.
	stagingHigh int
	// borrowed: *staging is the free tail of the arena's Anys chunk from
	// offset borrowAt (the chunk is a.anysFull), and pooled is the slice
	// the pool handed over with staging, given back with it.
	borrowed bool
	borrowAt int
	anysFull []any
	pooled   []any
	// itemsHint bounds the items of any one container: presize's count of
	// ',' plus one.
	itemsHint int
	shape     *Dict // the last small dict found free of duplicate keys
}

// fail builds a SyntaxError at byte offset off, computing Python's line,
// column and character index.
func (s *scanner) fail(off int, msg string) *SyntaxError {
	e := &SyntaxError{Msg: msg, Offset: int64(off)}
	if off > len(s.buf) {
		off = len(s.buf)
	}
	line, col := 1, 0
	for i := 0; i < off; i++ {
		c := s.buf[i]
		if s.text && c&0xC0 == 0x80 {
			continue // a UTF-8 continuation byte is not a character
		}
		e.Char++
		col++
		if c == '\n' {
			line++
			col = 0
		}
	}
	e.Line, e.Column = line, col+1
	return e
}

// skipWS returns the offset of the first byte of b at or after i that is
// not JSON whitespace. It takes b rather than the scanner so that callers
// test the first byte on the slice they already hold in registers.
func skipWS(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i // compact JSON, as Django writes it
	}
	return skipWSSlow(b, i)
}

func skipWSSlow(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (s *scanner) hasPrefix(i int, lit string) bool {
	return len(s.buf)-i >= len(lit) && string(s.buf[i:i+len(lit)]) == lit
}

// parse scans the value starting at i (whitespace already skipped) and
// returns it with the offset just past it.
//
// It is one loop, not a recursive descent: nesting costs a frame entry, not
// Go stack. The items of open containers are staged in a local array until
// their container closes and they are copied to the arena. Escape analysis
// keeps that array on the goroutine stack, and a store indexed straight
// into it is one the compiler knows needs no GC write barrier (a store
// through a slice, which might point to the heap, gets one whenever the
// collector is marking). A document that stages more items than the array
// holds moves them to a pooled heap slice (stage) for the rest of the
// parse. Each frame is base<<1 | isObject, base being where its items start
// in stack.
func (s *scanner) parse(i int) (any, int, error) {
	var stackBuf [128]any
	var framesBuf [32]int
	stack, frames := stackBuf[:0], framesBuf[:0]
	onStack := true // stack is a prefix of stackBuf
	b := s.buf
value:
	for {
		var v any
		if i >= len(b) {
			return nil, i, s.fail(i, "Expecting value")
		}
		switch c := b[i]; c {
		case '"':
			str, j, err := s.stringRaw(i)
			if err != nil {
				return nil, j, err
			}
			v, i = s.a.String(str), j
		case '{', '[':
			if len(frames) >= s.maxDepth {
				e := s.fail(i, "Nesting deeper than "+strconv.Itoa(s.maxDepth))
				e.err = ErrTooDeep
				return nil, i, e
			}
			j := skipWS(b, i+1)
			if c == '[' {
				if j < len(b) && b[j] == ']' {
					v, i = s.a.List(s.a.Slice(0)), j+1
					break
				}
				frames = append(frames, len(stack)<<1)
				i = j
				continue value
			}
			if j < len(b) && b[j] == '}' {
				v, i = s.a.dict(), j+1
				break
			}
			frames = append(frames, len(stack)<<1|1)
			i = j
			goto key
		default:
			var err error
			if c >= '0' && c <= '9' {
				v, i, err = s.number(i)
			} else {
				v, i, err = s.scalar(i)
			}
			if err != nil {
				return nil, i, err
			}
		}
		// v is complete: add it to the innermost open container, closing
		// containers as long as their end follows.
		for {
			if len(frames) == 0 {
				return v, i, nil
			}
			f := frames[len(frames)-1]
			base := f >> 1
			if n := len(stack); onStack && n < len(stackBuf) {
				stackBuf[n] = v
				stack = stackBuf[:n+1]
			} else if !onStack && n < cap(stack) {
				stack = append(stack, v)
			} else {
				stack, onStack = s.stage(stack, v), false
			}
			i = skipWS(b, i)
			if i < len(b) {
				switch c := b[i]; {
				case c == ',':
					i = skipWS(b, i+1)
					if f&1 == 1 {
						goto key
					}
					continue value
				case c == '}' && f&1 == 1:
					if s.borrowed {
						stack = s.unborrow(stack)
					}
					v = s.buildDict(stack[base:])
				case c == ']' && f&1 == 0:
					if n := len(stack) - base; !onStack && n >= donateMin && base <= len(stackBuf) &&
						(2*n >= cap(stack) || s.borrowed) {
						// A long list: its part of the overflow slice becomes
						// the list (see stagingPool), and the items of the
						// outer containers go back to the local array.
						// (Sliced from s.staging, the same memory as stack:
						// keeping stack itself would move stackBuf to the heap.)
						top := len(stack)
						v = s.a.List((*s.staging)[base:top:top])
						copy(stackBuf[:base], stack[:base])
						stack, onStack = stackBuf[:base], true
						s.dropStaging(top)
						break
					}
					if s.borrowed {
						stack = s.unborrow(stack)
					}
					l := s.a.Slice(len(stack) - base)
					copy(l, stack[base:])
					v = s.a.List(l)
				default:
					return nil, i, s.fail(i, "Expecting ',' delimiter")
				}
				if !onStack {
					s.stagingHigh = max(s.stagingHigh, len(stack))
				}
				stack = stack[:base]
				frames = frames[:len(frames)-1]
				i++
				continue
			}
			return nil, i, s.fail(i, "Expecting ',' delimiter")
		}
		// The next key of the innermost object, which starts at i.
	key:
		var k any
		j := 0
		// A cached key followed by ':' needs no call (see key).
		if s.shared && i+9 <= len(b) && b[i] == '"' {
			c := &s.a.keys[keyIndex(b[i+1], b[i+2])]
			if e := i + 2 + len(c.text); c.mask != 0 && e < len(b) && b[e] == ':' &&
				binary.LittleEndian.Uint64(b[i+1:])&c.mask == c.word {
				k, j = c.box, skipWS(b, e+1)
			}
		}
		if k == nil {
			var err error
			if k, j, err = s.key(i); err != nil {
				return nil, j, err
			}
		}
		if n := len(stack); onStack && n < len(stackBuf) {
			stackBuf[n] = k
			stack = stackBuf[:n+1]
		} else if !onStack && n < cap(stack) {
			stack = append(stack, k)
		} else {
			stack, onStack = s.stage(stack, k), false
		}
		i = j
	}
}

// The items of open containers outgrow parse's on-stack array only in a
// long list or dict. The overflow goes, when it has room, to the free tail
// of the arena's Anys chunk, which presize reserved for these very items;
// otherwise to a slice sized from presize's count of items, taken from a
// pool rather than grown by append (which for a list of 2000 strings would
// make more garbage than the list itself, per decode). A list of at least
// donateMin items keeps its part of the overflow slice as its own memory
// (see parse) when that wastes nothing (the arena takes back the tail past
// the list) or at most half the slice: copying it out and clearing the
// slice would write every item twice more, and each such write of a
// pointer costs a write barrier while the collector marks.
var stagingPool = sync.Pool{New: func() any { return new([]any) }}

const (
	// maxStaging is the largest staging slice the pool keeps.
	maxStaging = 1 << 16
	// donateMin is the shortest list that takes over the staging slice.
	donateMin = 256
)

// stage appends v to the staged items stack in the pooled slice, copying
// them there first if they are still in parse's array, and returns the
// pooled slice. (It only reads stack: returning or keeping it would make
// parse's array escape to the heap.)
func (s *scanner) stage(stack []any, v any) []any {
	if s.staging == nil {
		s.staging = stagingPool.Get().(*[]any)
		buf := *s.staging
		need := max(2*len(stack), min(s.itemsHint, maxStaging))
		if a := s.a.Anys; cap(a)-len(a) >= max(2*len(stack), donateMin) {
			// presize reserved arena slots for the items to come: stage
			// them there, so that a long list taking over the staging
			// slice uses its own reservation. Slice allocates from a new
			// chunk meanwhile.
			s.borrowed, s.borrowAt, s.anysFull, s.pooled = true, len(a), a, buf
			buf = a[len(a):len(a):cap(a)]
			s.a.Anys = a[:len(a):len(a)]
		} else if cap(buf) < need {
			buf = make([]any, 0, need)
		}
		*s.staging = append(buf[:0], stack...)
	}
	buf := (*s.staging)[:len(stack)]
	if len(buf) == cap(buf) {
		if s.borrowed {
			buf = s.unborrow(buf)
		} else {
			// The old slice is garbage now; release clears the new one.
			buf = append(make([]any, 0, 2*len(buf)), buf...)
		}
	}
	buf = append(buf, v)
	*s.staging = buf
	return buf
}

// releaseStaging clears the pooled staging area, so that the pool keeps no
// decoded value reachable, and gives it back. After a successful parse the
// items staged reach no further than stagingHigh, the most there were when
// a container closed; after a failed one the whole slice is cleared.
func (s *scanner) releaseStaging(failed bool) {
	if s.staging == nil {
		return
	}
	buf := *s.staging
	if failed {
		s.stagingHigh = cap(buf)
	}
	clear(buf[:s.stagingHigh])
	if s.borrowed {
		*s.staging = s.pooled
	}
	if cap(*s.staging) <= maxStaging {
		stagingPool.Put(s.staging)
	}
	s.resetStaging()
}

// dropStaging lets go of the staging slice, now the memory of a list that
// ends at offset top. A borrowed arena tail goes back to the arena past the
// list: the list takes its part of the tail whatever its share of it, as
// the rest is not wasted.
func (s *scanner) dropStaging(top int) {
	if s.borrowed {
		s.a.Anys = s.anysFull[:s.borrowAt+top]
		*s.staging = s.pooled
	} else {
		*s.staging = nil
	}
	stagingPool.Put(s.staging)
	s.resetStaging()
}

// unborrow moves the items staged in a borrowed arena tail to a slice of
// the pool's (or a new one) and gives the arena its whole tail back, before
// anything else is carved from it: a dict or a short list closing, or the
// tail filling up. It returns the new staging slice; nothing reads the old
// copies after that, so the arena may overwrite them.
//
// (The outer items left below a list that takes over its part of the tail
// stay behind as stale copies: they only keep values of the same decode
// reachable, which share its chunks anyway.)
func (s *scanner) unborrow(stack []any) []any {
	buf := s.pooled
	if need := max(2*len(stack), min(s.itemsHint, maxStaging)); cap(buf) < need {
		buf = make([]any, 0, need)
	}
	buf = append(buf[:0], stack...)
	s.a.Anys = s.anysFull[:s.borrowAt]
	*s.staging = buf
	s.borrowed, s.borrowAt, s.anysFull, s.pooled = false, 0, nil, nil
	return buf
}

func (s *scanner) resetStaging() {
	s.staging, s.stagingHigh = nil, 0
	s.borrowed, s.borrowAt, s.anysFull, s.pooled = false, 0, nil, nil
}

// key scans an object key at i and the ':' after it, returning the key and
// the offset of the value.
func (s *scanner) key(i int) (any, int, error) {
	b := s.buf
	if i >= len(b) || b[i] != '"' {
		return nil, i, s.fail(i, "Expecting property name enclosed in double quotes")
	}
	var kv any
	j := 0
	if s.shared && i+2 < len(b) {
		// A cached key is plain text, so input bytes equal to it followed
		// by '"' are that same key.
		c := &s.a.keys[keyIndex(b[i+1], b[i+2])]
		if c.mask != 0 && i+9 <= len(b) {
			if binary.LittleEndian.Uint64(b[i+1:])&c.mask == c.word {
				kv, j = c.box, i+2+len(c.text)
			}
		} else if t := c.text; c.box != nil && len(b)-(i+1) > len(t) &&
			b[i+1+len(t)] == '"' && string(b[i+1:i+1+len(t)]) == t {
			kv, j = c.box, i+2+len(t)
		}
	}
	if kv == nil {
		k, e, err := s.stringRaw(i)
		if err != nil {
			return nil, e, err
		}
		kv, j = s.a.String(k), e
		if s.shared && len(k) >= 2 && unsafe.StringData(k) == &b[i+1] {
			s.a.keys[keyIndex(k[0], k[1])].set(kv, k)
		}
	}
	j = skipWS(b, j)
	if j >= len(b) || b[j] != ':' {
		return nil, j, s.fail(j, "Expecting ':' delimiter")
	}
	return kv, skipWS(b, j+1), nil
}

// scalar scans a number or constant at i.
func (s *scanner) scalar(i int) (any, int, error) {
	switch c := s.buf[i]; c {
	case 'n':
		if s.hasPrefix(i, "null") {
			return nil, i + 4, nil
		}
	case 't':
		if s.hasPrefix(i, "true") {
			return true, i + 4, nil
		}
	case 'f':
		if s.hasPrefix(i, "false") {
			return false, i + 5, nil
		}
	case 'N':
		if s.hasPrefix(i, "NaN") {
			return s.a.Float(math.NaN()), i + 3, nil
		}
	case 'I':
		if s.hasPrefix(i, "Infinity") {
			return s.a.Float(math.Inf(1)), i + 8, nil
		}
	case '-':
		if s.hasPrefix(i, "-Infinity") {
			return s.a.Float(math.Inf(-1)), i + 9, nil
		}
		return s.number(i)
	default:
		if c >= '0' && c <= '9' {
			return s.number(i)
		}
	}
	return nil, i, s.fail(i, "Expecting value")
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? exactly as
// CPython's scanner: an incomplete fraction or exponent is left unconsumed.
func (s *scanner) number(start int) (any, int, error) {
	b := s.buf
	i := start
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return nil, start, s.fail(start, "Expecting value")
	}
	digitStart := i
	var u uint64 // the integer part, exact when it has at most 19 digits
	if b[i] >= '1' && b[i] <= '9' {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			u = u*10 + uint64(b[i]-'0')
			i++
		}
	} else if b[i] == '0' {
		i++
	} else {
		return nil, start, s.fail(start, "Expecting value")
	}
	intEnd := i
	isFloat := false
	fracDigits := -1 // no fraction
	mant := u        // integer and fraction digits, exact when there are at most 19
	if i+1 < len(b) && b[i] == '.' && b[i+1] >= '0' && b[i+1] <= '9' {
		i++
		fracStart := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			mant = mant*10 + uint64(b[i]-'0')
			i++
		}
		fracDigits = i - fracStart
		isFloat = true
	}
	if fracDigits >= 0 && intEnd-digitStart+fracDigits <= 15 &&
		(i >= len(b) || b[i] != 'e' && b[i] != 'E') {
		// Clinger's fast path (see fastFloat) on the digits just read: at
		// most 15 of them, so mant and 10^fracDigits are exact float64s
		// and one division rounds correctly.
		f := float64(mant) / exactPow10[fracDigits]
		if digitStart > start {
			f = -f
		}
		return s.a.Float(f), i, nil
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		j := i + 1
		if j < len(b) && (b[j] == '-' || b[j] == '+') {
			j++
		}
		k := j
		for k < len(b) && b[k] >= '0' && b[k] <= '9' {
			k++
		}
		if k > j {
			i = k
			isFloat = true
		}
	}
	if isFloat {
		if f, ok := fastFloat(b[start:i]); ok {
			return s.a.Float(f), i, nil
		}
		var f float64
		var err error
		if s.shared {
			f, err = strconv.ParseFloat(s.str[start:i], 64)
		} else {
			f, err = strconv.ParseFloat(string(b[start:i]), 64)
		}
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, start, s.fail(start, "Expecting value")
		}
		// ParseFloat's out-of-range results (±Inf, ±0) are what Python's
		// float() returns for the same text.
		return s.a.Float(f), i, nil
	}
	if intEnd-digitStart <= 18 { // fits whatever the digits
		n := int64(u)
		if digitStart > start {
			n = -n
		}
		return s.a.Int(n), i, nil
	}
	digits := b[start:intEnd]
	nd := len(digits)
	if digits[0] == '-' {
		nd--
	}
	if nd > maxIntDigits {
		e := s.fail(start, "Exceeds the limit (4300 digits) for integer string conversion: value has "+
			strconv.Itoa(nd)+" digits; use sys.set_int_max_str_digits() to increase the limit")
		e.err = ErrIntTooLong
		return nil, start, e
	}
	if nd <= 19 {
		var u uint64 // 19 digits fit in a uint64
		for _, c := range digits[len(digits)-nd:] {
			u = u*10 + uint64(c-'0')
		}
		if digits[0] != '-' && u <= math.MaxInt64 {
			return s.a.Int(int64(u)), i, nil
		}
		if digits[0] == '-' && u <= 1<<63 {
			return s.a.Int(int64(-u)), i, nil
		}
	}
	z, ok := new(big.Int).SetString(string(digits), 10)
	if !ok {
		return nil, start, s.fail(start, "Expecting value")
	}
	return z, i, nil
}

// exactPow10 are the powers of ten a float64 holds exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastFloat converts a well-formed JSON number (already scanned) when
// Clinger's fast path applies: at most 15 significant digits and a decimal
// exponent within ±22, so that the digits and the power of ten are exact
// float64s and one IEEE multiplication or division rounds correctly — the
// same result as strconv.ParseFloat and Python's float(). ok is false
// otherwise.
func fastFloat(b []byte) (f float64, ok bool) {
	neg := b[0] == '-'
	i := 0
	if neg {
		i = 1
	}
	var mant uint64
	nd, exp := 0, 0
	afterDot := false
	for ; i < len(b) && b[i] != 'e' && b[i] != 'E'; i++ {
		c := b[i]
		if c == '.' {
			afterDot = true
			continue
		}
		if nd > 0 || c != '0' {
			nd++ // significant digits: leading zeros do not count
			if nd > 15 {
				return 0, false
			}
		}
		mant = mant*10 + uint64(c-'0')
		if afterDot {
			exp--
		}
	}
	if i < len(b) { // exponent
		i++
		eneg := false
		if b[i] == '-' || b[i] == '+' {
			eneg = b[i] == '-'
			i++
		}
		e := 0
		for ; i < len(b); i++ {
			e = e*10 + int(b[i]-'0')
			if e > 1000 {
				return 0, false
			}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	f = float64(mant)
	switch {
	case exp == 0:
	case exp > 0 && exp <= 22:
		f *= exactPow10[exp]
	case exp < 0 && exp >= -22:
		f /= exactPow10[-exp]
	default:
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// appendWTF8 appends r as UTF-8, writing a surrogate as its generalized
// three-byte form, which utf8.AppendRune would replace with U+FFFD.
func appendWTF8(dst []byte, r rune) []byte {
	if r >= 0xD800 && r <= 0xDFFF {
		return append(dst, 0xED, byte(0x80|(r>>6)&0x3F), byte(0x80|r&0x3F))
	}
	return utf8.AppendRune(dst, r)
}

func (s *scanner) stringRaw(start int) (string, int, error) {
	b := s.buf
	i := start + 1
	// Fast path: plain ASCII (or any UTF-8 in text mode) up to the closing
	// quote is the string itself. Skip eight ordinary bytes at a time.
	hi := uint64(0x8080808080808080)
	if s.text {
		hi = 0
	}
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		const ones = 0x0101010101010101
		const highs = 0x8080808080808080
		q := x ^ (ones * '"')
		bs := x ^ (ones * '\\')
		// A byte is special if it is '"', '\\', < 0x20 or (Latin-1) >= 0x80;
		// the classic "has zero byte" tests, exact because any byte
		// >= 0x80 is caught by the final term or excluded by ^x.
		special := ((q-ones)&^q | (bs-ones)&^bs | (x-ones*0x20)&^x) & highs
		special |= x & hi
		if special != 0 {
			// The lowest flagged byte is exact (the borrows of these
			// tests only flag bytes above a true hit): if it is the
			// closing quote, the string is plain.
			i += bits.TrailingZeros64(special) >> 3
			if b[i] == '"' {
				if s.shared {
					return s.str[start+1 : i], i + 1, nil
				}
				return string(b[start+1 : i]), i + 1, nil
			}
			break
		}
		i += 8
	}
	for i < len(b) {
		c := b[i]
		if c == '"' {
			if s.shared {
				return s.str[start+1 : i], i + 1, nil
			}
			return string(b[start+1 : i]), i + 1, nil
		}
		if c == '\\' || c < 0x20 || c >= 0x80 && !s.text {
			break
		}
		i++
	}
	// The decoded text is at most twice the remaining raw text (Latin-1
	// bytes become two UTF-8 bytes; escapes only shrink).
	end := bytes.IndexByte(b[i:], '"') // an estimate: '"' may be escaped
	if end < 0 {
		end = len(b) - i
	}
	out := s.a.beginText(2*end + (i - start))
	tstart := len(out)
	out = append(out, b[start+1:i]...)
	for {
		if i >= len(b) {
			return "", start, s.fail(start, "Unterminated string starting at")
		}
		c := b[i]
		switch {
		case c == '"':
			return s.a.endText(out, tstart), i + 1, nil
		case c < 0x20:
			return "", i, s.fail(i, "Invalid control character at")
		case c >= 0x80 && !s.text:
			out = append(out, 0xC0|c>>6, 0x80|c&0x3F)
			i++
		case c != '\\':
			// Copy the whole run of ordinary bytes at once.
			j := i + 1
			for j < len(b) {
				c := b[j]
				if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 && !s.text {
					break
				}
				j++
			}
			out = append(out, b[i:j]...)
			i = j
		default:
			i++
			if i >= len(b) {
				return "", start, s.fail(start, "Unterminated string starting at")
			}
			switch e := b[i]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				// CPython wants a character after the four digits.
				if i+5 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return "", i, s.fail(i, "Invalid \\uXXXX escape")
				}
				r := hex4(b[i+1:])
				i += 4
				// CPython joins a high surrogate with an immediately
				// following \u low surrogate, requiring one more
				// character after it; otherwise both stay lone.
				if r >= 0xD800 && r <= 0xDBFF && i+7 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					if !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) || !isHex(b[i+6]) {
						return "", i + 2, s.fail(i+2, "Invalid \\uXXXX escape")
					}
					if r2 := hex4(b[i+3:]); r2 >= 0xDC00 && r2 <= 0xDFFF {
						r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
						i += 6
					}
				}
				out = appendWTF8(out, r)
			default:
				return "", i - 1, s.fail(i-1, "Invalid \\escape")
			}
			i++
		}
	}
}

// buildDict makes a Dict from alternating string keys and values, taking
// its slices from the arena. Only when a key repeats does it fall back to
// Set's semantics (first position, last value), as Python's dict(pairs).
// sameShape reports whether the keys of the staged items kv (key, value,
// key, value ...) are the keys of s.shape, compared by the address of their
// boxes: the same boxed strings, hence the same texts.
func (s *scanner) sameShape(kv []any) bool {
	if s.shape == nil || 2*len(s.shape.keys) != len(kv) {
		return false
	}
	for i, k := range s.shape.keys {
		if slab.Data(kv[2*i]) != slab.Data(k) {
			return false
		}
	}
	return true
}

func (s *scanner) buildDict(kv []any) *Dict {
	n := len(kv) / 2
	d := s.a.dict()
	if n > 0 && s.sameShape(kv) {
		// The keys of the last small dict, box for box, which were free
		// of duplicates: a list of records repeats them, all from the
		// key cache (see arena.keys). The dicts share one keys slice.
		vals := s.a.Slice(n)
		for i := range vals {
			vals[i] = kv[2*i+1]
		}
		d.keys, d.vals, d.sharedKeys = s.shape.keys, vals, true
		s.shape.sharedKeys = true
		return d
	}
	all := s.a.Slice(2 * n)
	keys, vals := all[:n:n], all[n:]
	for i := 0; i < n; i++ {
		keys[i], vals[i] = kv[2*i], kv[2*i+1]
	}
	d.keys, d.vals = keys, vals
	dup := false
	if n <= linearLimit {
		// Compare cheap signatures (length, first and last byte) first;
		// only equal signatures need a string comparison, and a 64-bit
		// filter of the signatures seen tells when none can be equal.
		var strs [linearLimit]string
		var sigs [linearLimit]uint64
		var seen uint64
	scan:
		for i := 0; i < n; i++ {
			k := keys[i].(string)
			sig := uint64(len(k))
			if len(k) > 0 {
				sig |= uint64(k[0])<<48 | uint64(k[len(k)-1])<<56
			}
			bit := uint64(1) << ((sig * 0x9E3779B97F4A7C15) >> 58)
			if seen&bit != 0 {
				for j := 0; j < i; j++ {
					if sigs[j] == sig && strs[j] == k {
						dup = true
						break scan
					}
				}
			}
			seen |= bit
			strs[i], sigs[i] = k, sig
		}
		if !dup {
			s.shape = d
		}
	} else {
		dup = hasDuplicate(keys)
		if !dup && n > indexLimit {
			d.reindex()
		}
	}
	if dup {
		*d = Dict{}
		for i := 0; i < len(kv); i += 2 {
			d.Set(kv[i], kv[i+1])
		}
	}
	return d
}

// hasDuplicate reports whether two of keys (strings) are equal, with an
// open-addressing set of indices that lives on the stack for small dicts.
func hasDuplicate(keys []any) bool {
	size := 64
	for size < 2*len(keys) {
		size *= 2
	}
	var small [64]int32
	var table []int32
	if size == len(small) {
		table = small[:]
	} else {
		table = make([]int32, size)
	}
	mask := uint64(size - 1)
	for i, k := range keys {
		ks := k.(string)
		h := maphash.String(hashSeed, ks) & mask
		for {
			j := table[h]
			if j == 0 {
				table[h] = int32(i + 1)
				break
			}
			if keys[j-1].(string) == ks {
				return true
			}
			h = (h + 1) & mask
		}
	}
	return false
}

// hashSeed seeds hasDuplicate's hashing; random per process so that input
// cannot be crafted to collide. Set once at init, read-only after.
var hashSeed = maphash.MakeSeed()

// indexLimit is the size above which a decoded dict gets its hash index at
// once. Smaller dicts are searched linearly until they are next modified:
// building the index costs more than the few lookups a session gets.
const indexLimit = 256
