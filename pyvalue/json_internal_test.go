package pyvalue

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestFastFloat: the Clinger fast path agrees bit for bit with
// strconv.ParseFloat (which agrees with CPython's float()) whenever it
// accepts a number.
func TestFastFloat(t *testing.T) {
	cases := []string{"0.1", "-0.0", "0.0", "1.0", "1e22", "1e23", "1E-22", "1e-23", "4.35", "0.000001234",
		"123456789012345.0", "1234567890123456.0", "9007199254740993.0", "0.30000000000000004", "1.5e-10",
		"-2.5E+3", "00.5", "0.000000000000000000000000001", "7e-0", "1.7976931348623157e308", "5e-324"}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		mant := strconv.FormatUint(r.Uint64()>>uint(r.IntN(64)), 10)
		dot := r.IntN(len(mant) + 1)
		s := mant[:dot] + "." + mant[dot:]
		if dot == 0 {
			s = "0" + s
		}
		if dot == len(mant) {
			s += "0"
		}
		if r.IntN(2) == 0 {
			s += "e" + strconv.Itoa(r.IntN(60)-30)
		}
		if r.IntN(2) == 0 {
			s = "-" + s
		}
		cases = append(cases, s)
	}
	accepted := 0
	for _, s := range cases {
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			continue
		}
		got, ok := fastFloat([]byte(s))
		if !ok {
			continue
		}
		accepted++
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("fastFloat(%q) = %v (%x), ParseFloat %v (%x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
	if accepted < len(cases)/4 {
		t.Errorf("fast path taken for only %d of %d numbers", accepted, len(cases))
	}
}
