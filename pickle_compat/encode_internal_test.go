package pickle_compat

import (
	"bytes"
	"math"
	"math/big"
	"testing"

	"github.com/djsession/djsession/pyvalue"
)

// saveLong64 (the int64 fast path) must write exactly what the big.Int
// encode_long path writes, at every byte-length boundary.
func TestSaveLong64MatchesBig(t *testing.T) {
	vals := []int64{math.MinInt64, math.MinInt64 + 1, math.MaxInt64, math.MaxInt32 + 1, math.MinInt32 - 1}
	for k := 31; k < 63; k++ {
		vals = append(vals, 1<<k, -(1 << k), 1<<k-1, -(1<<k)+1, -(1<<k)-1, 1<<k+1)
	}
	for _, x := range vals {
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			continue // BININT, not LONG1
		}
		fast, slow := &pickler{}, &pickler{}
		fast.saveLong64(x)
		slow.saveBig(big.NewInt(x))
		if !bytes.Equal(fast.buf, slow.buf) {
			t.Errorf("%d: saveLong64 %x, saveBig %x", x, fast.buf, slow.buf)
		}
	}
}

// Dumps and Loads reuse pooled buffers: what they return must not be
// touched by later calls.
func TestPooledStateNotShared(t *testing.T) {
	a := pyvalue.NewDict(2)
	a.Set("key", "first value")
	a.Set("list", []any{int64(1000), 2.5, "x"})
	b := pyvalue.NewDict(1)
	b.Set("other", []any{"zzzzzzzzzzzzzzzzzzzzzzzzzzzz", int64(-70000)})
	pa, err := Dumps(a, 5)
	if err != nil {
		t.Fatal(err)
	}
	keep := append([]byte(nil), pa...)
	va, err := Loads(pa)
	if err != nil {
		t.Fatal(err)
	}
	before := pyvalue.Repr(va)
	for i := 0; i < 10; i++ {
		pb, err := Dumps(b, 5)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Loads(pb); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(pa, keep) {
		t.Errorf("a later Dumps changed an earlier result: %x, was %x", pa, keep)
	}
	if after := pyvalue.Repr(va); after != before {
		t.Errorf("a later Loads changed an earlier value: %s, was %s", after, before)
	}
}
