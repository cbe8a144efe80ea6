package pickle_compat

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/djsession/djsession/pyvalue"
)

func le32(n uint32) []byte { b := make([]byte, 4); binary.LittleEndian.PutUint32(b, n); return b }
func le64(n uint64) []byte { b := make([]byte, 8); binary.LittleEndian.PutUint64(b, n); return b }

func cat(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch x := p.(type) {
		case string:
			b = append(b, x...)
		case []byte:
			b = append(b, x...)
		case byte:
			b = append(b, x)
		case int:
			b = append(b, byte(x))
		case rune:
			b = append(b, byte(x))
		}
	}
	return b
}

// TestHostile feeds malicious and broken pickles: each must fail with the
// expected typed error (or load as an inert value), quickly and without
// allocating what the input merely declares.
func TestHostile(t *testing.T) {
	deepList := func(n int) []byte {
		b := []byte{0x80, 4}
		for i := 0; i < n; i++ {
			b = append(b, opEmptyList)
		}
		for i := 0; i < n-1; i++ {
			b = append(b, opAppend)
		}
		return append(b, opStop)
	}
	deepTuple := func(n int) []byte {
		b := []byte{0x80, 4, opEmptyTuple}
		for i := 0; i < n; i++ {
			b = append(b, opTuple1)
		}
		return append(b, opStop)
	}
	// memo bomb: L0 = [1]; Li = [Li-1, Li-1]; the unfolded value has 2^60
	// leaves but only 61 lists exist.
	memoBomb := func(n int) []byte {
		b := []byte{0x80, 4, opEmptyList, opMemoize, opBinInt1, 1, opAppend}
		for i := 0; i < n; i++ {
			b = append(b, opEmptyList, opMemoize, opMark, opLongBinGet)
			b = append(b, le32(uint32(2*i))...)
			b = append(b, opLongBinGet)
			b = append(b, le32(uint32(2*i))...)
			b = append(b, opAppends, opPop, opLongBinGet)
			b = append(b, le32(uint32(2*i+1))...)
			b = append(b, opMemoize)
		}
		return append(b, opStop)
	}
	tests := []struct {
		name string
		in   []byte
		want error // nil: must succeed
	}{
		{"empty", nil, ErrTruncated},
		{"no STOP", []byte{0x80, 5, opNone}, ErrTruncated},
		{"BINUNICODE declares 4 GiB", cat(0x80, 2, opBinUnicode, le32(0xFFFFFFFF), "abc"), ErrTruncated},
		{"BINUNICODE8 declares 2^63", cat(0x80, 4, opBinUnicode8, le64(1<<63), "abc"), ErrTruncated},
		{"BINBYTES8 declares 2^64-1", cat(0x80, 4, opBinBytes8, le64(^uint64(0)), "x"), ErrTruncated},
		{"BYTEARRAY8 declares 1 TiB", cat(0x80, 5, opByteArray8, le64(1<<40)), ErrTruncated},
		{"SHORT_BINBYTES past end", cat(0x80, 4, opShortBinBytes, 255, "abc"), ErrTruncated},
		{"LONG4 huge", cat(0x80, 2, opLong4, le32(0x7FFFFFFF), "\x01\x02"), ErrTruncated},
		{"LONG4 negative length", cat(0x80, 2, opLong4, le32(0xFFFFFFFF), "\x01"), ErrMalformed},
		{"FRAME past end", cat(0x80, 4, opFrame, le64(1<<40), opNone, opStop), ErrTruncated},
		{"FRAME truncated header", cat(0x80, 4, opFrame, "\x05\x00"), ErrTruncated},
		{"LONG_BINPUT 4G index", cat(0x80, 2, opNone, opLongBinPut, le32(0xFFFFFFFF), opStop), ErrLimit},
		{"PUT huge index", cat(0x80, 2, opNone, "p99999999999\n", opStop), ErrLimit},
		{"GET missing", cat(0x80, 2, opBinGet, 3, opStop), ErrMalformed},
		{"deep lists", deepList(5000), ErrLimit},
		{"deep tuples", deepTuple(5000), ErrLimit},
		{"memo bomb DAG", memoBomb(60), nil},
		{"list contains itself", cat(0x80, 4, opEmptyList, opMemoize, opBinGet, 0, opAppend, opStop), ErrRecursive},
		{"dict contains itself", cat(0x80, 4, opEmptyDict, opMemoize, opBinInt1, 1, opBinGet, 0, opSetItem, opStop), ErrRecursive},
		{"cycle through two dicts", cat(0x80, 4, opEmptyDict, opMemoize, opBinInt1, 1, opEmptyDict, opMemoize,
			opBinInt1, 2, opBinGet, 0, opSetItem, opSetItem, opStop), ErrRecursive},
		{"object is its own state", cat(0x80, 4, "\x8c\x01m\x8c\x01C", opStackGlobal, opEmptyTuple, opNewObj, opMemoize, opBinGet, 0, opBuild, opStop), ErrRecursive},
		{"int text too long", cat(0x80, 2, "I", strings.Repeat("9", 5000), "\n", opStop), ErrLimit},
		{"persistent id", cat(0x80, 2, "Pabc\n", opStop), ErrUnsupported},
		{"binpersid", cat(0x80, 2, opNone, opBinPersID, opStop), ErrUnsupported},
		{"ext registry", cat(0x80, 2, opExt1, 1, opStop), ErrUnsupported},
		{"out-of-band buffer", cat(0x80, 5, opNextBuffer, opStop), ErrUnsupported},
		{"unknown opcode", cat(0x80, 5, 0xFF), ErrUnsupported},
		{"protocol 6", cat(0x80, 6, opNone, opStop), ErrUnsupported},
		{"stack underflow", cat(0x80, 2, opAppend, opStop), ErrMalformed},
		{"pop below mark", cat(0x80, 2, opNone, opMark, opDup, opStop), ErrMalformed},
		{"SETITEMS without MARK", cat(0x80, 2, opEmptyDict, opSetItems, opStop), ErrMalformed},
		{"unhashable key", cat(0x80, 2, opEmptyDict, opEmptyList, opNone, opSetItem, opStop), ErrMalformed},
		{"invalid UTF-8", cat(0x80, 4, opShortBinUnicode, 2, "\xff\xfe", opStop), ErrMalformed},
		{"py2 str not ASCII", cat(0x80, 2, opShortBinString, 1, "\xe9", opStop), ErrMalformed},
		{"REDUCE non-callable", cat(0x80, 2, opNone, opEmptyTuple, opReduce, opStop), ErrMalformed},
		{"REDUCE args not tuple", cat(0x80, 4, "\x8c\x01m\x8c\x01f", opStackGlobal, opNone, opReduce, opStop), ErrMalformed},
		{"bad datetime args", cat(0x80, 4, "\x8c\x08datetime\x8c\x08datetime", opStackGlobal, opBinInt1, 1, opTuple1, opReduce, opStop), ErrMalformed},
		{"timezone offset 24h", cat(0x80, 4, "\x8c\x08datetime\x8c\x08timezone", opStackGlobal,
			"\x8c\x08datetime\x8c\x09timedelta", opStackGlobal, opBinInt1, 1, opTuple1, opReduce, opTuple1, opReduce, opStop), ErrMalformed},
		{"bad decimal", cat(0x80, 4, "\x8c\x07decimal\x8c\x07Decimal", opStackGlobal, "\x8c\x03abc", opTuple1, opReduce, opStop), ErrMalformed},
		{"STACK_GLOBAL non-str", cat(0x80, 4, opNone, opNone, opStackGlobal, opStop), ErrMalformed},
		{"BUILD on a dict", cat(0x80, 4, opEmptyDict, opEmptyDict, opBuild, opStop), ErrMalformed},
		{"truncated in opcode arg", cat(0x80, 4, opBinInt), ErrTruncated},
		{"readline without newline", cat(0x80, 2, "I12"), ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Loads(tt.in)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Loads: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Loads = %v, %v; want error wrapping %v", pyvalue.Repr(v), err, tt.want)
			}
		})
	}
}

// TestDangerousGlobals: globals that would run code when resolved by
// CPython are read as inert Objects (never resolved, never called), or
// refused under StrictGlobals.
func TestDangerousGlobals(t *testing.T) {
	tests := []struct {
		name, module, fn string
		in               []byte
	}{
		{"os.system proto 0", "os", "system", []byte("cos\nsystem\n(S'touch /tmp/pwned'\ntR.")},
		{"posix.system proto 2", "posix", "system", cat(0x80, 2, "cposix\nsystem\n", opShortBinString, 6, "id >&2", opTuple1, opReduce, opStop)},
		{"builtins.eval proto 4", "builtins", "eval", cat(0x80, 4, "\x8c\x08builtins\x8c\x04eval", opStackGlobal, "\x8c\x10__import__('os')", opTuple1, opReduce, opStop)},
		{"__builtin__.eval proto 2 (Python 2 name)", "builtins", "eval", cat(0x80, 2, "c__builtin__\neval\n", opShortBinString, 1, "1", opTuple1, opReduce, opStop)},
		{"subprocess.Popen NEWOBJ", "subprocess", "Popen", cat(0x80, 4, "\x8c\x0asubprocess\x8c\x05Popen", opStackGlobal, "\x8c\x02ls", opTuple1, opNewObj, opStop)},
		{"subprocess.check_output INST", "subprocess", "check_output", []byte("(S'ls'\nisubprocess\ncheck_output\n.")},
		{"getattr(os, system)", "", "", cat(0x80, 4, "\x8c\x08builtins\x8c\x07getattr", opStackGlobal, "\x8c\x02os\x8c\x04path", opStackGlobal, "\x8c\x06system", opTuple2, opReduce, "\x8c\x02id", opTuple1, opReduce, opStop)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Loads(tt.in)
			if err != nil {
				t.Fatalf("Loads: %v", err)
			}
			o, ok := v.(*pyvalue.Object)
			if !ok {
				t.Fatalf("got %s, want an inert *pyvalue.Object", pyvalue.TypeName(v))
			}
			if tt.module != "" && !o.Is(tt.module, tt.fn) {
				t.Errorf("object names %s, want %s.%s", o.PythonType(), tt.module, tt.fn)
			}
			var strict Decoder
			strict.StrictGlobals = true
			if _, err := strict.Loads(tt.in); !errors.Is(err, ErrGlobal) {
				t.Errorf("StrictGlobals: %v, want ErrGlobal", err)
			}
			var ge *GlobalError
			if _, err := strict.Loads(tt.in); !errors.As(err, &ge) {
				t.Errorf("StrictGlobals error is not a *GlobalError: %v", err)
			}
		})
	}
	// The allow-listed types still load under StrictGlobals.
	in, _ := Dumps(pyvalue.DateTime{Year: 2023, Month: 11, Day: 14, TZ: pyvalue.UTC()}, 5)
	var strict Decoder
	strict.StrictGlobals = true
	if _, err := strict.Loads(in); err != nil {
		t.Errorf("StrictGlobals refused a datetime: %v", err)
	}
}

// TestLimits checks the Decoder fields.
func TestLimits(t *testing.T) {
	in, _ := Dumps([]any{"x", []any{[]any{1}}}, 5)
	if _, err := (&Decoder{MaxDepth: 2}).Loads(in); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxDepth 2: %v", err)
	}
	if _, err := (&Decoder{MaxDepth: 3}).Loads(in); err != nil {
		t.Errorf("MaxDepth 3: %v", err)
	}
	if _, err := (&Decoder{MaxBytes: 10}).Loads(in); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxBytes 10: %v", err)
	}
	big, _ := Dumps(strings.Repeat("y", 1000), 5)
	if _, err := (&Decoder{MaxBytes: 1010}).Loads(big); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxBytes over decoded size: %v", err)
	}
	var le *LimitError
	if _, err := (&Decoder{MaxMemo: 2}).Loads(in); !errors.As(err, &le) || le.Limit != "MaxMemo" {
		t.Errorf("MaxMemo 2: %v", err)
	}
	// the encoder refuses nesting deeper than MaxDepth
	deep := any(1)
	for i := 0; i < 50; i++ {
		deep = []any{deep}
	}
	if _, err := (&Encoder{MaxDepth: 10}).Dumps(deep); !errors.Is(err, ErrLimit) {
		t.Errorf("Encoder MaxDepth: %v", err)
	}
}

// TestTruncations cuts valid pickles at every byte: every prefix must fail
// with a typed error, never panic.
func TestTruncations(t *testing.T) {
	for _, e := range loadExpected(t) {
		if e.File != "pickle.json" || e.Error != "" {
			continue
		}
		b, _ := hex.DecodeString(e.PickleHex)
		for i := 0; i < len(b)-1; i++ {
			_, err := Loads(b[:i])
			if err == nil {
				t.Fatalf("%x: prefix %d loaded", b, i)
			}
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("%x: prefix %d: untyped error %v", b, i, err)
			}
		}
	}
}

// TestWriterCycles: a value that contains itself is written with the memo,
// as CPython writes it, and reading it back is refused as recursive.
func TestWriterCycles(t *testing.T) {
	d := pyvalue.NewDict(1)
	d.Set("self", d)
	b, err := Dumps(d, 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := "8005950d000000000000007d948c0473656c66946800732e"; hex.EncodeToString(b) != want {
		t.Errorf("got %x, want %s", b, want)
	}
	if _, err := Loads(b); !errors.Is(err, ErrRecursive) {
		t.Errorf("Loads: %v", err)
	}
}

func TestEncoderErrors(t *testing.T) {
	for _, v := range []any{map[string]any{}, struct{}{}, make(chan int), (*pyvalue.Dict)(nil)} {
		if _, err := Dumps(v, 5); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Dumps(%T) = %v", v, err)
		}
	}
	if _, err := Dumps(1, 1); !errors.Is(err, ErrUnsupported) {
		t.Errorf("protocol 1: %v", err)
	}
	if _, err := Dumps(&pyvalue.Object{Kind: pyvalue.ObjectGlobal, Module: "a\nb", Name: "c"}, 2); !errors.Is(err, ErrUnsupported) {
		t.Errorf("newline in global: %v", err)
	}
}

func FuzzLoads(f *testing.F) {
	for _, e := range loadExpected(f) {
		b, _ := hex.DecodeString(e.PickleHex)
		f.Add(b)
	}
	f.Add([]byte("cos\nsystem\n(S'x'\ntR."))
	f.Add(cat(0x80, 4, opEmptyList, opMemoize, opBinGet, 0, opAppend, opStop))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := Decoder{MaxBytes: 1 << 20}
		v, err := d.Loads(b)
		if err != nil {
			for _, base := range []error{ErrTruncated, ErrLimit, ErrMalformed, ErrRecursive, ErrUnsupported, ErrGlobal} {
				if errors.Is(err, base) {
					return
				}
			}
			t.Fatalf("untyped error: %v", err)
		}
		_ = pyvalue.Repr(v)
		out, err := Dumps(v, 5)
		if err != nil {
			if errors.Is(err, ErrUnsupported) || errors.Is(err, ErrLimit) {
				return
			}
			t.Fatalf("Dumps of a loaded value: %v", err)
		}
		again, err := d.Loads(out)
		if err != nil {
			t.Fatalf("Loads(Dumps(v)): %v\n%x", err, out)
		}
		if g, w := canon(tag(again)), canon(tag(v)); g != w {
			t.Fatalf("round trip changed the value\n got: %s\nwant: %s", g, w)
		}
		out2, err := Dumps(again, 5)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("second Dumps differs: %v", err)
		}
	})
}
