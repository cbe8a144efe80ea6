package pickle_compat

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/djsession/djsession/pyvalue"
)

// benchInputs are the session dicts of testdata/bench/{tiny,medium,large}.json
// (shared with the signing benchmarks); bench/pickle_cpython.py times CPython
// on the same dicts.
var benchSizes = []string{"tiny", "medium", "large"}

func benchDict(b *testing.B, name string) *pyvalue.Dict {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(b), "testdata", "bench", name+".json"))
	if err != nil {
		b.Fatal(err)
	}
	v, err := pyvalue.UnmarshalJSONText(raw)
	if err != nil {
		b.Fatal(err)
	}
	return v.(*pyvalue.Dict)
}

func BenchmarkLoads(b *testing.B) {
	for _, name := range benchSizes {
		p, err := Dumps(benchDict(b, name), 5)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			defer reportCPU(b)()
			for i := 0; i < b.N; i++ {
				if _, err := Loads(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDumps(b *testing.B) {
	for _, name := range benchSizes {
		d := benchDict(b, name)
		p, _ := Dumps(d, 5)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			defer reportCPU(b)()
			for i := 0; i < b.N; i++ {
				if _, err := Dumps(d, 5); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU adds a cpu-ns/op metric: the process CPU time (all threads, GC
// included) per op. On a shared machine wall time measures the other
// processes too; bench/pickle.sh compares this figure with CPython's
// time.process_time.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
