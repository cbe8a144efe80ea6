package djangosession

import (
	"testing"
	"time"
)

func FuzzLoadSettings(f *testing.F) {
	for _, s := range []string{
		`{"SECRET_KEY":"k"}`,
		`{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"3.2","DEFAULT_HASHING_ALGORITHM":"sha1","USE_TZ":false}`,
		`{"SESSION_COOKIE_AGE":1.0,"SESSION_COOKIE_SAMESITE":false,"TIME_ZONE":"Asia/Kathmandu"}`,
		`{"DATABASES":{"default":{"ENGINE":"x","PORT":5432}},"CACHES":{"default":{"TIMEOUT":null}}}`,
		`[]`, `null`, `{"SECRET_KEY_FALLBACKS":"x"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, js string) {
		s, err := LoadSettings([]byte(js))
		if err != nil {
			return
		}
		_ = s.Validate()
		_ = s.Version()
		_ = s.UsesTZ()
		if p, err := s.ExpiryPolicy(); err == nil {
			_, _ = p.Age(nil, time.Unix(0, 0))
			_, _ = p.Date(int64(1), time.Unix(0, 0))
		}
		if s.SecretKey != "" {
			_, _ = NewCodec(s)
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"3.2", "4.2.30", "6.0", "", "x.y", "1.2.3.4", "-1.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		back, err := ParseVersion(v.String())
		if err != nil || back != v {
			t.Fatalf("ParseVersion(%q) = %v, round trip %v %v", s, v, back, err)
		}
	})
}

func FuzzExpiryISO(f *testing.F) {
	for _, s := range []string{"2023-11-15T00:13:20+00:00", "2023-11-15T00:13:20", "2023-11-15T00:13:20Z", "600", "", "9999-12-31T23:59:59.999999-23:59"} {
		f.Add(s)
	}
	p := &ExpiryPolicy{Version: Version{6, 0}, UseTZ: true, Location: time.UTC, CookieAge: 1209600}
	q := &ExpiryPolicy{Version: Version{4, 2}, UseTZ: false, Location: time.UTC, CookieAge: 1209600}
	f.Fuzz(func(t *testing.T, s string) {
		for _, pol := range []*ExpiryPolicy{p, q} {
			_, _ = pol.Age(s, time.Unix(1700000000, 0))
			_, _ = pol.Date(s, time.Unix(1700000000, 0))
			_ = pol.AtBrowserClose(s, true)
		}
	})
}
