package djangosession

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/djsession/djsession/pyvalue"
)

// ExpiryKey is the session key holding a custom expiry (set_expiry).
const ExpiryKey = "_session_expiry"

// ErrInvalidExpiry: _session_expiry holds a value Django's expiry helpers
// fail on (a TypeError, ValueError or OverflowError in Python), e.g. an ISO
// string read by Django 3.2, a naive datetime while USE_TZ is on, or text
// that is not an ISO date. The wrapped message is Python's.
var ErrInvalidExpiry = errors.New("djangosession: invalid _session_expiry")

// ExpiryPolicy holds what Django's expiry helpers depend on, resolved once
// from Settings (the TIME_ZONE location in particular).
type ExpiryPolicy struct {
	// Version is the target Django version.
	Version Version
	// UseTZ is USE_TZ: timezone.now() is aware UTC when true, naive wall
	// time in Location when false.
	UseTZ bool
	// Location is TIME_ZONE; naive datetimes are wall times there.
	Location *time.Location
	// CookieAge is SESSION_COOKIE_AGE in seconds.
	CookieAge int64
	// ExpireAtBrowserClose is SESSION_EXPIRE_AT_BROWSER_CLOSE.
	ExpireAtBrowserClose bool
}

// ExpiryPolicy resolves the expiry rules of s.
func (s *Settings) ExpiryPolicy() (*ExpiryPolicy, error) {
	loc, err := s.Location()
	if err != nil {
		return nil, err
	}
	age := s.SessionCookieAge
	if age == 0 {
		age = DefaultSessionCookieAge
	}
	return &ExpiryPolicy{
		Version:              s.Version(),
		UseTZ:                s.UsesTZ(),
		Location:             loc,
		CookieAge:            age,
		ExpireAtBrowserClose: s.SessionExpireAtBrowserClose,
	}, nil
}

// GetExpiryAge is SessionBase.get_expiry_age(modification=modification,
// expiry=expiry) under s. See ExpiryPolicy.Age.
func GetExpiryAge(s *Settings, expiry any, modification time.Time) (float64, error) {
	p, err := s.ExpiryPolicy()
	if err != nil {
		return 0, err
	}
	return p.Age(expiry, modification)
}

// GetExpiryDate is SessionBase.get_expiry_date(modification=modification,
// expiry=expiry) under s. See ExpiryPolicy.Date.
func GetExpiryDate(s *Settings, expiry any, modification time.Time) (time.Time, error) {
	p, err := s.ExpiryPolicy()
	if err != nil {
		return time.Time{}, err
	}
	return p.Date(expiry, modification)
}

// pyTime is a Python datetime reduced to what arithmetic needs:
// microseconds since 0001-01-01, of the UTC instant (aware) or of the wall
// clock (naive).
type pyTime struct {
	us    int64
	aware bool
}

// epochUS is 1970-01-01 in microseconds since 0001-01-01.
const epochUS = 62135596800 * 1e6

func wallUS(t time.Time) int64 {
	w := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	return w.UnixMicro() + epochUS
}

// now is timezone.now() at modification: aware UTC with USE_TZ, else the
// naive wall clock of TIME_ZONE.
func (p *ExpiryPolicy) now(modification time.Time) pyTime {
	if p.UseTZ {
		return pyTime{us: modification.UnixMicro() + epochUS, aware: true}
	}
	return pyTime{us: wallUS(modification.In(p.Location))}
}

func (p *ExpiryPolicy) fromDateTime(d pyvalue.DateTime) (pyTime, error) {
	w := time.Date(d.Year, time.Month(d.Month), d.Day, d.Hour, d.Minute, d.Second, d.Microsecond*1000, time.UTC)
	us := w.UnixMicro() + epochUS
	if d.TZ == nil {
		return pyTime{us: us}, nil
	}
	off, ok := d.TZ.UTCOffset(d)
	if !ok {
		return pyTime{}, fmt.Errorf("%w: utcoffset of the datetime's tzinfo is unknown", ErrInvalidExpiry)
	}
	return pyTime{us: us - off, aware: true}, nil
}

// asDateTime returns the datetime an expiry value stands for: a datetime
// itself, or (4.1+) an ISO string parsed with fromisoformat. ok is false for
// other values.
func (p *ExpiryPolicy) asDateTime(expiry any) (pyvalue.DateTime, bool, error) {
	switch x := expiry.(type) {
	case pyvalue.DateTime:
		return x, true, nil
	case *pyvalue.DateTime:
		if x != nil {
			return *x, true, nil
		}
	case string:
		if p.Version.StoresExpiryAsISO() {
			d, err := pyvalue.ParseISO(x)
			if err != nil {
				return pyvalue.DateTime{}, true, fmt.Errorf("%w: ValueError: Invalid isoformat string: %s", ErrInvalidExpiry, pyRepr(x))
			}
			return d, true, nil
		}
	}
	return pyvalue.DateTime{}, false, nil
}

// Truthy is Python's bool() for the values a session may hold: false for
// None, False, zero numbers, empty strings, bytes, containers and a zero
// timedelta. Django's expiry helpers and the file engine's "expiry or
// mtime + SESSION_COOKIE_AGE" test _session_expiry with it.
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case int:
		return x != 0
	case *big.Int:
		return x.Sign() != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case pyvalue.Bytes:
		return len(x) != 0
	case pyvalue.ByteArray:
		return len(x) != 0
	case []any:
		return len(x) != 0
	case pyvalue.Tuple:
		return len(x) != 0
	case *pyvalue.Dict:
		return x != nil && x.Len() != 0
	case pyvalue.TimeDelta:
		return x.Days != 0 || x.Seconds != 0 || x.Microseconds != 0
	}
	return true
}

// number returns a numeric expiry as float64 (bool counts as int).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case float64:
		return x, true
	}
	return 0, false
}

// Age is get_expiry_age(modification=modification, expiry=expiry), expiry
// being the raw _session_expiry value (nil when absent):
//   - missing, None, 0 or another falsy value: SESSION_COOKIE_AGE;
//   - a number: the number itself (a relative age, not the time left; a
//     float stays fractional, an int beyond 2**53 is rounded);
//   - a datetime, or from 4.1 an ISO string: whole seconds from
//     modification to it, floored (negative once past), computed on UTC
//     instants with USE_TZ and on TIME_ZONE wall clocks without.
//
// Where Django raises or returns a non-number, Age fails with
// ErrInvalidExpiry: a string under 3.2 (which returns the string itself),
// unparseable ISO text, a naive datetime with USE_TZ (or an aware one
// without), any other type.
func (p *ExpiryPolicy) Age(expiry any, modification time.Time) (float64, error) {
	if !Truthy(expiry) {
		return float64(p.CookieAge), nil
	}
	d, isDT, err := p.asDateTime(expiry)
	if err != nil {
		return 0, err
	}
	if !isDT {
		if f, ok := number(expiry); ok {
			return f, nil
		}
		return 0, fmt.Errorf("%w: get_expiry_age returns the %s itself, not a number of seconds", ErrInvalidExpiry, pyvalue.TypeName(expiry))
	}
	e, err := p.fromDateTime(d)
	if err != nil {
		return 0, err
	}
	now := p.now(modification)
	if e.aware != now.aware {
		return 0, fmt.Errorf("%w: TypeError: can't subtract offset-naive and offset-aware datetimes", ErrInvalidExpiry)
	}
	delta := e.us - now.us
	secs := delta / 1e6
	if delta%1e6 < 0 {
		secs--
	}
	return float64(secs), nil
}

// maxTimeDeltaSeconds is timedelta.max in seconds (999999999 days).
const maxTimeDeltaSeconds = 999999999*86400 + 86399

// Date is get_expiry_date(modification=modification, expiry=expiry):
//   - a datetime, or from 4.1 an ISO string: that datetime (a naive one is
//     read as wall time in TIME_ZONE);
//   - otherwise modification + timedelta(seconds=expiry or
//     SESSION_COOKIE_AGE), the addition done on the UTC instant with
//     USE_TZ and on the TIME_ZONE wall clock without (so a naive result is
//     the wall time Django computes, returned in Location).
//
// It fails with ErrInvalidExpiry where Django raises: a string under 3.2,
// unparseable ISO text, a non-numeric value, NaN, or a date out of Python's
// range. A naive wall time that does not exist in Location (inside a DST
// gap) is normalized by time.Date; DateTime gives the exact value.
func (p *ExpiryPolicy) Date(expiry any, modification time.Time) (time.Time, error) {
	d, err := p.DateTime(expiry, modification)
	if err != nil {
		return time.Time{}, err
	}
	return p.timeOf(d)
}

// timeOf converts a datetime Date returns: naive ones are wall times in
// Location.
func (p *ExpiryPolicy) timeOf(d pyvalue.DateTime) (time.Time, error) {
	if d.TZ == nil {
		return time.Date(d.Year, time.Month(d.Month), d.Day, d.Hour, d.Minute, d.Second, d.Microsecond*1000, p.Location), nil
	}
	t, err := d.GoTime(nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %v", ErrInvalidExpiry, err)
	}
	return t, nil
}

// DateTime is Date returning the datetime exactly as Django holds it: the
// stored datetime itself, aware UTC with USE_TZ, or the naive TIME_ZONE wall
// time without (even one inside a DST gap, which Django stores as is).
func (p *ExpiryPolicy) DateTime(expiry any, modification time.Time) (pyvalue.DateTime, error) {
	d, isDT, err := p.asDateTime(expiry)
	if err != nil {
		return pyvalue.DateTime{}, err
	}
	if isDT {
		if d.TZ != nil {
			if _, ok := d.TZ.UTCOffset(d); !ok {
				return pyvalue.DateTime{}, fmt.Errorf("%w: utcoffset of the datetime's tzinfo is unknown", ErrInvalidExpiry)
			}
		}
		return d, nil
	}
	var secs float64
	if !Truthy(expiry) {
		secs = float64(p.CookieAge)
	} else {
		f, ok := number(expiry)
		if !ok {
			return pyvalue.DateTime{}, fmt.Errorf("%w: TypeError: unsupported type for timedelta seconds component: %s", ErrInvalidExpiry, pyvalue.TypeName(expiry))
		}
		secs = f
	}
	if math.IsNaN(secs) {
		return pyvalue.DateTime{}, fmt.Errorf("%w: ValueError: cannot convert float NaN to integer", ErrInvalidExpiry)
	}
	if math.Abs(secs) > maxTimeDeltaSeconds+1 {
		return pyvalue.DateTime{}, fmt.Errorf("%w: OverflowError: days out of range for timedelta", ErrInvalidExpiry)
	}
	// timedelta(seconds=f) rounds to microseconds, half to even.
	var deltaUS int64
	if secs == math.Trunc(secs) {
		deltaUS = int64(secs) * 1e6
	} else {
		whole := math.Trunc(secs)
		deltaUS = int64(whole)*1e6 + int64(math.RoundToEven((secs-whole)*1e6))
	}
	now := p.now(modification)
	res := now.us + deltaUS
	// datetime supports years 1..9999.
	if res < 0 || res >= maxDateTimeUS {
		return pyvalue.DateTime{}, fmt.Errorf("%w: OverflowError: date value out of range", ErrInvalidExpiry)
	}
	u := time.UnixMicro(res - epochUS).UTC()
	out := pyvalue.NaiveDateTimeFromTime(u)
	if now.aware {
		out.TZ = pyvalue.UTC()
	}
	return out, nil
}

// maxDateTimeUS is 10000-01-01 in microseconds since 0001-01-01.
const maxDateTimeUS = 315537897600 * 1e6

// AtBrowserClose is get_expire_at_browser_close(): with no _session_expiry
// (present false, or a None value) SESSION_EXPIRE_AT_BROWSER_CLOSE,
// otherwise whether the value == 0 (0, 0.0 or False).
func (p *ExpiryPolicy) AtBrowserClose(expiry any, present bool) bool {
	if !present || expiry == nil {
		return p.ExpireAtBrowserClose
	}
	switch x := expiry.(type) {
	case bool:
		return !x
	case int64:
		return x == 0
	case int:
		return x == 0
	case *big.Int:
		return x.Sign() == 0
	case float64:
		return x == 0
	}
	return false
}

// pyRepr quotes s as Python's repr of a str does for the common cases
// (used in error messages only).
func pyRepr(s string) string {
	q := strconv.Quote(s)
	return "'" + q[1:len(q)-1] + "'"
}
