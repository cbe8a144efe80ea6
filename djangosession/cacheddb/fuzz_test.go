package cacheddb

import (
	"testing"
	"time"
)

// FuzzParseNaive: expire_date text as drivers return it.
func FuzzParseNaive(f *testing.F) {
	f.Add("2026-12-11 09:24:15.682508")
	f.Add("2026-12-11T09:24:15+05:45")
	f.Fuzz(func(t *testing.T, s string) {
		parseNaive(s, time.UTC)
	})
}
