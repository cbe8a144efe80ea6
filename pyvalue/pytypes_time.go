package pyvalue

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// ErrISOFormat is returned (wrapped) by the fromisoformat-style parsers for a
// string CPython 3.11 would reject with ValueError.
var ErrISOFormat = errors.New("pyvalue: invalid isoformat string")

// Python's datetime limits.
const (
	MinYear = 1
	MaxYear = 9999
)

// UTC is the tzinfo of datetime.timezone.utc.
var utcTZ = TZInfo{Kind: TZUTC}

// UTC returns a new *TZInfo for datetime.timezone.utc.
func UTC() *TZInfo { tz := utcTZ; return &tz }

// FixedZone returns datetime.timezone(timedelta(microseconds=offset)) with
// Python's normalisation: a zero offset without a name is timezone.utc.
func FixedZone(offsetMicro int64, name string) *TZInfo {
	if offsetMicro == 0 && name == "" {
		return UTC()
	}
	return &TZInfo{Kind: TZFixed, Offset: offsetMicro, Name: name}
}

// UTCOffset returns the tzinfo's offset from UTC in microseconds at the given
// wall time, and whether it is known. The UTC kinds and fixed offsets are
// always known; a zoneinfo zone is resolved with Go's time zone database (the
// wall time d selects DST; Fold=1 picks the later of two ambiguous instants,
// as zoneinfo does); an opaque tzinfo is unknown unless it is a pickled pytz
// zone (pytz._p) whose recorded offset is used.
func (tz *TZInfo) UTCOffset(d DateTime) (int64, bool) {
	if tz == nil {
		return 0, false
	}
	switch tz.Kind {
	case TZUTC, TZPytzUTC:
		return 0, true
	case TZFixed:
		return tz.Offset, true
	case TZZoneInfo:
		loc, err := time.LoadLocation(tz.Name)
		if err != nil {
			return 0, false
		}
		return zoneOffset(loc, d), true
	case TZOpaque:
		return pytzOffset(tz.Object)
	}
	return 0, false
}

// zoneOffset resolves a wall time in loc the way zoneinfo does: in a gap or
// an overlap, fold=0 uses the offset in force before the transition and
// fold=1 the one after.
func zoneOffset(loc *time.Location, d DateTime) int64 {
	wall := time.Date(d.Year, time.Month(d.Month), d.Day, d.Hour, d.Minute, d.Second, 0, time.UTC)
	// Candidate offsets are those in force a day either side of the wall time.
	_, before := wall.Add(-36 * time.Hour).In(loc).Zone()
	_, after := wall.Add(36 * time.Hour).In(loc).Zone()
	okOff := func(off int) bool {
		t := wall.Add(-time.Duration(off) * time.Second)
		_, o := t.In(loc).Zone()
		return o == off
	}
	if before == after {
		return int64(before) * 1e6
	}
	vb, va := okOff(before), okOff(after)
	switch {
	case vb && va: // overlap
		if d.Fold == 1 {
			return int64(after) * 1e6
		}
		return int64(before) * 1e6
	case vb:
		return int64(before) * 1e6
	case va:
		return int64(after) * 1e6
	default: // gap
		if d.Fold == 1 {
			return int64(after) * 1e6
		}
		return int64(before) * 1e6
	}
}

// pytzOffset reads the utcoffset pytz records when it pickles a zone:
// pytz._p("Europe/Paris", 3600, 0, "CET").
func pytzOffset(o *Object) (int64, bool) {
	if o == nil || o.Module != "pytz" || o.Name != "_p" {
		return 0, false
	}
	args := o.Args
	if len(args) == 1 { // StaticTzInfo: no offset recorded
		return 0, false
	}
	if len(args) < 2 {
		return 0, false
	}
	switch x := args[1].(type) {
	case int64:
		return x * 1e6, true
	}
	return 0, false
}

// ISOFormat returns what Python's datetime.isoformat() returns:
// YYYY-MM-DDTHH:MM:SS[.ffffff][±HH:MM[:SS[.ffffff]]]. The offset is omitted
// for a naive datetime and for a tzinfo whose offset is unknown to Go (see
// TZInfo.UTCOffset).
func (d DateTime) ISOFormat() string {
	b := make([]byte, 0, 32)
	b = appendDate(b, d.Year, d.Month, d.Day)
	b = append(b, 'T')
	b = appendTime(b, d.Hour, d.Minute, d.Second, d.Microsecond)
	if d.TZ != nil {
		if off, ok := d.TZ.UTCOffset(d); ok {
			b = appendOffset(b, off)
		}
	}
	return string(b)
}

// String returns ISOFormat with a space separator, as Python's str() does.
func (d DateTime) String() string {
	s := d.ISOFormat()
	return s[:10] + " " + s[11:]
}

// ISOFormat returns what Python's date.isoformat() returns: YYYY-MM-DD.
func (d Date) ISOFormat() string { return string(appendDate(nil, d.Year, d.Month, d.Day)) }

// String returns ISOFormat, as Python's str() does.
func (d Date) String() string { return d.ISOFormat() }

// ISOFormat returns what Python's time.isoformat() returns:
// HH:MM:SS[.ffffff][±HH:MM[:SS[.ffffff]]]. A zoneinfo tzinfo's offset is not
// known without a date (Python returns None for it), so it is omitted.
func (t Time) ISOFormat() string {
	b := appendTime(make([]byte, 0, 24), t.Hour, t.Minute, t.Second, t.Microsecond)
	if t.TZ != nil && t.TZ.Kind != TZZoneInfo {
		if off, ok := t.TZ.UTCOffset(DateTime{Year: 1900, Month: 1, Day: 1}); ok {
			b = appendOffset(b, off)
		}
	}
	return string(b)
}

// String returns ISOFormat, as Python's str() does.
func (t Time) String() string { return t.ISOFormat() }

func append2(b []byte, v int) []byte {
	return append(b, byte('0'+v/10%10), byte('0'+v%10))
}

func appendDate(b []byte, y, m, d int) []byte {
	if y >= 0 && y <= 9999 {
		b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
	} else {
		b = fmt.Appendf(b, "%04d", y)
	}
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	return append2(b, d)
}

func appendTime(b []byte, h, m, s, us int) []byte {
	b = append2(b, h)
	b = append(b, ':')
	b = append2(b, m)
	b = append(b, ':')
	b = append2(b, s)
	if us != 0 {
		b = append(b, '.')
		b = append(b, byte('0'+us/100000%10), byte('0'+us/10000%10), byte('0'+us/1000%10),
			byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10))
	}
	return b
}

// appendOffset is Python's _format_offset.
func appendOffset(b []byte, off int64) []byte {
	sign := byte('+')
	if off < 0 {
		sign = '-'
		off = -off
	}
	us := off % 1e6
	secs := off / 1e6
	hh, mm, ss := secs/3600, secs/60%60, secs%60
	b = append(b, sign)
	b = fmt.Appendf(b, "%02d:%02d", hh, mm)
	if ss != 0 || us != 0 {
		b = fmt.Appendf(b, ":%02d", ss)
		if us != 0 {
			b = fmt.Appendf(b, ".%06d", us)
		}
	}
	return b
}

// ParseISO parses s as CPython 3.11's datetime.fromisoformat does (the C
// implementation): a date (YYYY-MM-DD, YYYYMMDD, YYYY-Www[-D], YYYYWww[D]),
// optionally followed by any one separator character and a time
// HH[:MM[:SS[.f...]]] (or HHMMSS, comma allowed for the fraction, digits past
// the sixth truncated) and an offset Z or ±HH[:MM[:SS[.ffffff]]]. An offset of
// zero gives timezone.utc, any other a fixed offset.
func ParseISO(s string) (DateTime, error) {
	d, err := parseISO(s)
	if err != nil {
		return DateTime{}, fmt.Errorf("%w: %q", ErrISOFormat, s)
	}
	return d, nil
}

// ParseISODate parses s as CPython 3.11's date.fromisoformat does.
func ParseISODate(s string) (Date, error) {
	if len(s) == 7 || len(s) == 8 || len(s) == 10 {
		if y, m, d, ok := parseISODate(s); ok {
			return Date{y, m, d}, nil
		}
	}
	return Date{}, fmt.Errorf("%w: %q", ErrISOFormat, s)
}

func parseISO(s string) (DateTime, error) {
	bad := errors.New("invalid")
	if len(s) < 7 {
		return DateTime{}, bad
	}
	sep := findSeparator(s)
	if sep < 0 || sep > len(s) {
		return DateTime{}, bad
	}
	y, mo, da, ok := parseISODate(s[:sep])
	if !ok {
		return DateTime{}, bad
	}
	dt := DateTime{Year: y, Month: mo, Day: da}
	if len(s) > sep {
		// The separator is any one character (code point), ASCII or not.
		rest := s[sep+1:]
		if c := s[sep]; c >= 0xC0 {
			n := 2
			if c >= 0xF0 {
				n = 4
			} else if c >= 0xE0 {
				n = 3
			}
			if len(s) < sep+n {
				return DateTime{}, bad
			}
			rest = s[sep+n:]
		}
		h, mi, se, us, tzoff, tzus, hasTZ, ok := parseISOTime(rest)
		if !ok {
			return DateTime{}, bad
		}
		if h > 23 || mi > 59 || se > 59 {
			return DateTime{}, bad
		}
		dt.Hour, dt.Minute, dt.Second, dt.Microsecond = h, mi, se, us
		if hasTZ {
			off := int64(tzoff)*1e6 + int64(tzus)
			if off <= -86400e6 || off >= 86400e6 {
				return DateTime{}, bad
			}
			dt.TZ = FixedZone(off, "")
		}
	}
	return dt, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// findSeparator is CPython's _find_isoformat_datetime_separator.
func findSeparator(s string) int {
	n := len(s)
	if n == 7 {
		return 7
	}
	if s[4] == '-' {
		if s[5] == 'W' {
			if n > 8 && s[8] == '-' {
				if n == 9 {
					return -1
				}
				if n > 10 && isDigit(s[10]) {
					return 8
				}
				return 10
			}
			return 8
		}
		return 10
	}
	if s[4] == 'W' {
		idx := 7
		for idx < n && isDigit(s[idx]) {
			idx++
		}
		if idx < 9 {
			return idx
		}
		if idx%2 == 0 {
			return 7
		}
		return 8
	}
	return 8
}

func digits(s string, n int) (int, bool) {
	if len(s) < n {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

// parseISODate is CPython's parse_isoformat_date plus the range checks of
// the date constructor.
func parseISODate(s string) (y, m, d int, ok bool) {
	y, ok = digits(s, 4)
	if !ok {
		return
	}
	p := 4
	hasSep := len(s) > p && s[p] == '-'
	if hasSep {
		p++
	}
	if len(s) > p && s[p] == 'W' {
		p++
		week, ok2 := digits(s[p:], 2)
		if !ok2 {
			return 0, 0, 0, false
		}
		p += 2
		day := 1
		if len(s) > p {
			if (s[p] == '-') != hasSep {
				return 0, 0, 0, false
			}
			if hasSep {
				p++
			}
			day, ok2 = digits(s[p:], 1)
			if !ok2 {
				return 0, 0, 0, false
			}
			p++
		}
		if p != len(s) {
			return 0, 0, 0, false
		}
		return isoWeekToGregorian(y, week, day)
	}
	m, ok = digits(s[p:], 2)
	if !ok {
		return 0, 0, 0, false
	}
	p += 2
	if (len(s) > p && s[p] == '-') != hasSep {
		return 0, 0, 0, false
	}
	if hasSep {
		p++
	}
	d, ok = digits(s[p:], 2)
	if !ok {
		return 0, 0, 0, false
	}
	p += 2
	if p != len(s) || !validDate(y, m, d) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func validDate(y, m, d int) bool {
	return y >= MinYear && y <= MaxYear && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}

// ordinal is Python's date.toordinal (0001-01-01 is 1).
func ordinal(y, m, d int) int {
	yy := y - 1
	days := yy*365 + yy/4 - yy/100 + yy/400
	for i := 1; i < m; i++ {
		days += daysIn(y, i)
	}
	return days + d
}

func fromOrdinal(n int) (y, m, d int) {
	t := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n-1)
	return t.Year(), int(t.Month()), t.Day()
}

func isoWeekToGregorian(year, week, day int) (int, int, int, bool) {
	if year < MinYear || year > MaxYear {
		return 0, 0, 0, false
	}
	if week <= 0 || week >= 53 {
		ok := false
		if week == 53 {
			first := ordinal(year, 1, 1) % 7
			if first == 4 || (first == 3 && isLeap(year)) {
				ok = true
			}
		}
		if !ok {
			return 0, 0, 0, false
		}
	}
	if day <= 0 || day >= 8 {
		return 0, 0, 0, false
	}
	first := ordinal(year, 1, 1)
	wd := (first + 6) % 7
	monday := first - wd
	if wd > 3 {
		monday += 7
	}
	o := monday + (week-1)*7 + day - 1
	y, m, d := fromOrdinal(o)
	if y < MinYear || y > MaxYear {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

// parseHMSF is CPython's parse_hh_mm_ss_ff over s (which stands for the
// bytes up to the zone designator); next is the byte following s in the
// whole string (0 at its end), which the C code reads through.
func parseHMSF(s string, next byte) (h, m, sec, us int, rv int) {
	vals := [3]*int{&h, &m, &sec}
	p := 0
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		if i == len(s) {
			return next
		}
		return 0
	}
	hasSep := true
	for i := 0; i < 3; i++ {
		v, ok := digits(s[min(p, len(s)):], 2)
		if !ok {
			return 0, 0, 0, 0, -3
		}
		*vals[i] = v
		p += 2
		c := at(p)
		p++
		if i == 0 {
			hasSep = c == ':'
		}
		if p >= len(s) {
			if c != 0 {
				return h, m, sec, us, 1
			}
			return h, m, sec, us, 0
		} else if hasSep && c == ':' {
			continue
		} else if c == '.' || c == ',' {
			break
		} else if !hasSep {
			p--
		} else {
			return 0, 0, 0, 0, -4
		}
	}
	remain := len(s) - p
	if remain <= 0 {
		return 0, 0, 0, 0, -3
	}
	n := min(remain, 6)
	v, ok := digits(s[p:], n)
	if !ok {
		return 0, 0, 0, 0, -3
	}
	for k := n; k < 6; k++ {
		v *= 10
	}
	us = v
	p += n
	for p < len(s) && isDigit(s[p]) {
		p++
	}
	if at(p) != 0 {
		return h, m, sec, us, 1
	}
	return h, m, sec, us, 0
}

// parseISOTime is CPython's parse_isoformat_time.
func parseISOTime(s string) (h, m, sec, us, tzoff, tzus int, hasTZ, ok bool) {
	tz := strings.IndexAny(s, "Z+-")
	if tz < 0 {
		tz = len(s)
	}
	var next byte
	if tz < len(s) {
		next = s[tz]
	}
	var rv int
	h, m, sec, us, rv = parseHMSF(s[:tz], next)
	if rv < 0 {
		return
	}
	if tz == len(s) {
		ok = rv != 1
		return
	}
	if s[tz] == 'Z' {
		return h, m, sec, us, 0, 0, true, tz+1 == len(s)
	}
	sign := 1
	if s[tz] == '-' {
		sign = -1
	}
	th, tm, ts, tu, rv2 := parseHMSF(s[tz+1:], 0)
	if rv2 != 0 {
		return
	}
	return h, m, sec, us, sign * (th*3600 + tm*60 + ts), sign * tu, true, true
}

// DateTimeFromTime converts t to an aware datetime: time.UTC becomes
// datetime.timezone.utc, any other location a fixed offset (Python has no
// way to name Go's zones in a pickle without zoneinfo; use ZoneInfo kind
// explicitly if that is wanted).
func DateTimeFromTime(t time.Time) DateTime {
	_, off := t.Zone()
	d := NaiveDateTimeFromTime(t)
	if t.Location() == time.UTC {
		d.TZ = UTC()
	} else {
		d.TZ = FixedZone(int64(off)*1e6, "")
	}
	return d
}

// NaiveDateTimeFromTime returns t's wall clock as a naive datetime
// (microsecond precision, truncating).
func NaiveDateTimeFromTime(t time.Time) DateTime {
	return DateTime{
		Year: t.Year(), Month: int(t.Month()), Day: t.Day(),
		Hour: t.Hour(), Minute: t.Minute(), Second: t.Second(),
		Microsecond: t.Nanosecond() / 1000,
	}
}

// GoTime converts d to a time.Time. A naive datetime is read as wall time in
// naive (which must not be nil for one); an aware one uses its UTC offset,
// and fails if that offset is unknown (see TZInfo.UTCOffset).
func (d DateTime) GoTime(naive *time.Location) (time.Time, error) {
	ns := d.Microsecond * 1000
	if d.TZ == nil {
		if naive == nil {
			return time.Time{}, errors.New("pyvalue: naive datetime needs a location")
		}
		return time.Date(d.Year, time.Month(d.Month), d.Day, d.Hour, d.Minute, d.Second, ns, naive), nil
	}
	off, ok := d.TZ.UTCOffset(d)
	if !ok {
		return time.Time{}, fmt.Errorf("pyvalue: utcoffset of tzinfo %s is unknown", d.TZ.describe())
	}
	utc := time.Date(d.Year, time.Month(d.Month), d.Day, d.Hour, d.Minute, d.Second, ns, time.UTC).
		Add(-time.Duration(off) * time.Microsecond)
	switch d.TZ.Kind {
	case TZUTC, TZPytzUTC:
		return utc, nil
	case TZZoneInfo:
		if loc, err := time.LoadLocation(d.TZ.Name); err == nil {
			return utc.In(loc), nil
		}
	}
	if off%1e6 != 0 {
		return utc, nil
	}
	return utc.In(time.FixedZone(d.TZ.Name, int(off/1e6))), nil
}

func (tz *TZInfo) describe() string {
	if tz.Object != nil {
		return tz.Object.PythonType()
	}
	return strconv.Itoa(int(tz.Kind))
}

// GoTime returns midnight of d in loc.
func (d Date) GoTime(loc *time.Location) time.Time {
	return time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, loc)
}

// DateFromTime returns t's calendar date.
func DateFromTime(t time.Time) Date { return Date{t.Year(), int(t.Month()), t.Day()} }

// NewTimeDelta returns timedelta(days, seconds, microseconds) normalised as
// Python normalises it.
func NewTimeDelta(days, seconds, microseconds int64) TimeDelta {
	s, us := floorDiv(microseconds, 1e6)
	seconds += s
	d, sec := floorDiv(seconds, 86400)
	return TimeDelta{Days: days + d, Seconds: sec, Microseconds: us}
}

func floorDiv(a, b int64) (q, r int64) {
	q, r = a/b, a%b
	if r < 0 {
		q--
		r += b
	}
	return
}

// TimeDeltaFromDuration converts d (truncated to microseconds toward zero,
// as timedelta(microseconds=d/1000) would round half-even; nanosecond
// remainders are dropped).
func TimeDeltaFromDuration(d time.Duration) TimeDelta {
	return NewTimeDelta(0, 0, int64(d/time.Microsecond))
}

// Duration converts td to a time.Duration; ok is false if it overflows.
func (td TimeDelta) Duration() (time.Duration, bool) {
	us := new(big.Int).SetInt64(td.Days)
	us.Mul(us, big.NewInt(86400e6))
	us.Add(us, big.NewInt(td.Seconds*1e6+td.Microseconds))
	us.Mul(us, big.NewInt(1000))
	if !us.IsInt64() {
		return 0, false
	}
	return time.Duration(us.Int64()), true
}

// TotalSeconds is Python's timedelta.total_seconds().
func (td TimeDelta) TotalSeconds() float64 {
	return float64(td.Days*86400e6+td.Seconds*1e6+td.Microseconds) / 1e6
}

// String returns what Python's str(timedelta) returns ("1 day, 2:03:04.000005").
func (td TimeDelta) String() string {
	h, m, s := td.Seconds/3600, td.Seconds/60%60, td.Seconds%60
	out := fmt.Sprintf("%d:%02d:%02d", h, m, s)
	if td.Microseconds != 0 {
		out += fmt.Sprintf(".%06d", td.Microseconds)
	}
	if td.Days != 0 {
		plural := ""
		if td.Days != 1 && td.Days != -1 {
			plural = "s"
		}
		out = fmt.Sprintf("%d day%s, %s", td.Days, plural, out)
	}
	return out
}

// ErrDecimal is returned (wrapped) by ParseDecimal for text Python's
// decimal.Decimal constructor rejects.
var ErrDecimal = errors.New("pyvalue: invalid decimal literal")

// ParseDecimal parses s as decimal.Decimal(s) does (surrounding whitespace,
// underscores anywhere, case-insensitive Infinity/Inf/NaN/sNaN) and
// returns the value in Python's str() form, so that Decimal values compare
// as their text: ParseDecimal(" 1e2 ") == "1E+2".
func ParseDecimal(s string) (Decimal, error) {
	// CPython's C decimal strips surrounding whitespace, then ignores every
	// underscore wherever it is.
	t := strings.ReplaceAll(strings.TrimSpace(s), "_", "")
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	sign := ""
	if neg {
		sign = "-"
	}
	low := strings.ToLower(t)
	switch low {
	case "inf", "infinity":
		return Decimal(sign + "Infinity"), nil
	}
	for _, p := range []string{"snan", "nan"} {
		if strings.HasPrefix(low, p) {
			payload := t[len(p):]
			for i := 0; i < len(payload); i++ {
				if !isDigit(payload[i]) {
					return "", fmt.Errorf("%w: %q", ErrDecimal, s)
				}
			}
			payload = strings.TrimLeft(payload, "0")
			name := "NaN"
			if p == "snan" {
				name = "sNaN"
			}
			return Decimal(sign + name + payload), nil
		}
	}
	mant, expPart := t, ""
	if i := strings.IndexAny(t, "eE"); i >= 0 {
		mant, expPart = t[:i], t[i+1:]
		if expPart == "" {
			return "", fmt.Errorf("%w: %q", ErrDecimal, s)
		}
	}
	intPart, frac := mant, ""
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		intPart, frac = mant[:i], mant[i+1:]
	}
	if intPart == "" && frac == "" {
		return "", fmt.Errorf("%w: %q", ErrDecimal, s)
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if !isDigit(part[i]) {
				return "", fmt.Errorf("%w: %q", ErrDecimal, s)
			}
		}
	}
	exp := new(big.Int)
	if expPart != "" {
		e := expPart
		if e[0] == '+' || e[0] == '-' {
			e = e[1:]
		}
		if e == "" {
			return "", fmt.Errorf("%w: %q", ErrDecimal, s)
		}
		for i := 0; i < len(e); i++ {
			if !isDigit(e[i]) {
				return "", fmt.Errorf("%w: %q", ErrDecimal, s)
			}
		}
		exp.SetString(expPart, 10)
	}
	exp.Sub(exp, big.NewInt(int64(len(frac))))
	coeff := strings.TrimLeft(intPart+frac, "0")
	if coeff == "" {
		coeff = "0"
	}
	if !exp.IsInt64() || exp.Int64() > math.MaxInt32 || exp.Int64() < math.MinInt32 {
		return "", fmt.Errorf("%w: exponent out of range: %q", ErrDecimal, s)
	}
	return Decimal(sign + decimalSciString(coeff, int(exp.Int64()))), nil
}

// decimalSciString is Decimal.__str__ for a finite value (without sign).
func decimalSciString(coeff string, exp int) string {
	leftdigits := exp + len(coeff)
	dotplace := 1
	if exp <= 0 && leftdigits > -6 {
		dotplace = leftdigits
	}
	var intpart, fracpart string
	switch {
	case dotplace <= 0:
		intpart = "0"
		fracpart = "." + strings.Repeat("0", -dotplace) + coeff
	case dotplace >= len(coeff):
		intpart = coeff + strings.Repeat("0", dotplace-len(coeff))
	default:
		intpart, fracpart = coeff[:dotplace], "."+coeff[dotplace:]
	}
	out := intpart + fracpart
	if leftdigits != dotplace {
		out += fmt.Sprintf("E%+d", leftdigits-dotplace)
	}
	return out
}

// Rat returns the decimal's exact value; ok is false for NaN and infinities
// or malformed text.
func (d Decimal) Rat() (*big.Rat, bool) {
	s := string(d)
	if strings.ContainsAny(s, "nN") {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// Float64 is Python's float(Decimal).
func (d Decimal) Float64() float64 {
	s := string(d)
	switch strings.TrimLeft(s, "+-") {
	case "Infinity":
		if strings.HasPrefix(s, "-") {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	if strings.Contains(s, "NaN") {
		return math.NaN()
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// String returns the text of d.
func (d Decimal) String() string { return string(d) }

// String returns the canonical form, as Python's str(uuid) does.
func (u UUID) String() string {
	const hexd = "0123456789abcdef"
	b := make([]byte, 0, 36)
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexd[x>>4], hexd[x&15])
	}
	return string(b)
}

// ErrUUID is returned (wrapped) by ParseUUID.
var ErrUUID = errors.New("pyvalue: badly formed hexadecimal UUID string")

// ParseUUID parses s as uuid.UUID(s) does: braces and the "urn:uuid:" prefix
// are stripped, hyphens anywhere ignored, and 32 hex digits must remain.
func ParseUUID(s string) (UUID, error) {
	h := strings.ReplaceAll(strings.ReplaceAll(s, "urn:", ""), "uuid:", "")
	h = strings.Trim(h, "{}")
	h = strings.ReplaceAll(h, "-", "")
	var u UUID
	if len(h) != 32 {
		return u, fmt.Errorf("%w: %q", ErrUUID, s)
	}
	for i := 0; i < 16; i++ {
		hi, ok1 := unhex(h[2*i])
		lo, ok2 := unhex(h[2*i+1])
		if !ok1 || !ok2 {
			return u, fmt.Errorf("%w: %q", ErrUUID, s)
		}
		u[i] = hi<<4 | lo
	}
	return u, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Int returns the UUID as Python's uuid.int (a 128-bit unsigned integer).
func (u UUID) Int() *big.Int { return new(big.Int).SetBytes(u[:]) }

// UUIDFromInt is uuid.UUID(int=n); ok is false outside 0 ≤ n < 2**128.
func UUIDFromInt(n *big.Int) (UUID, bool) {
	var u UUID
	if n.Sign() < 0 || n.BitLen() > 128 {
		return u, false
	}
	n.FillBytes(u[:])
	return u, true
}

// pyHashKey implementations let these value types be dict keys and set
// items with Python's equality: equal values give equal keys.

func (d DateTime) pyHashKey() string {
	if d.TZ != nil {
		if off, ok := d.TZ.UTCOffset(d); ok {
			// aware datetimes compare by instant
			u := d
			u.TZ, u.Fold = nil, 0
			t := time.Date(u.Year, time.Month(u.Month), u.Day, u.Hour, u.Minute, u.Second, u.Microsecond*1000, time.UTC).
				Add(-time.Duration(off) * time.Microsecond)
			return "a" + strconv.FormatInt(t.UnixMicro(), 10)
		}
		return fmt.Sprintf("o%p/%d-%d-%d %d:%d:%d.%d", d.TZ, d.Year, d.Month, d.Day, d.Hour, d.Minute, d.Second, d.Microsecond)
	}
	return fmt.Sprintf("n%d-%d-%d %d:%d:%d.%d", d.Year, d.Month, d.Day, d.Hour, d.Minute, d.Second, d.Microsecond)
}

func (d Date) pyHashKey() string { return fmt.Sprintf("%d-%d-%d", d.Year, d.Month, d.Day) }

func (t Time) pyHashKey() string {
	us := int64(t.Hour)*3600e6 + int64(t.Minute)*60e6 + int64(t.Second)*1e6 + int64(t.Microsecond)
	if t.TZ != nil && t.TZ.Kind != TZZoneInfo {
		if off, ok := t.TZ.UTCOffset(DateTime{Year: 1900, Month: 1, Day: 1}); ok {
			return "a" + strconv.FormatInt(us-off, 10)
		}
		return fmt.Sprintf("o%p/%d", t.TZ, us)
	}
	return "n" + strconv.FormatInt(us, 10)
}

func (td TimeDelta) pyHashKey() string {
	return fmt.Sprintf("%d/%d/%d", td.Days, td.Seconds, td.Microseconds)
}

func (d Decimal) pyHashKey() string {
	if r, ok := d.Rat(); ok {
		return r.RatString()
	}
	return strings.TrimPrefix(string(d), "+")
}

func (u UUID) pyHashKey() string { return string(u[:]) }

// PythonType gives TypeName its answer for a tzinfo used as a value.
func (tz *TZInfo) PythonType() string {
	switch tz.Kind {
	case TZUTC, TZFixed:
		return "datetime.timezone"
	case TZPytzUTC:
		return "pytz.UTC"
	case TZZoneInfo:
		return "zoneinfo.ZoneInfo"
	}
	if tz.Object != nil {
		return tz.Object.PythonType()
	}
	return "tzinfo"
}
