package slab

import (
	"math"
	"testing"
)

// TestBoxes checks that boxed values read back as themselves across chunk
// boundaries, and that Slice never lets an append overwrite a neighbour.
func TestBoxes(t *testing.T) {
	var b Boxes
	var got []any
	for i := 0; i < 10000; i++ {
		got = append(got, b.String(string(rune('a'+i%26))+"x"), b.Int(int64(i*1000-5000)), b.Float(float64(i)/3))
	}
	for i := 0; i < 10000; i++ {
		if s := got[3*i].(string); s != string(rune('a'+i%26))+"x" {
			t.Fatalf("string %d = %q", i, s)
		}
		if n := got[3*i+1].(int64); n != int64(i*1000-5000) {
			t.Fatalf("int %d = %d", i, n)
		}
		if f := got[3*i+2].(float64); f != float64(i)/3 {
			t.Fatalf("float %d = %v", i, f)
		}
	}
	if b.String("") != "" || b.Int(7) != int64(7) || !math.IsNaN(b.Float(math.NaN()).(float64)) {
		t.Fatal("special values")
	}
	x, y := b.Slice(2), b.Slice(2)
	y[0], y[1] = "y0", "y1"
	x = append(x, "grown")
	if y[0] != "y0" || len(x) != 3 {
		t.Fatalf("append to one slice overwrote its neighbour: %v %v", x, y)
	}
	l := b.List([]any{int64(1)}).([]any)
	if len(l) != 1 || l[0] != int64(1) {
		t.Fatalf("list %v", l)
	}
}
