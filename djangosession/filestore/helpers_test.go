package filestore

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
)

// frozen is the vectors' frozen clock, 2023-11-14T22:13:20Z.
const frozen = 1700000000

const specSecret = "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newClock(unix int64) *clock { return &clock{time.Unix(unix, 0)} }

// settingsFor builds Settings from a case's "settings" object (as Django's
// setting names) with SESSION_FILE_PATH pointed at dir and the target
// version taken from the Django version that produced the case.
func settingsFor(t testing.TB, raw map[string]any, djangoVersion, dir string) *djangosession.Settings {
	t.Helper()
	m := map[string]any{}
	for k, v := range raw {
		m[k] = v
	}
	m["SESSION_FILE_PATH"] = dir
	m["SESSION_ENGINE"] = "django.contrib.sessions.backends.file"
	if djangoVersion != "" {
		parts := strings.SplitN(djangoVersion, ".", 3)
		m["TARGET_DJANGO_VERSION"] = parts[0] + "." + parts[1]
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s, err := djangosession.LoadSettings(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// basicSettings is the vectors' settings for a version ("3.2" ... "6.0").
func basicSettings(t testing.TB, version, dir string) *djangosession.Settings {
	return settingsFor(t, map[string]any{
		"SECRET_KEY":          specSecret,
		"SESSION_COOKIE_NAME": "sessionid",
		"SESSION_COOKIE_AGE":  1209600,
		"USE_TZ":              true,
	}, version+".0", dir)
}

func newStore(t testing.TB, s *djangosession.Settings, c *clock) *Store {
	t.Helper()
	st, err := New(s, WithClock(c.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// dictOf builds a *pyvalue.Dict from alternating keys and values.
func dictOf(kv ...any) *pyvalue.Dict {
	d := pyvalue.NewDict(len(kv) / 2)
	for i := 0; i+1 < len(kv); i += 2 {
		d.Set(kv[i], kv[i+1])
	}
	return d
}

// pyJSON converts a case value (decoded by the vectors package) to a dict.
func asDict(t testing.TB, v any) *pyvalue.Dict {
	t.Helper()
	d, ok := v.(*pyvalue.Dict)
	if !ok {
		t.Fatalf("want a dict, got %T", v)
	}
	return d
}

func keysOf(d *pyvalue.Dict) []string {
	var out []string
	for _, k := range d.Keys() {
		s, _ := k.(string)
		out = append(out, s)
	}
	return out
}
