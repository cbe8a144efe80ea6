package signing

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
)

// The benchmark inputs are shared with bench/signing_django.py, which times
// Django on the same values: testdata/bench/{tiny,medium,large}.json.
var benchSizes = []string{"tiny", "medium", "large"}

const benchKey = "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"

func benchValue(b *testing.B, name string) any {
	b.Helper()
	dir := filepath.Join(filepath.Dir(vectors.Dir(b)), "bench")
	raw, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		b.Fatal(err)
	}
	v, err := pyvalue.UnmarshalJSONText(raw)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// cpuMeter reports, besides wall time, the process CPU time per operation
// ("cpu-ns/op"): on a shared machine wall time counts the time other
// processes hold the CPU, CPU time does not. bench/signing_django.py
// measures Django the same way (time.process_time).
type cpuMeter struct {
	b     *testing.B
	start time.Duration
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU(b *testing.B) cpuMeter { return cpuMeter{b, cpuNow()} }

func (m cpuMeter) stop() {
	m.b.ReportMetric(float64(cpuNow()-m.start)/float64(m.b.N), "cpu-ns/op")
}

// BenchmarkDumps times signing.Dumps(v, compress=True), the call Django's
// SessionBase.encode makes.
func BenchmarkDumps(b *testing.B) {
	for _, name := range benchSizes {
		v := benchValue(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			m := startCPU(b)
			for b.Loop() {
				if _, err := Dumps(v, WithKey(benchKey), WithCompress(true)); err != nil {
					b.Fatal(err)
				}
			}
			m.stop()
		})
	}
}

// BenchmarkLoads times signing.Loads of a Dumps(compress=True) token, the
// call Django's SessionBase.decode makes.
func BenchmarkLoads(b *testing.B) {
	for _, name := range benchSizes {
		v := benchValue(b, name)
		tok, err := Dumps(v, WithKey(benchKey), WithCompress(true))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			m := startCPU(b)
			for b.Loop() {
				if _, err := Loads(tok, WithKey(benchKey)); err != nil {
					b.Fatal(err)
				}
			}
			m.stop()
		})
	}
}

// BenchmarkSignerObject is the same work through a TimestampSigner built
// once, the cheapest way to sign many values.
func BenchmarkSignerObject(b *testing.B) {
	ts, err := NewTimestampSigner(Options{Key: benchKey, Salt: DefaultDumpsSalt})
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range benchSizes {
		v := benchValue(b, name)
		tok, _ := ts.SignObject(v, nil, true)
		b.Run("sign/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ts.SignObject(v, nil, true)
			}
		})
		b.Run("unsign/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ts.UnsignObjectMaxAge(tok, nil, time.Hour*24*365*100); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStages splits Loads of the large input into its stages.
func BenchmarkStages(b *testing.B) {
	ts, _ := NewTimestampSigner(Options{Key: benchKey, Salt: DefaultDumpsSalt})
	for _, name := range benchSizes {
		v := benchValue(b, name)
		tok, _ := ts.SignObject(v, nil, true)
		text, _ := ts.Unsign(tok)
		data, _, _ := DecodePayload(text, 0)
		b.Run("unsign/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ts.Unsign(tok)
			}
		})
		b.Run("payload/"+name, func(b *testing.B) {
			b.ReportAllocs()
			m := startCPU(b)
			for b.Loop() {
				DecodePayload(text, 0)
			}
			m.stop()
		})
		b.Run("json/"+name, func(b *testing.B) {
			b.ReportAllocs()
			m := startCPU(b)
			for b.Loop() {
				pyvalue.UnmarshalJSON(data)
			}
			m.stop()
		})
		b.Run("jsondumps/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pyvalue.MarshalJSON(v)
			}
		})
		b.Run("compress/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				EncodePayload(data, true)
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	s, _ := NewSigner(Options{Key: benchKey})
	signed := s.Sign("hello")
	b.Run("sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Sign("hello")
		}
	})
	b.Run("unsign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Unsign(signed)
		}
	})
}
