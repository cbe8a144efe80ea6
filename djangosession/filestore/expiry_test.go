package filestore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
)

// mtimeExpired is the engine's fallback rule alone:
// get_expiry_age(expiry=mtimeExpiry(...)) <= 0 at now.
func mtimeExpired(mtime, now time.Time, cookieAge int64, useTZ bool, loc *time.Location) bool {
	p := djangosession.ExpiryPolicy{UseTZ: useTZ, Location: loc, CookieAge: cookieAge}
	age, err := p.Age(mtimeExpiry(mtime, cookieAge, useTZ, loc), now)
	return err == nil && age <= 0
}

// TestMtimeExpiryWallClock: without USE_TZ Django compares naive wall
// clocks in TIME_ZONE, so across a DST change the mtime rule is an hour off
// real time. Values checked with CPython (TZ=America/Chicago):
// fromtimestamp(1710007200) + 1 day - fromtimestamp(1710091800) = -1800 s.
func TestMtimeExpiryWallClock(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatalf("no zone database: %v", err)
	}
	mtime, now := time.Unix(1710007200, 0), time.Unix(1710091800, 0)
	if !mtimeExpired(mtime, now, 86400, false, chicago) {
		t.Fatal("USE_TZ=False: want expired (wall-clock age -1800)")
	}
	if mtimeExpired(mtime, now, 86400, true, chicago) {
		t.Fatal("USE_TZ=True: want valid (real age +1800)")
	}
}

// TestMtimeRounding: st_mtime is a float and fromtimestamp rounds it to
// microseconds half-even; the boundary (age 0 = expired) follows.
func TestMtimeRounding(t *testing.T) {
	base := time.Unix(frozen, 0)
	for _, c := range []struct {
		mtime, now time.Time
		expired    bool
	}{
		{base, base.Add(1209599 * time.Second), false},
		{base, base.Add(1209600 * time.Second), true},
		// delta 0.999999 s: age 0, expired (age <= 0).
		{base.Add(999_999 * time.Microsecond), base.Add(1209600 * time.Second), true},
		// delta 1.000099 s: age 1, valid.
		{base.Add(999_999 * time.Microsecond), base.Add(1209599*time.Second + 900*time.Millisecond), false},
		// st_mtime 1700000000.9999996 rounds (half-even, to microseconds)
		// up to 1700000001.0: delta exactly 1 s, valid. Truncating would
		// give 0.999999 s and expire it.
		{base.Add(999_999_600), base.Add(1209600 * time.Second), false},
	} {
		if got := mtimeExpired(c.mtime, c.now, 1209600, true, time.UTC); got != c.expired {
			t.Errorf("mtime %v now %v: expired=%v, want %v", c.mtime, c.now, got, c.expired)
		}
	}
}

// TestExpiryValues: the stored _session_expiry decides per target version.
func TestExpiryValues(t *testing.T) {
	ctx := context.Background()
	const key = "expiry00000000000000000000000000"
	for _, c := range []struct {
		version string
		value   any
		want    string // "valid", "expired", "error"
	}{
		{"5.2", int64(-5), "expired"}, // a negative int is a negative age
		{"5.2", 0.5, "valid"},
		{"5.2", false, "valid"}, // falsy: the mtime rule applies (fresh file)
		{"5.2", "2023-11-14T21:00:00+00:00", "expired"},
		{"5.2", "2023-11-15T21:00:00+00:00", "valid"},
		{"5.2", "2023-11-15T21:00:00", "error"},       // naive minus aware: TypeError
		{"5.2", "600", "error"},                       // not ISO: ValueError
		{"3.2", "2023-11-15T21:00:00+00:00", "error"}, // 3.2: str <= int, TypeError
	} {
		dir := t.TempDir()
		st := newStore(t, basicSettings(t, c.version, dir), newClock(frozen))
		content := encodeWith(t, st, dictOf("a", int64(1), "_session_expiry", c.value))
		writeSession(t, dir, "sessionid"+key, content, frozen-10)
		r := djangosession.Record{Key: key}
		err := st.Load(ctx, &r)
		var got string
		switch {
		case err != nil && errors.Is(err, djangosession.ErrInvalidExpiry):
			got = "error"
		case err != nil:
			t.Fatalf("%s %v: %v", c.version, c.value, err)
		case r.Key != key:
			got = "expired"
		default:
			got = "valid"
		}
		if got != c.want {
			t.Errorf("%s _session_expiry=%#v: %s, want %s (err %v)", c.version, c.value, got, c.want, err)
		}
	}
}
