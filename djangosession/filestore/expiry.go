package filestore

import (
	"math"
	"syscall"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
)

// expired applies the file engine's rule:
//
//	expiry = data.get("_session_expiry") or (mtime + SESSION_COOKIE_AGE)
//	expired = get_expiry_age(expiry=expiry) <= 0
func (s *Store) expired(data *pyvalue.Dict, mtime time.Time) (bool, error) {
	v, _ := data.Get(djangosession.ExpiryKey)
	if !djangosession.Truthy(v) {
		v = mtimeExpiry(mtime, s.cookieAge, s.useTZ, s.loc)
	}
	age, err := s.policy.Age(v, s.now())
	if err != nil {
		return false, err
	}
	return age <= 0, nil
}

// mtimeExpiry is the file engine's fallback expiry,
// datetime.fromtimestamp(st_mtime, tz) + timedelta(seconds=cookieAge):
// st_mtime is a float, fromtimestamp rounds it half-even to microseconds,
// and it is aware UTC with USE_TZ, else the naive wall clock in TIME_ZONE
// (to which the age is added, so that get_expiry_age compares wall clocks
// as Django does).
func mtimeExpiry(mtime time.Time, cookieAge int64, useTZ bool, loc *time.Location) pyvalue.DateTime {
	m := time.UnixMicro(pyTimestampMicros(mtime))
	if useTZ {
		return pyvalue.DateTimeFromTime(addSeconds(m.UTC(), cookieAge))
	}
	if loc == nil {
		loc = time.Local
	}
	w := m.In(loc)
	wall := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
	return pyvalue.NaiveDateTimeFromTime(addSeconds(wall, cookieAge))
}

// addSeconds adds whole seconds without time.Duration's ±292-year limit.
func addSeconds(t time.Time, secs int64) time.Time {
	return time.Unix(t.Unix()+secs, int64(t.Nanosecond())).In(t.Location())
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

func isDirErr(err error) bool {
	return err == syscall.EISDIR || err == syscall.EPERM
}
