package pyvalue_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
)

// benchSessions are session dicts of the three sizes the project measures:
// tiny (≈170 B, what django.contrib.auth.login stores), medium (≈1 KB of
// mixed types) and large (≈16 KB).
func benchSessions() []struct {
	name string
	v    *pyvalue.Dict
} {
	auth := func() *pyvalue.Dict {
		return dict(
			"_auth_user_id", "1",
			"_auth_user_backend", "django.contrib.auth.backends.ModelBackend",
			"_auth_user_hash", "5d1a3e4b2f6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6",
		)
	}
	medium := auth()
	medium.Set("_session_expiry", int64(1209600))
	medium.Set("django_language", "fr")
	medium.Set("last_login", "2023-11-14T22:13:20.123456+00:00")
	medium.Set("cart", []any{
		dict("sku", "A-1001", "qty", int64(2), "price", 19.99, "name", "Café crème"),
		dict("sku", "B-2002", "qty", int64(1), "price", 5.5, "name", "Thé vert 🍵"),
		dict("sku", "C-3003", "qty", int64(12), "price", 0.1, "name", "Stickers <b>&</b>"),
	})
	medium.Set("flags", dict("beta", true, "dark_mode", false, "tour", nil))
	medium.Set("visits", []any{int64(1700000000), int64(1700000100), int64(1700003600), int64(1700086400)})
	medium.Set("big", bigInt("123456789012345678901234567890"))
	medium.Set("ratio", 0.3333333333333333)
	medium.Set("messages", []any{
		"Votre panier a été mis à jour.",
		"Welcome back, \"Ada\"!\nYou have 3 new notifications.",
	})
	medium.Set("csrf_hint", "kQ9vX2mL7pR4tY8wZ1aB3cD5eF6gH0jK")
	medium.Set("recent_searches", []any{"winter boots", "thé matcha", "usb-c cable 2m", "gift card"})
	medium.Set("wizard", dict("step", int64(3), "completed", []any{int64(1), int64(2)}, "started_at", 1700000000.25))

	large := auth()
	for i := 0; i < 106; i++ {
		large.Set(fmt.Sprintf("item_%03d", i), dict(
			"id", int64(i*7919),
			"title", fmt.Sprintf("Article n°%d — «%s»", i, "übersicht"),
			"score", float64(i)/7,
			"tags", []any{"news", "tech", int64(i)},
			"seen", i%2 == 0,
		))
	}
	return []struct {
		name string
		v    *pyvalue.Dict
	}{{"tiny", auth()}, {"medium", medium}, {"large", large}}
}

func BenchmarkMarshalJSON(b *testing.B) {
	for _, s := range benchSessions() {
		b.Run(s.name, func(b *testing.B) {
			out, err := pyvalue.MarshalJSON(s.v)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pyvalue.MarshalJSON(s.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	for _, s := range benchSessions() {
		b.Run(s.name, func(b *testing.B) {
			buf := make([]byte, 0, 32<<10)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = pyvalue.AppendJSON(buf[:0], s.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUnmarshalJSON(b *testing.B) {
	for _, s := range benchSessions() {
		b.Run(s.name, func(b *testing.B) {
			in, err := pyvalue.MarshalJSON(s.v)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			start := cpuNow()
			for b.Loop() {
				if _, err := pyvalue.UnmarshalJSON(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuNow()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuNow is the process CPU time: on a shared machine wall time also
// counts the time other processes hold the CPU, CPU time does not.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBenchSessionSizes keeps the benchmark inputs at the sizes their names
// promise.
func TestBenchSessionSizes(t *testing.T) {
	want := map[string][2]int{"tiny": {150, 200}, "medium": {900, 1200}, "large": {14000, 18000}}
	for _, s := range benchSessions() {
		out, err := pyvalue.MarshalJSON(s.v)
		if err != nil {
			t.Fatal(err)
		}
		if r := want[s.name]; len(out) < r[0] || len(out) > r[1] {
			t.Errorf("%s session is %d bytes, want %d..%d", s.name, len(out), r[0], r[1])
		}
	}
}

// BenchmarkUnmarshalJSONFiles decodes the session dicts bench/signing.sh
// and bench/file_cookie.sh also time Django on (internal/vectors
// BenchSessions: testdata/bench/*.json and the 44 KB xlarge), encoded as
// Django writes them (ASCII, compact).
func BenchmarkUnmarshalJSONFiles(b *testing.B) {
	for _, bs := range vectors.BenchSessions(b) {
		in, err := pyvalue.MarshalJSON(bs.Data)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bs.Name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			start := cpuNow()
			for b.Loop() {
				if _, err := pyvalue.UnmarshalJSON(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuNow()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// TestUnmarshalJSONRepeatedKeys covers the decoder's cache of repeated
// keys: keys that share their first bytes, extend or prefix a cached key,
// or spell it with escapes or Latin-1 bytes must decode as themselves.
func TestUnmarshalJSONRepeatedKeys(t *testing.T) {
	in := `[{"abc":1,"ab":2,"abcd":3},{"abc":4,"ab\u0063":5,"abc\u0064":6},` +
		`{"ab":7,"a":8,"":9,"abc":10},{"ab` + "\xe9" + `":11,"abc":12,"ab\"":13}]`
	want := [][]string{{"abc", "ab", "abcd"}, {"abc", "abcd"}, {"ab", "a", "", "abc"}, {"ab\u00e9", "abc", "ab\""}}
	v, err := pyvalue.UnmarshalJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	l := v.([]any)
	if len(l) != len(want) {
		t.Fatalf("got %d dicts, want %d", len(l), len(want))
	}
	for i, w := range want {
		d := l[i].(*pyvalue.Dict)
		var got []string
		for _, k := range d.Keys() {
			got = append(got, k.(string))
		}
		if fmt.Sprint(got) != fmt.Sprint(w) || len(got) != len(w) {
			t.Errorf("dict %d keys = %q, want %q", i, got, w)
		}
	}
	// "ab\u0063" and "abc\u0064" in dict 1 are "abc" (last value wins) and
	// "abcd".
	d := l[1].(*pyvalue.Dict)
	if v, _ := d.Get("abc"); v != int64(5) {
		t.Errorf(`dict 1 ["abc"] = %v, want 5`, v)
	}
}
