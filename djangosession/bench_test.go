//go:build unix

package djangosession

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
)

// The inputs are shared with the signing benchmarks and the Django timing
// scripts under bench/: testdata/bench/{tiny,medium,large}.json (≈170 B
// logged-in session, ≈1 KB, ≈16 KB compressible).
var benchSizes = []string{"tiny", "medium", "large"}

func benchDict(b *testing.B, name string) *pyvalue.Dict {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(vectors.Dir(b)), "bench", name+".json"))
	if err != nil {
		b.Fatal(err)
	}
	v, err := pyvalue.UnmarshalJSONText(raw)
	if err != nil {
		b.Fatal(err)
	}
	d, ok := v.(*pyvalue.Dict)
	if !ok {
		b.Fatalf("%s.json is not an object", name)
	}
	return d
}

// cpuTime is the process's user+system CPU time. Reported per operation
// ("cpu-ns/op") it is meaningful on a loaded machine, where wall time also
// counts other processes; bench/ scripts time Django the same way.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func benchCodec(b *testing.B) *Codec {
	s, err := LoadSettings([]byte(`{"SECRET_KEY":"spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"}`))
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewCodec(s, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkEncode times SessionBase.encode: JSON, zlib when it pays,
// base64, timestamp, HMAC-SHA256.
func BenchmarkEncode(b *testing.B) {
	c := benchCodec(b)
	for _, name := range benchSizes {
		d := benchDict(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				if _, err := c.Encode(d); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
	}
}

// BenchmarkDecode times SessionBase.decode of Encode's output.
func BenchmarkDecode(b *testing.B) {
	c := benchCodec(b)
	for _, name := range benchSizes {
		tok, err := c.Encode(benchDict(b, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				if _, err := c.Decode(tok); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
	}
}
