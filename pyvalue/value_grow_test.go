package pyvalue

import "testing"

// TestDictGrow checks that keys and values sharing one backing array never
// overwrite each other, whatever the order of growth, deletion and reuse.
func TestDictGrow(t *testing.T) {
	for _, start := range []int{0, 1, 3, 12, 40} {
		d := NewDict(start)
		want := map[int64]int64{}
		for i := int64(0); i < 100; i++ {
			if i%7 == 0 {
				d.Grow(int(i % 5))
			}
			d.Set(i, i*10)
			want[i] = i * 10
			if i%11 == 0 {
				d.Delete(i / 2)
				delete(want, i/2)
			}
		}
		if d.Len() != len(want) {
			t.Fatalf("start %d: len %d, want %d", start, d.Len(), len(want))
		}
		for i := 0; i < d.Len(); i++ {
			k, v := d.At(i)
			if want[k.(int64)] != v.(int64) {
				t.Fatalf("start %d: %v -> %v, want %v", start, k, v, want[k.(int64)])
			}
		}
		if i := 0; i < d.Len()-1 {
			k0, _ := d.At(i)
			k1, _ := d.At(i + 1)
			if k0.(int64) >= k1.(int64) {
				t.Fatalf("start %d: insertion order lost: %v before %v", start, k0, k1)
			}
		}
	}
}
