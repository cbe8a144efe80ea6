package djangosession

import (
	"errors"
	"reflect"
	"testing"
)

func TestLoadSettingsDefaults(t *testing.T) {
	tests := []struct {
		name      string
		json      string
		version   Version
		useTZ     bool
		algorithm string
		fallbacks []string
	}{
		{"newest", `{"SECRET_KEY":"k"}`, Version{6, 0}, true, "sha256", nil},
		{"3.2", `{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"3.2","SECRET_KEY_FALLBACKS":["old"]}`, Version{3, 2}, false, "sha256", nil},
		{"3.2 sha1", `{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"3.2.25","DEFAULT_HASHING_ALGORITHM":"sha1"}`, Version{3, 2}, false, "sha1", nil},
		{"4.2", `{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"4.2","SECRET_KEY_FALLBACKS":["old"],"DEFAULT_HASHING_ALGORITHM":"sha1"}`, Version{4, 2}, false, "sha256", []string{"old"}},
		{"5.2", `{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"5.2"}`, Version{5, 2}, true, "sha256", nil},
		{"5.2 USE_TZ off", `{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"5.2","USE_TZ":false}`, Version{5, 2}, false, "sha256", nil},
		{"4.2 USE_TZ on", `{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"4.2","USE_TZ":true,"UNKNOWN":[1,2]}`, Version{4, 2}, true, "sha256", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadSettings([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := s.Version(); got != tt.version {
				t.Errorf("Version = %v, want %v", got, tt.version)
			}
			if got := s.UsesTZ(); got != tt.useTZ {
				t.Errorf("UsesTZ = %v, want %v", got, tt.useTZ)
			}
			if got := s.HashingAlgorithm(); got != tt.algorithm {
				t.Errorf("HashingAlgorithm = %v, want %v", got, tt.algorithm)
			}
			if got := s.FallbackKeys(); !reflect.DeepEqual(got, tt.fallbacks) {
				t.Errorf("FallbackKeys = %v, want %v", got, tt.fallbacks)
			}
			if s.SessionCookieName != "sessionid" || s.SessionCookieAge != 1209600 || s.SessionCookiePath != "/" ||
				!*s.SessionCookieHTTPOnly || *s.SessionCookieSameSite != "Lax" || s.SessionEngine != EngineDB ||
				s.SessionSerializer != JSONSerializerPath || s.SessionCacheAlias != "default" || s.TimeZone != "America/Chicago" {
				t.Errorf("defaults not applied: %+v", s)
			}
			loc, err := s.Location()
			if err != nil || loc.String() != "America/Chicago" {
				t.Errorf("Location = %v, %v", loc, err)
			}
		})
	}
}

func TestLoadSettingsValues(t *testing.T) {
	s, err := LoadSettings([]byte(`{"SECRET_KEY":"k","SESSION_COOKIE_AGE":300.0,"SESSION_COOKIE_SAMESITE":false,
		"SESSION_COOKIE_HTTPONLY":false,"SESSION_COOKIE_DOMAIN":null,"TIME_ZONE":"Asia/Kathmandu",
		"DATABASES":{"default":{"ENGINE":"django.db.backends.sqlite3","NAME":"/tmp/x.db"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.SessionCookieAge != 300 || *s.SessionCookieSameSite != "" || *s.SessionCookieHTTPOnly || s.SessionCookieDomain != "" {
		t.Errorf("got %+v", s)
	}
	if s.Databases["default"].Name != "/tmp/x.db" {
		t.Errorf("DATABASES = %+v", s.Databases)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	s2, err := LoadSettings([]byte(`{"SECRET_KEY":"k","SESSION_COOKIE_SAMESITE":null}`))
	if err != nil || *s2.SessionCookieSameSite != "" {
		t.Errorf("null SameSite: %v %v", s2, err)
	}
}

func TestLoadSettingsErrors(t *testing.T) {
	for _, js := range []string{
		`[]`, `{"SESSION_COOKIE_AGE":"x"}`, `{"SESSION_COOKIE_AGE":1.5}`, `{"SESSION_COOKIE_SAMESITE":1}`,
		`{"SECRET_KEY":1}`, `{"USE_TZ":"yes"}`, `not json`,
	} {
		if _, err := LoadSettings([]byte(js)); err == nil {
			t.Errorf("LoadSettings(%s) succeeded", js)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		json        string
		unsupported bool
	}{
		{`{}`, false},
		{`{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"x"}`, false},
		{`{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"3.1"}`, true},
		{`{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"3.2","DEFAULT_HASHING_ALGORITHM":"md5"}`, false},
		{`{"SECRET_KEY":"k","SESSION_COOKIE_SAMESITE":"Sometimes"}`, false},
		{`{"SECRET_KEY":"k","TIME_ZONE":"Mars/Olympus"}`, false},
		{`{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"5.2","SESSION_SERIALIZER":"django.contrib.sessions.serializers.PickleSerializer"}`, true},
	}
	for _, tt := range tests {
		s, err := LoadSettings([]byte(tt.json))
		if err != nil {
			t.Fatal(err)
		}
		err = s.Validate()
		if err == nil {
			t.Errorf("Validate(%s) = nil", tt.json)
			continue
		}
		if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
			t.Errorf("Validate(%s) = %v; unsupported %v, want %v", tt.json, err, got, tt.unsupported)
		}
	}
	for _, js := range []string{
		`{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"4.2","SESSION_SERIALIZER":"django.contrib.sessions.serializers.PickleSerializer","SESSION_COOKIE_SAMESITE":"none"}`,
		`{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"4.1"}`,
	} {
		s, _ := LoadSettings([]byte(js))
		if err := s.Validate(); err != nil {
			t.Errorf("Validate(%s) = %v", js, err)
		}
	}
}

func TestSettingsFromEnv(t *testing.T) {
	env := map[string]string{
		"DJANGO_SETTINGS_JSON":    `{"SECRET_KEY":"from-json","SESSION_COOKIE_NAME":"sid","TARGET_DJANGO_VERSION":"4.2"}`,
		"SECRET_KEY":              "from-env",
		"SECRET_KEY_FALLBACKS":    "a, b",
		"SESSION_COOKIE_AGE":      "600",
		"USE_TZ":                  "True",
		"SESSION_COOKIE_SECURE":   "1",
		"SESSION_COOKIE_SAMESITE": "False",
		"CACHES":                  `{"default":{"BACKEND":"x","LOCATION":"127.0.0.1:11211"}}`,
	}
	s, err := settingsFromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if s.SecretKey != "from-env" || s.SessionCookieName != "sid" || s.Version() != (Version{4, 2}) ||
		!reflect.DeepEqual(s.SecretKeyFallbacks, []string{"a", "b"}) || s.SessionCookieAge != 600 ||
		!s.UsesTZ() || !s.SessionCookieSecure || *s.SessionCookieSameSite != "" || s.Caches["default"].Location != "127.0.0.1:11211" {
		t.Errorf("got %+v", s)
	}
	env = map[string]string{"SECRET_KEY_FALLBACKS": `["x,y"]`}
	s, err = settingsFromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil || !reflect.DeepEqual(s.SecretKeyFallbacks, []string{"x,y"}) {
		t.Errorf("JSON fallbacks: %v %v", s.SecretKeyFallbacks, err)
	}
	for _, bad := range []map[string]string{{"USE_TZ": "maybe"}, {"SESSION_COOKIE_AGE": "x"}, {"CACHES": "{"}, {"DJANGO_SETTINGS_JSON": "["}} {
		if _, err := settingsFromLookup(func(k string) (string, bool) { v, ok := bad[k]; return v, ok }); err == nil {
			t.Errorf("settingsFromLookup(%v) succeeded", bad)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]Version{"3.2": {3, 2}, "4.2.30": {4, 2}, " 6.0 ": {6, 0}, "10.11": {10, 11}} {
		got, err := ParseVersion(in)
		if err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "4", "4.x", "4.2.1.1", "-4.2", "+4.2", "4..2"} {
		if _, err := ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q) succeeded", in)
		}
	}
	v := Version{4, 1}
	if !v.AtLeast(4, 1) || !v.AtLeast(3, 9) || v.AtLeast(4, 2) || v.AtLeast(5, 0) || !v.HasFallbackKeys() || v.AcceptsSHA1() {
		t.Error("AtLeast/rules wrong for 4.1")
	}
}
