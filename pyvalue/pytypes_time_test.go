package pyvalue

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestISOFormat(t *testing.T) {
	tests := []struct {
		d    DateTime
		want string
	}{
		{DateTime{Year: 2023, Month: 11, Day: 14, Hour: 22, Minute: 13, Second: 20}, "2023-11-14T22:13:20"},
		{DateTime{Year: 2023, Month: 11, Day: 14, Hour: 22, Minute: 13, Second: 20, Microsecond: 5, TZ: UTC()}, "2023-11-14T22:13:20.000005+00:00"},
		{DateTime{Year: 1, Month: 1, Day: 1, TZ: &TZInfo{Kind: TZPytzUTC}}, "0001-01-01T00:00:00+00:00"},
		{DateTime{Year: 2023, Month: 1, Day: 2, TZ: FixedZone(-(5*3600+30*60)*1e6, "")}, "2023-01-02T00:00:00-05:30"},
		{DateTime{Year: 2023, Month: 1, Day: 2, TZ: FixedZone(3723000001, "")}, "2023-01-02T00:00:00+01:02:03.000001"},
		{DateTime{Year: 2023, Month: 1, Day: 2, TZ: FixedZone(-1, "")}, "2023-01-02T00:00:00-00:00:00.000001"},
		{DateTime{Year: 2023, Month: 7, Day: 1, Hour: 12, TZ: &TZInfo{Kind: TZZoneInfo, Name: "Europe/Paris"}}, "2023-07-01T12:00:00+02:00"},
		{DateTime{Year: 2023, Month: 1, Day: 1, Hour: 12, TZ: &TZInfo{Kind: TZZoneInfo, Name: "Europe/Paris"}}, "2023-01-01T12:00:00+01:00"},
		// 02:30 on 2023-10-29 happens twice in Paris: fold selects which.
		{DateTime{Year: 2023, Month: 10, Day: 29, Hour: 2, Minute: 30, TZ: &TZInfo{Kind: TZZoneInfo, Name: "Europe/Paris"}}, "2023-10-29T02:30:00+02:00"},
		{DateTime{Year: 2023, Month: 10, Day: 29, Hour: 2, Minute: 30, Fold: 1, TZ: &TZInfo{Kind: TZZoneInfo, Name: "Europe/Paris"}}, "2023-10-29T02:30:00+01:00"},
	}
	for _, tt := range tests {
		if got := tt.d.ISOFormat(); got != tt.want {
			t.Errorf("ISOFormat(%+v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestParseISO(t *testing.T) {
	tests := []struct {
		in   string
		want string // ISOFormat of the result, "" for an error
	}{
		{"2023-11-14T22:13:20", "2023-11-14T22:13:20"},
		{"2023-11-14T22:13:20.123456+00:00", "2023-11-14T22:13:20.123456+00:00"},
		{"2023-11-14 22:13:20Z", "2023-11-14T22:13:20+00:00"},
		{"20231114T221320", "2023-11-14T22:13:20"},
		{"2023-11-14T22:13:20,5-05:30", "2023-11-14T22:13:20.500000-05:30"},
		{"2023-11-14T22:13:20.1234567891", "2023-11-14T22:13:20.123456"},
		{"2023-W46-2", "2023-11-14T00:00:00"},
		{"2023W462T10", "2023-11-14T10:00:00"},
		{"2023-11-14", "2023-11-14T00:00:00"},
		{"2023-11-14T24:00:00", ""},
		{"2023-02-29", ""},
		{"2023-11-14T22:13:20+24:00", ""},
		{"2023-1114", ""},
		{"", ""},
		{"2023-11-14T", ""},
	}
	for _, tt := range tests {
		d, err := ParseISO(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseISO(%q) = %s, want error", tt.in, d.ISOFormat())
			} else if !errors.Is(err, ErrISOFormat) {
				t.Errorf("ParseISO(%q) error %v is not ErrISOFormat", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseISO(%q): %v", tt.in, err)
			continue
		}
		if got := d.ISOFormat(); got != tt.want {
			t.Errorf("ParseISO(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	d, err := ParseISO("2023-11-14T22:13:20+00:00")
	if err != nil || d.TZ == nil || d.TZ.Kind != TZUTC {
		t.Errorf("+00:00 should give timezone.utc, got %+v %v", d.TZ, err)
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1.50", "1.50"}, {" 1e2 ", "1E+2"}, {"-0", "-0"}, {"0.000001", "0.000001"},
		{"0.0000001", "1E-7"}, {"1_000.5", "1000.5"}, {"inf", "Infinity"}, {"-NaN12", "-NaN12"},
		{"sNaN", "sNaN"}, {".5", "0.5"}, {"5.", "5"}, {"123E-2", "1.23"}, {"00012", "12"},
		{"1e", ""}, {"_1", "1"}, {"1__0", "10"}, {"abc", ""}, {".", ""}, {"", ""},
	}
	for _, tt := range tests {
		got, err := ParseDecimal(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseDecimal(%q) = %q, want error", tt.in, got)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("ParseDecimal(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestUUID(t *testing.T) {
	for _, s := range []string{"12345678-1234-5678-1234-567812345678", "{12345678123456781234567812345678}", "urn:uuid:12345678-1234-5678-1234-567812345678"} {
		u, err := ParseUUID(s)
		if err != nil || u.String() != "12345678-1234-5678-1234-567812345678" {
			t.Errorf("ParseUUID(%q) = %v, %v", s, u, err)
		}
		v, ok := UUIDFromInt(u.Int())
		if !ok || v != u {
			t.Errorf("UUIDFromInt(Int()) = %v", v)
		}
	}
	if _, err := ParseUUID("1234"); !errors.Is(err, ErrUUID) {
		t.Errorf("short UUID: %v", err)
	}
}

func TestTimeConversions(t *testing.T) {
	tm := time.Date(2023, 11, 14, 22, 13, 20, 123456789, time.UTC)
	d := DateTimeFromTime(tm)
	if got := d.ISOFormat(); got != "2023-11-14T22:13:20.123456+00:00" {
		t.Errorf("DateTimeFromTime = %q", got)
	}
	back, err := d.GoTime(nil)
	if err != nil || !back.Equal(tm.Truncate(time.Microsecond)) {
		t.Errorf("GoTime = %v, %v", back, err)
	}
	if _, err := (DateTime{Year: 2023, Month: 1, Day: 1}).GoTime(nil); err == nil {
		t.Error("naive GoTime without location should fail")
	}
	td := NewTimeDelta(0, -1, 0)
	if td != (TimeDelta{Days: -1, Seconds: 86399}) {
		t.Errorf("NewTimeDelta(0,-1,0) = %+v", td)
	}
	if dur, ok := td.Duration(); !ok || dur != -time.Second {
		t.Errorf("Duration = %v %v", dur, ok)
	}
	if got := TimeDeltaFromDuration(90 * time.Minute); got != (TimeDelta{Seconds: 5400}) {
		t.Errorf("TimeDeltaFromDuration = %+v", got)
	}
	if s := NewTimeDelta(-1, 5, 7).String(); s != "-1 day, 0:00:05.000007" {
		t.Errorf("String = %q", s)
	}
}

// isoCorpus builds strings near valid isoformat shapes: valid outputs, then
// random single-byte edits, truncations and separator swaps.
func isoCorpus(n int) []string {
	r := rand.New(rand.NewSource(7))
	seeds := []string{
		"2023-11-14T22:13:20", "2023-11-14T22:13:20.123456+05:30", "20231114T221320Z",
		"2023-W46-2T10:11", "2023W462", "2023-W46", "2024-02-29 00:00:00,5", "2023-11-14T22:13:20-00:00:01.5",
		"2023-11-14T22", "2023-11-14T2213", "2023-11-14T221320.5+0530", "2020-W53-7", "2021-W53-1",
		"9999-12-31T23:59:59.999999", "0001-01-01T00:00:00+23:59:59.999999",
	}
	alphabet := "0123456789-:+.,TWZ tx\u00e9"
	out := append([]string(nil), seeds...)
	for len(out) < n {
		s := []byte(seeds[r.Intn(len(seeds))])
		for k := r.Intn(3) + 1; k > 0; k-- {
			switch op := r.Intn(4); {
			case op == 0 && len(s) > 0:
				s[r.Intn(len(s))] = alphabet[r.Intn(len(alphabet)-2)]
			case op == 1 && len(s) > 0:
				s = s[:r.Intn(len(s))]
			case op == 2:
				i := r.Intn(len(s) + 1)
				s = append(s[:i], append([]byte{alphabet[r.Intn(len(alphabet)-2)]}, s[i:]...)...)
			default:
				if len(s) > 10 {
					s = append(append(append([]byte{}, s[:10]...), "\u00e9"...), s[11:]...)
				}
			}
		}
		if utf8.Valid(s) { // JSON would alter invalid UTF-8 on its way to Python
			out = append(out, string(s))
		}
	}
	return out
}

// needCPython returns Debian's python3, skipping the test when it is
// missing, or failing it under CI=true, where a missing peer must never
// pass as green.
func needCPython(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true", py)
		}
		t.Skipf("%s not available", py)
	}
	return py
}

// TestParseISOAgainstCPython compares ParseISO with /usr/bin/python3's
// datetime.fromisoformat on thousands of near-valid strings in one process.
func TestParseISOAgainstCPython(t *testing.T) {
	py := needCPython(t)
	corpus := isoCorpus(5000)
	in, _ := json.Marshal(corpus)
	script := `
import sys, json, datetime
out = []
for s in json.load(sys.stdin):
    try:
        d = datetime.datetime.fromisoformat(s)
        out.append(d.isoformat())
    except ValueError:
        out.append(None)
json.dump(out, sys.stdout)
`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var want []*string
	if err := json.Unmarshal(res, &want); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i, s := range corpus {
		d, err := ParseISO(s)
		switch {
		case want[i] == nil && err == nil:
			t.Errorf("ParseISO(%q) = %q, CPython rejects it", s, d.ISOFormat())
			bad++
		case want[i] != nil && err != nil:
			t.Errorf("ParseISO(%q) failed, CPython gives %q", s, *want[i])
			bad++
		case want[i] != nil && d.ISOFormat() != *want[i]:
			t.Errorf("ParseISO(%q) = %q, CPython gives %q", s, d.ISOFormat(), *want[i])
			bad++
		}
		if bad > 20 {
			t.Fatal("too many mismatches")
		}
	}
}

func FuzzParseISO(f *testing.F) {
	for _, s := range isoCorpus(50) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseISO(s)
		if err != nil {
			return
		}
		// Whatever parses must format to something that parses back equal.
		again, err := ParseISO(d.ISOFormat())
		if err != nil || again.ISOFormat() != d.ISOFormat() {
			t.Fatalf("%q -> %q does not round-trip: %v", s, d.ISOFormat(), err)
		}
	})
}

// TestParseDecimalAgainstCPython compares ParseDecimal with
// str(decimal.Decimal(s)) on generated ASCII literals.
func TestParseDecimalAgainstCPython(t *testing.T) {
	py := needCPython(t)
	r := rand.New(rand.NewSource(3))
	parts := []string{"0", "1", "9", "00", "12_3", "_", ".", "e", "E", "+", "-", "5", "inf", "Infinity", "nan", "sNaN", " ", "x", "1e400", "0.000", "7"}
	corpus := []string{"1.50", "-0", "1e2", "0.0000001", "123456789.987654321", " 42 ", "1_000", "NaN123", "-sNaN", "+Inf"}
	for len(corpus) < 3000 {
		var b strings.Builder
		for k := r.Intn(5) + 1; k > 0; k-- {
			b.WriteString(parts[r.Intn(len(parts))])
		}
		corpus = append(corpus, b.String())
	}
	in, _ := json.Marshal(corpus)
	script := `
import sys, json, decimal
out = []
for s in json.load(sys.stdin):
    try:
        out.append(str(decimal.Decimal(s)))
    except (decimal.InvalidOperation, ValueError):
        out.append(None)
json.dump(out, sys.stdout)
`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	res, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []*string
	if err := json.Unmarshal(res, &want); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i, s := range corpus {
		got, err := ParseDecimal(s)
		switch {
		case want[i] == nil && err == nil:
			t.Errorf("ParseDecimal(%q) = %q, CPython rejects it", s, got)
			bad++
		case want[i] != nil && err != nil:
			t.Errorf("ParseDecimal(%q) failed, CPython gives %q", s, *want[i])
			bad++
		case want[i] != nil && string(got) != *want[i]:
			t.Errorf("ParseDecimal(%q) = %q, CPython gives %q", s, got, *want[i])
			bad++
		}
		if bad > 15 {
			t.Fatal("too many mismatches")
		}
	}
}
