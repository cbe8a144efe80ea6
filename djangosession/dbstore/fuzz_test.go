package dbstore

import (
	"strings"
	"testing"
	"time"
)

// FuzzTextOrder checks the property SQLite's comparisons rely on: the
// expire_date text Django and this package write sorts lexically exactly as
// the times sort chronologically, and parses back to the same microsecond.
func FuzzTextOrder(f *testing.F) {
	f.Add(int64(1700000000123456), int64(1700000000123457))
	f.Add(int64(1700000000000000), int64(1700000000100000))
	f.Add(int64(1700000000500000), int64(1700000000000001))
	f.Fuzz(func(t *testing.T, a, b int64) {
		// Python's datetime range with four-digit years: 1000..9999.
		const lo, hi = -30610224000000000, 253402300799999999
		if a < lo || a > hi || b < lo || b > hi {
			return
		}
		ta, tb := time.UnixMicro(a).UTC(), time.UnixMicro(b).UTC()
		sa, sb := pyText(ta), pyText(tb)
		if (a < b) != (sa < sb) || (a == b) != (sa == sb) {
			t.Fatalf("order of %q and %q differs from %d vs %d", sa, sb, a, b)
		}
		back, err := time.ParseInLocation("2006-01-02 15:04:05.999999", sa, time.UTC)
		if err != nil || !back.Equal(ta) {
			t.Fatalf("%q parses back to %v (%v), want %v", sa, back, err, ta)
		}
		iso := pyISO(ta)
		if !strings.HasSuffix(iso, "+00:00") || strings.Replace(strings.TrimSuffix(iso, "+00:00"), "T", " ", 1) != sa {
			t.Fatalf("pyISO %q disagrees with pyText %q", iso, sa)
		}
	})
}

// FuzzIndexName checks Django's index-name rules for any table name: within
// the dialect's limit, deterministic, never starting with "_" or a digit
// once shortened.
func FuzzIndexName(f *testing.F) {
	f.Add("django_session")
	f.Add(strings.Repeat("x", 100))
	f.Add("_" + strings.Repeat("9", 80))
	f.Fuzz(func(t *testing.T, table string) {
		for _, d := range []Dialect{Postgres, SQLite, MySQL} {
			name := d.indexName(table, "expire_date", "")
			if len(name) > d.maxNameLength() {
				t.Fatalf("%s: %q longer than %d", d, name, d.maxNameLength())
			}
			if name != d.indexName(table, "expire_date", "") {
				t.Fatal("not deterministic")
			}
		}
	})
}

// FuzzParseNaive: expire_date text as drivers return it never panics, and
// what parses without an offset is a wall time in the given zone.
func FuzzParseNaive(f *testing.F) {
	f.Add("2026-12-11 09:24:15.682508")
	f.Add("2026-12-11T09:24:15+05:45")
	f.Add("9999-garbage")
	loc := time.FixedZone("x", 3600)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseNaive(s, loc)
		if err != nil {
			return
		}
		if again, err := parseNaive(pyText(got), got.Location()); err != nil || !again.Equal(got.Truncate(time.Microsecond)) {
			t.Fatalf("%q: %v does not round-trip through %q: %v, %v", s, got, pyText(got), again, err)
		}
	})
}
