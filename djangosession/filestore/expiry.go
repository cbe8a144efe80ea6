package filestore

import (
	"math"
	"math/big"
	"syscall"
	"time"

	"github.com/djsession/djsession/pyvalue"
)

// expired applies the file engine's rule:
//
//	expiry = data.get("_session_expiry") or (mtime + SESSION_COOKIE_AGE)
//	expired = get_expiry_age(expiry=expiry) <= 0
func (s *Store) expired(data *pyvalue.Dict, mtime time.Time) (bool, error) {
	if v, ok := data.Get("_session_expiry"); ok && truthy(v) {
		return s.valueExpired(v, s.now())
	}
	return mtimeExpired(mtime, s.now(), s.cookieAge, s.useTZ, s.loc), nil
}

// mtimeExpired evaluates get_expiry_age(expiry=mtime + age) <= 0 with
// Python's arithmetic: st_mtime is a float, datetime.fromtimestamp rounds it
// half-even to microseconds, "now" has microsecond resolution, and the age
// is delta.days*86400 + delta.seconds (a floor). Without USE_TZ both sides
// are naive wall-clock times in TIME_ZONE, so the subtraction is done on
// wall clocks, as Django does.
func mtimeExpired(mtime, now time.Time, cookieAge int64, useTZ bool, loc *time.Location) bool {
	m := pyTimestampMicros(mtime)
	n := now.UnixMicro()
	if !useTZ {
		if loc == nil {
			loc = time.Local
		}
		m = wallMicros(m, loc)
		n = wallMicros(n, loc)
	}
	delta := m + cookieAge*1_000_000 - n
	return floorDiv(delta, 1_000_000) <= 0
}

// pyTimestampMicros is datetime.fromtimestamp(os.stat(f).st_mtime) as
// microseconds since the epoch.
func pyTimestampMicros(t time.Time) int64 {
	f := float64(t.Unix()) + float64(t.Nanosecond())*1e-9
	intpart, frac := math.Modf(f)
	us := math.RoundToEven(frac * 1e6)
	if us >= 1e6 {
		us -= 1e6
		intpart++
	} else if us < 0 {
		us += 1e6
		intpart--
	}
	return int64(intpart)*1_000_000 + int64(us)
}

// wallMicros returns the local wall-clock reading of the instant us in loc,
// counted as if it were UTC.
func wallMicros(us int64, loc *time.Location) int64 {
	_, off := time.UnixMicro(us).In(loc).Zone()
	return us + int64(off)*1_000_000
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// truthy is Python's bool() for the values a session may hold.
func truthy(v any) bool {
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

func isDirErr(err error) bool {
	return err == syscall.EISDIR || err == syscall.EPERM
}
