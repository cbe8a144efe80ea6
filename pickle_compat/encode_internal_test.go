package pickle_compat

import (
	"bytes"
	"math"
	"math/big"
	"testing"
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
