package signing

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	stdadler32 "hash/adler32"
	"io"
	"math/rand/v2"
	"testing"

	kzlib "github.com/klauspost/compress/zlib"
)

// stdInflate is the reference: compress/zlib reading the whole stream.
func stdInflate(z []byte) ([]byte, error) {
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func testPayloads(r *rand.Rand) [][]byte {
	var out [][]byte
	for _, n := range []int{0, 1, 2, 3, 10, 100, 1000, 5000, 40000} {
		random := make([]byte, n)
		for i := range random {
			random[i] = byte(r.Uint32())
		}
		text := make([]byte, n)
		words := []string{"alpha", "beta", "\"key\":", "1234", "{", "}", ",", "gamma delta", "\\u00e9"}
		for i := 0; i < n; {
			w := words[r.IntN(len(words))]
			i += copy(text[i:], w)
		}
		runs := bytes.Repeat([]byte{byte(n)}, n)
		out = append(out, random, text, runs)
	}
	return out
}

func compressAll(t testing.TB, data []byte) [][]byte {
	var out [][]byte
	for _, lvl := range []int{flate.HuffmanOnly, 0, 1, 6, 9} {
		var b bytes.Buffer
		w, err := zlib.NewWriterLevel(&b, lvl)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
		out = append(out, b.Bytes())
	}
	for _, lvl := range []int{1, 5, 6, 9} {
		var b bytes.Buffer
		w, _ := kzlib.NewWriterLevel(&b, lvl)
		w.Write(data)
		w.Close()
		out = append(out, b.Bytes())
	}
	return out
}

func TestInflateRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 0
	for _, data := range testPayloads(r) {
		for _, z := range compressAll(t, data) {
			got, err := inflateZlib(nil, z, 1<<20)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("inflate(%d bytes of %d) = %d bytes, %v", len(z), len(data), len(got), err)
			}
			// Appending after a prefix works (distances are relative to the stream).
			got, err = inflateZlib([]byte("prefix"), z, 1<<20)
			if err != nil || !bytes.Equal(got, append([]byte("prefix"), data...)) {
				t.Fatalf("inflate with prefix: %v", err)
			}
			// Trailing bytes after the stream are ignored, as by zlib.decompress.
			if got, err = inflateZlib(nil, append(z[:len(z):len(z)], "trailing"...), 1<<20); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("inflate with trailing data: %v", err)
			}
			n++
		}
	}
	t.Logf("%d streams", n)
}

// TestInflateCorrupt flips, truncates and splices streams and requires the
// same verdict as compress/zlib (and the same output when both succeed).
func TestInflateCorrupt(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 0
	for _, data := range testPayloads(r) {
		if len(data) > 5000 {
			continue
		}
		for _, z := range compressAll(t, data) {
			for k := 0; k < 30; k++ {
				c := append([]byte(nil), z...)
				switch k % 3 {
				case 0:
					if len(c) > 0 {
						i := r.IntN(len(c))
						c[i] ^= 1 << r.IntN(8)
					}
				case 1:
					c = c[:r.IntN(len(c)+1)]
				case 2:
					if len(c) > 2 {
						i := 2 + r.IntN(len(c)-2)
						c[i] = byte(r.Uint32())
					}
				}
				compareInflate(t, c)
				n++
			}
		}
	}
	t.Logf("%d corrupted streams", n)
}

func compareInflate(t *testing.T, z []byte) {
	t.Helper()
	want, werr := stdInflate(z)
	got, gerr := inflateZlib(nil, z, 1<<22)
	if (werr == nil) != (gerr == nil) || (werr == nil && !bytes.Equal(got, want)) {
		t.Fatalf("stream %x: inflateZlib %d bytes, %v; compress/zlib %d bytes, %v", z, len(got), gerr, len(want), werr)
	}
	if gerr != nil {
		var ie *inflateError
		if !errors.As(gerr, &ie) {
			t.Fatalf("error %T %v", gerr, gerr)
		}
	}
}

func TestInflateLimit(t *testing.T) {
	// Stored blocks of 600, 100 and 300 bytes: the output buffer grows
	// by the inflater's rule (never past limit+slack), not append's.
	var zb bytes.Buffer
	w, _ := zlib.NewWriterLevel(&zb, zlib.NoCompression)
	var data []byte
	for i, n := range []int{600, 100, 300} {
		part := bytes.Repeat([]byte{byte('a' + i)}, n)
		data = append(data, part...)
		w.Write(part)
		w.Flush()
	}
	w.Close()
	checkLimit(t, zb.Bytes(), data)
	for _, max := range []int{605, 700, 705, 740} {
		got, err := inflateZlib(nil, zb.Bytes(), max)
		if err != errTooBig || cap(got) > max+slack {
			t.Fatalf("stored blocks, limit %d: %d bytes (cap %d), %v", max, len(got), cap(got), err)
		}
	}

	data = bytes.Repeat([]byte("a"), 1<<20)
	for _, z := range compressAll(t, data) {
		if _, err := inflateZlib(nil, z, 1<<20-1); err != errTooBig {
			t.Fatalf("limit 1 byte short: %v", err)
		}
		if got, err := inflateZlib(nil, z, 1<<20); err != nil || len(got) != 1<<20 {
			t.Fatalf("exact limit: %d, %v", len(got), err)
		}
	}
}

func TestInflateErrors(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{nil, "Error -5 while decompressing data: incomplete or truncated stream"},
		{[]byte{0x78}, "Error -5 while decompressing data: incomplete or truncated stream"},
		{[]byte("not zlib"), "Error -3 while decompressing data: incorrect header check"},
		{[]byte{0x79, 0x9c - 0x1c + 0x1c - 1}, "Error -3 while decompressing data: incorrect header check"},
		{[]byte{0x77, 0x85}, "Error -3 while decompressing data: unknown compression method"},
		{[]byte{0x88, 0x98}, "Error -3 while decompressing data: invalid window size"},
		{[]byte{0x78, 0xbb}, "Error 2 while decompressing data"},
		{[]byte{0x78, 0x9c, 0x07}, "Error -3 while decompressing data: invalid block type"},
		{[]byte{0x78, 0x9c, 0x01, 0x01, 0x00, 0x00, 0x00}, "Error -3 while decompressing data: invalid stored block lengths"},
		{[]byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x02}, "Error -3 while decompressing data: incorrect data check"},
		{[]byte{0x78, 0x9c, 0x03, 0x00}, "Error -5 while decompressing data: incomplete or truncated stream"},
	} {
		_, err := inflateZlib(nil, tc.in, 100)
		if err == nil || err.Error() != tc.want {
			t.Errorf("inflate(%x) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func FuzzInflate(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, data := range testPayloads(r)[:12] {
		for _, z := range compressAll(f, data) {
			f.Add(z)
		}
	}
	f.Add([]byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	f.Fuzz(func(t *testing.T, z []byte) {
		compareInflate(t, z)
		// A valid stream fails with errTooBig one byte below its size
		// and decodes at exactly its size.
		if want, err := stdInflate(z); err == nil && len(want) > 0 {
			checkLimit(t, z, want)
		}
	})
}

// checkLimit requires z, which decodes to want, to fail with errTooBig
// under every limit below len(want) tried and to decode at len(want),
// having used no more than limit+slack bytes of output buffer.
func checkLimit(t *testing.T, z, want []byte) {
	t.Helper()
	for _, max := range []int{len(want) - 1, len(want) - 5, len(want) - 257, len(want) - 258, len(want) - 259, len(want) / 2, 0} {
		if max < 0 || max >= len(want) {
			continue
		}
		got, err := inflateZlib(nil, z, max)
		if err != errTooBig || len(got) > max || cap(got) > max+slack {
			t.Fatalf("stream %x of %d bytes, limit %d: %d bytes (cap %d), %v", z, len(want), max, len(got), cap(got), err)
		}
	}
	if got, err := inflateZlib(nil, z, len(want)); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("stream %x at exactly its size %d: %d bytes, %v", z, len(want), len(got), err)
	}
}

// TestInflateLimitSweep moves the limit across the last few hundred bytes
// of realistic streams, where decoding hands over from the fast loop to
// the careful one.
func TestInflateLimitSweep(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, data := range testPayloads(r) {
		if len(data) < 100 || len(data) > 5000 {
			continue
		}
		for _, z := range compressAll(t, data) {
			for max := len(data) - 300; max <= len(data)+3; max++ {
				if max < 0 {
					continue
				}
				got, err := inflateZlib(nil, z, max)
				switch {
				case max < len(data) && (err != errTooBig || len(got) > max):
					t.Fatalf("%d bytes, limit %d: %d bytes, %v", len(data), max, len(got), err)
				case max >= len(data) && (err != nil || !bytes.Equal(got, data)):
					t.Fatalf("%d bytes, limit %d: %d bytes, %v", len(data), max, len(got), err)
				}
			}
		}
	}
}

func TestAdler32(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 100, 5552, 5553, 65535, 65536, 65537, 200000} {
		for _, fill := range []string{"random", "ff", "00"} {
			p := make([]byte, n)
			for i := range p {
				switch fill {
				case "random":
					p[i] = byte(r.Uint32())
				case "ff":
					p[i] = 0xff
				}
			}
			if got, want := adler32(p), stdadler32.Checksum(p); got != want {
				t.Errorf("adler32(%d bytes of %s) = %08x, want %08x", n, fill, got, want)
			}
		}
	}
}

func FuzzAdler32(f *testing.F) {
	f.Add([]byte("Wikipedia"))
	f.Add(bytes.Repeat([]byte{0xff}, 200))
	f.Fuzz(func(t *testing.T, p []byte) {
		if got, want := adler32(p), stdadler32.Checksum(p); got != want {
			t.Fatalf("adler32(%x) = %08x, want %08x", p, got, want)
		}
	})
}
