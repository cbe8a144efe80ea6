package cookiestore

import (
	"context"
	"testing"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/vectors"
)

func benchStore(b *testing.B) *Store {
	st, err := New(basic(b, "5.2", nil))
	if err != nil {
		b.Fatal(err)
	}
	return st
}

func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	for _, bs := range vectors.BenchSessions(b) {
		b.Run(bs.Name, func(b *testing.B) {
			st := benchStore(b)
			cookie, err := st.Encode(bs.Data)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(cookie)))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				r := djangosession.Record{Key: cookie}
				if err := st.Load(ctx, &r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func BenchmarkSave(b *testing.B) {
	ctx := context.Background()
	for _, bs := range vectors.BenchSessions(b) {
		b.Run(bs.Name, func(b *testing.B) {
			st := benchStore(b)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				r := djangosession.Record{Data: bs.Data}
				if err := st.Save(ctx, &r, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
