package dbstore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// pyText formats t's wall clock like Python's str(datetime) of a naive
// datetime: "YYYY-MM-DD HH:MM:SS", plus ".ffffff" only when the microseconds
// are not zero. This is what Django binds for SQLite and MySQL, and the
// only spelling whose lexical order (SQLite compares TEXT) is chronological.
// Nanoseconds below the microsecond are dropped, as Python has none.
func pyText(t time.Time) string { return pyNaive(t, "2006-01-02 15:04:05") }

// pyNaiveISO is Python's isoformat() of a naive datetime
// ("2023-11-28T16:13:20.123456"), what Django sends to PostgreSQL with
// USE_TZ=False.
func pyNaiveISO(t time.Time) string { return pyNaive(t, "2006-01-02T15:04:05") }

func pyNaive(t time.Time, layout string) string {
	b := make([]byte, 0, 26)
	b = t.AppendFormat(b, layout)
	if us := t.Nanosecond() / 1000; us != 0 {
		b = append(b, '.')
		b = appendMicros(b, us)
	}
	return string(b)
}

// pyISO formats t like Python's datetime.isoformat() of an aware datetime in
// UTC ("2023-11-28T22:13:20.123456+00:00"), the literal Django sends to
// PostgreSQL with USE_TZ=True.
func pyISO(t time.Time) string {
	t = t.UTC()
	b := make([]byte, 0, 32)
	b = t.AppendFormat(b, "2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		b = append(b, '.')
		b = appendMicros(b, us)
	}
	return string(append(b, "+00:00"...))
}

func appendMicros(b []byte, us int) []byte {
	s := strconv.Itoa(us)
	for i := len(s); i < 6; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// parseNaive parses expire_date text as drivers return it: Python's
// str()/isoformat() spelling ("2026-12-11 09:24:15.682508", a "T" instead
// of the space, an optional UTC offset). A value without an offset is a
// wall time in loc.
func parseNaive(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(strings.Replace(s, "T", " ", 1))
	for _, layout := range []string{"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("dbstore: unparseable expire_date %q", s)
}
