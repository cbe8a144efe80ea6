package pickle_compat

import (
	"os"
	"path/filepath"
	"testing"

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
			for i := 0; i < b.N; i++ {
				if _, err := Dumps(d, 5); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
