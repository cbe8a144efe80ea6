package filestore

import (
	"context"
	"testing"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/vectors"
)

func benchStore(b *testing.B) *Store {
	s := basicSettings(b, "5.2", b.TempDir())
	st, err := New(s)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	for _, bs := range vectors.BenchSessions(b) {
		b.Run(bs.Name, func(b *testing.B) {
			st := benchStore(b)
			const key = "benchmark0000000000000000000000a"
			r := djangosession.Record{Key: key, Data: bs.Data}
			if err := st.Save(ctx, &r, true); err != nil {
				b.Fatal(err)
			}
			enc, _ := st.codec.Encode(bs.Data)
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				r := djangosession.Record{Key: key}
				if err := st.Load(ctx, &r); err != nil || r.Key != key {
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
			const key = "benchmark0000000000000000000000a"
			r := djangosession.Record{Key: key, Data: bs.Data}
			if err := st.Save(ctx, &r, true); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if err := st.Save(ctx, &r, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
