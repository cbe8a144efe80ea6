package djangosession

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
)

// The vectors ran with timezone.now() frozen at an aware UTC instant: USE_TZ
// on.
func vectorPolicy(t *testing.T, c vectors.Case) *ExpiryPolicy {
	s := caseSettings(t, c)
	on := true
	s.UseTZ = &on
	p, err := s.ExpiryPolicy()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func checkAge(t *testing.T, c vectors.Case, got float64, err error, path ...string) {
	t.Helper()
	if class, msg, ok := c.Error(path...); ok {
		if !errors.Is(err, ErrInvalidExpiry) || !strings.Contains(err.Error(), msg) {
			t.Errorf("Age = %v, %v; want %s: %s", got, err, class, msg)
		}
		return
	}
	want := c.Value(append(path, "result")...)
	switch w := want.(type) {
	case string:
		// Django 3.2 returns the string itself; Go refuses.
		if !errors.Is(err, ErrInvalidExpiry) {
			t.Errorf("Age = %v, %v; Django returned the string %q", got, err, w)
		}
	default:
		f, _ := number(w)
		if err != nil || got != f {
			t.Errorf("Age = %v, %v; want %v", got, err, w)
		}
	}
}

func checkDate(t *testing.T, c vectors.Case, p *ExpiryPolicy, got time.Time, err error, want any) {
	t.Helper()
	wd, ok := want.(pyvalue.DateTime)
	if !ok {
		t.Fatalf("want %T", want)
	}
	if err != nil {
		t.Fatalf("Date: %v, want %v", err, wd)
	}
	wt, err := wd.GoTime(p.Location)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(wt) {
		t.Errorf("Date = %v, want %v", got, wt)
	}
}

func TestExpiryVectors(t *testing.T) {
	cases := vectors.Select(vectors.Load(t, "session_encode.json"), "get_expiry_age", "set_expiry")
	if len(cases) != 96 {
		t.Fatalf("%d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			c := c.WithT(t)
			p := vectorPolicy(t, c)
			now, err := time.Parse(time.RFC3339, c.Str("now"))
			if err != nil {
				t.Fatal(err)
			}
			raw, present := c.Lookup("stored__session_expiry")
			var expiry any
			if present && raw != nil {
				expiry = c.Value("stored__session_expiry")
			}
			if !present {
				// "no _session_expiry": plain results.
				age, err := p.Age(nil, now)
				if want := c.Int("get_expiry_age"); err != nil || age != float64(want) {
					t.Errorf("Age = %v, %v; want %d", age, err, want)
				}
				d, err := p.Date(nil, now)
				checkDate(t, c, p, d, err, c.Value("get_expiry_date"))
				if got := p.AtBrowserClose(nil, false); got != c.Bool("get_expire_at_browser_close") {
					t.Errorf("AtBrowserClose = %v", got)
				}
				return
			}
			age, err := p.Age(expiry, now)
			checkAge(t, c, age, err, "get_expiry_age")
			d, err := p.Date(expiry, now)
			if class, msg, ok := c.Error("get_expiry_date"); ok {
				if !errors.Is(err, ErrInvalidExpiry) || !strings.Contains(err.Error(), msg) {
					t.Errorf("Date = %v, %v; want %s: %s", d, err, class, msg)
				}
			} else {
				checkDate(t, c, p, d, err, c.Value("get_expiry_date", "result"))
			}
			var wantClose bool
			if c.Op() == "set_expiry" {
				wantClose = c.Bool("get_expire_at_browser_close")
			} else {
				wantClose = c.Bool("get_expire_at_browser_close", "result")
			}
			if got := p.AtBrowserClose(expiry, expiry != nil); got != wantClose {
				t.Errorf("AtBrowserClose = %v, want %v", got, wantClose)
			}
		})
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// USE_TZ=False: Django adds seconds to naive wall times of TIME_ZONE
// (DJANGO_FORMATS.md §12), so results drift by the DST shift in real time.
func TestExpiryNaiveWallClock(t *testing.T) {
	chicago := mustLoc(t, "America/Chicago")
	kathmandu := mustLoc(t, "Asia/Kathmandu") // +05:45
	tests := []struct {
		name     string
		loc      *time.Location
		now      time.Time
		expiry   any
		wantAge  float64
		wantWall string // get_expiry_date as naive isoformat
		ageErr   bool
	}{
		{"default age", chicago, time.Date(2023, 11, 14, 16, 13, 20, 0, chicago), nil, 1209600, "2023-11-28T16:13:20", false},
		// 200 days across the March DST change: wall clock + 200 days, one
		// hour less in real time.
		{"across DST", chicago, time.Date(2023, 1, 1, 12, 0, 0, 0, chicago), int64(200 * 86400), 200 * 86400, "2023-07-20T12:00:00", false},
		{"naive iso, wall difference", chicago, time.Date(2023, 3, 11, 12, 0, 0, 0, chicago), "2023-03-12T12:00:00", 86400, "2023-03-12T12:00:00", false},
		{"45 minute zone", kathmandu, time.Date(2023, 11, 15, 3, 58, 20, 0, kathmandu), int64(300), 300, "2023-11-15T04:03:20", false},
		{"naive iso in the past", kathmandu, time.Date(2023, 11, 15, 3, 58, 20, 500000000, kathmandu), "2023-11-15T03:58:19", -2, "2023-11-15T03:58:19", false},
		{"aware iso with USE_TZ off", chicago, time.Date(2023, 11, 14, 16, 13, 20, 0, chicago), "2023-11-15T00:13:20+00:00", 0, "", true},
		{"float", chicago, time.Date(2023, 11, 14, 16, 13, 20, 0, chicago), 0.25, 0.25, "2023-11-14T16:13:20.250000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &ExpiryPolicy{Version: Version{4, 2}, UseTZ: false, Location: tt.loc, CookieAge: 1209600}
			age, err := p.Age(tt.expiry, tt.now)
			if tt.ageErr {
				if !errors.Is(err, ErrInvalidExpiry) {
					t.Errorf("Age = %v, %v; want ErrInvalidExpiry", age, err)
				}
			} else if err != nil || age != tt.wantAge {
				t.Errorf("Age = %v, %v; want %v", age, err, tt.wantAge)
			}
			if tt.wantWall == "" {
				return
			}
			d, err := p.Date(tt.expiry, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if d.Location() != tt.loc {
				t.Errorf("Date location %v", d.Location())
			}
			if got := pyvalue.NaiveDateTimeFromTime(d).ISOFormat(); got != tt.wantWall {
				t.Errorf("Date = %s, want %s", got, tt.wantWall)
			}
		})
	}
}

func TestExpiryOddValues(t *testing.T) {
	p := &ExpiryPolicy{Version: Version{6, 0}, UseTZ: true, Location: time.UTC, CookieAge: 100}
	now := frozen
	tests := []struct {
		expiry  any
		age     float64
		ageErr  bool
		date    time.Time
		dateErr bool
		close   bool
	}{
		{false, 100, false, now.Add(100 * time.Second), false, true},
		{true, 1, false, now.Add(time.Second), false, false},
		{"", 100, false, time.Time{}, true, false}, // falsy: cookie age; fromisoformat("") fails
		{[]any{}, 100, false, now.Add(100 * time.Second), false, false},
		{[]any{int64(1)}, 0, true, time.Time{}, true, false},
		{math.NaN(), math.NaN(), false, time.Time{}, true, false},
		{math.Inf(1), math.Inf(1), false, time.Time{}, true, false},
		{-0.0, 100, false, now.Add(100 * time.Second), false, true},
		{int64(-5), -5, false, now.Add(-5 * time.Second), false, false},
		{int64(1e15), 1e15, false, time.Time{}, true, false},
		{new(big.Int).Lsh(big.NewInt(1), 80), math.Ldexp(1, 80), false, time.Time{}, true, false},
		{1.25, 1.25, false, now.Add(1250 * time.Millisecond), false, false},
		{pyvalue.DateTime{Year: 2023, Month: 11, Day: 14, Hour: 22, Minute: 13, Second: 21, Microsecond: 1, TZ: &pyvalue.TZInfo{Kind: pyvalue.TZPytzUTC}}, 1, false, now.Add(time.Second + time.Microsecond), false, false},
		{pyvalue.DateTime{Year: 2023, Month: 11, Day: 14, Hour: 22, Minute: 13, Second: 19, Microsecond: 999999, TZ: pyvalue.UTC()}, -1, false, now.Add(-time.Microsecond), false, false},
	}
	for i, tt := range tests {
		age, err := p.Age(tt.expiry, now)
		switch {
		case tt.ageErr:
			if !errors.Is(err, ErrInvalidExpiry) {
				t.Errorf("%d: Age(%v) = %v, %v; want error", i, tt.expiry, age, err)
			}
		case err != nil || !(age == tt.age || math.IsNaN(age) && math.IsNaN(tt.age)):
			t.Errorf("%d: Age(%v) = %v, %v; want %v", i, tt.expiry, age, err, tt.age)
		}
		d, err := p.Date(tt.expiry, now)
		switch {
		case tt.dateErr:
			if !errors.Is(err, ErrInvalidExpiry) {
				t.Errorf("%d: Date(%v) = %v, %v; want error", i, tt.expiry, d, err)
			}
		case err != nil || !d.Equal(tt.date):
			t.Errorf("%d: Date(%v) = %v, %v; want %v", i, tt.expiry, d, err, tt.date)
		}
		if got := p.AtBrowserClose(tt.expiry, true); got != tt.close {
			t.Errorf("%d: AtBrowserClose(%v) = %v", i, tt.expiry, got)
		}
	}
	// 3.2 reads a string as a number of seconds would be read: it fails.
	p32 := &ExpiryPolicy{Version: Version{3, 2}, UseTZ: true, Location: time.UTC, CookieAge: 100}
	if _, err := p32.Date("2023-11-15T00:13:20+00:00", now); err == nil || !strings.Contains(err.Error(), "unsupported type for timedelta seconds component: str") {
		t.Errorf("3.2 Date(str) = %v", err)
	}
	if _, err := GetExpiryAge(&Settings{TimeZone: "Nowhere/Else"}, nil, now); err == nil {
		t.Error("GetExpiryAge with a bad TIME_ZONE succeeded")
	}
	s, _ := LoadSettings([]byte(`{"SECRET_KEY":"k","SESSION_COOKIE_AGE":60}`))
	if age, err := GetExpiryAge(s, nil, now); err != nil || age != 60 {
		t.Errorf("GetExpiryAge = %v, %v", age, err)
	}
	if d, err := GetExpiryDate(s, int64(5), now); err != nil || !d.Equal(now.Add(5*time.Second)) {
		t.Errorf("GetExpiryDate = %v, %v", d, err)
	}
}

// TestTruthy: Python's bool() decides whether _session_expiry counts
// ("if not expiry: return get_session_cookie_age()"), empty bytearray and a
// zero timedelta included, so both give SESSION_COOKIE_AGE.
func TestTruthy(t *testing.T) {
	for _, c := range []struct {
		v    any
		want bool
	}{
		{nil, false}, {false, false}, {true, true}, {int64(0), false}, {int64(-1), true},
		{big.NewInt(0), false}, {0.0, false}, {0.5, true}, {"", false}, {"x", true},
		{pyvalue.Bytes{}, false}, {pyvalue.ByteArray{}, false}, {pyvalue.ByteArray{0}, true},
		{[]any{}, false}, {pyvalue.Tuple{}, false}, {pyvalue.NewDict(0), false}, {(*pyvalue.Dict)(nil), false},
		{pyvalue.TimeDelta{}, false}, {pyvalue.TimeDelta{Microseconds: 1}, true},
		{pyvalue.DateTime{Year: 2024, Month: 1, Day: 1}, true},
	} {
		if got := Truthy(c.v); got != c.want {
			t.Errorf("Truthy(%#v) = %v, want %v", c.v, got, c.want)
		}
	}
	p := &ExpiryPolicy{Version: Version{Major: 5, Minor: 2}, UseTZ: true, Location: time.UTC, CookieAge: 1209600}
	for _, v := range []any{pyvalue.TimeDelta{}, pyvalue.ByteArray{}} {
		if age, err := p.Age(v, time.Unix(1700000000, 0)); err != nil || age != 1209600 {
			t.Errorf("Age(%#v) = %v, %v; want the cookie age", v, age, err)
		}
	}
}
