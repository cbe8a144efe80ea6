package filestore

import (
	"context"
	"fmt"
	"testing"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
)

// benchSessions are the session dicts of the side-by-side benchmark
// (bench/file_cookie.sh builds the same dicts in Python).
func benchSessions() []struct {
	name string
	data *pyvalue.Dict
} {
	login := func(d *pyvalue.Dict) *pyvalue.Dict {
		d.Set("_auth_user_id", "1")
		d.Set("_auth_user_backend", "django.contrib.auth.backends.ModelBackend")
		d.Set("_auth_user_hash", "0618db4cc18c08b09c2268f1900e29d1cf5eef02f321e78135302313d1fe7aa5")
		return d
	}
	medium := func() *pyvalue.Dict {
		d := login(pyvalue.NewDict(8))
		cart := make([]any, 0, 10)
		for i := 0; i < 10; i++ {
			cart = append(cart, dictOf("id", int64(i), "name", fmt.Sprintf("item-%d", i), "price", float64(i)*1.25, "qty", int64(i%3+1)))
		}
		d.Set("cart", cart)
		d.Set("flash", "Welcome back!")
		d.Set("prefs", dictOf("theme", "dark", "lang", "en-us", "tz", "Europe/Paris"))
		d.Set("visits", int64(42))
		return d
	}
	large := medium()
	hist := make([]any, 0, 2000)
	for i := 0; i < 2000; i++ {
		hist = append(hist, fmt.Sprintf("/page/%d?ref=%d", i, i*7))
	}
	large.Set("history", hist)
	return []struct {
		name string
		data *pyvalue.Dict
	}{
		{"tiny", dictOf("a", int64(1))},
		{"medium", medium()},
		{"large", large},
	}
}

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
	for _, bs := range benchSessions() {
		b.Run(bs.name, func(b *testing.B) {
			st := benchStore(b)
			const key = "benchmark0000000000000000000000a"
			r := djangosession.Record{Key: key, Data: bs.data}
			if err := st.Save(ctx, &r, true); err != nil {
				b.Fatal(err)
			}
			enc, _ := st.codec.Encode(bs.data)
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
	for _, bs := range benchSessions() {
		b.Run(bs.name, func(b *testing.B) {
			st := benchStore(b)
			const key = "benchmark0000000000000000000000a"
			r := djangosession.Record{Key: key, Data: bs.data}
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
