package signing

import (
	"bytes"
	"compress/zlib"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/djsession/djsession/internal/vectors"
)

// BenchmarkInflate times inflateZlib alone on CPython zlib.compress(level 6)
// output of realistic session payloads: testdata/bench/{tiny,medium,large}.json
// compacted as Django's JSONSerializer does, and "history", a dict holding a
// list of 2000 short URLs (44 KB). The streams were made once with
//
//	json.dumps(v, separators=(',', ':')).encode() |> zlib.compress(_, 6)
//
// and stored as testdata/bench/inflate_*.zlib. The output buffer is reused,
// as a caller decoding many tokens would, so the figure is decompression
// (and the Adler-32 check) only.
func BenchmarkInflate(b *testing.B) {
	dir := filepath.Join(filepath.Dir(vectors.Dir(b)), "bench")
	for _, name := range []string{"tiny", "medium", "large", "history"} {
		z, err := os.ReadFile(filepath.Join(dir, "inflate_"+name+".zlib"))
		if err != nil {
			b.Fatal(err)
		}
		r, err := zlib.NewReader(bytes.NewReader(z))
		if err != nil {
			b.Fatal(err)
		}
		want, err := io.ReadAll(r)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			dst := make([]byte, 0, len(want)+1024)
			got, err := inflateZlib(dst, z, 1<<20)
			if err != nil || !bytes.Equal(got, want) {
				b.Fatalf("inflate: %d bytes, %v", len(got), err)
			}
			b.SetBytes(int64(len(want)))
			b.ReportAllocs()
			for b.Loop() {
				inflateZlib(dst, z, 1<<20)
			}
		})
	}
}
