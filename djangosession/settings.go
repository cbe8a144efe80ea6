package djangosession

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/djsession/djsession/signing"
)

// Settings mirrors the Django settings that sessions depend on, under their
// Django names in JSON, so one JSON file configures Django's side and ours.
// The zero value is not ready for use: call Defaults or LoadSettings, which
// fill in Django's defaults.
type Settings struct {
	// TargetDjangoVersion is the Django release sessions are shared with:
	// "3.2", "4.2", "5.2" or "6.0". Where versions differ, the Go side
	// writes only what that version reads.
	TargetDjangoVersion string `json:"TARGET_DJANGO_VERSION"`

	SecretKey               string   `json:"SECRET_KEY"`
	SecretKeyFallbacks      []string `json:"SECRET_KEY_FALLBACKS"`
	DefaultHashingAlgorithm string   `json:"DEFAULT_HASHING_ALGORITHM"`

	SessionEngine               string  `json:"SESSION_ENGINE"`
	SessionSerializer           string  `json:"SESSION_SERIALIZER"`
	SessionCookieName           string  `json:"SESSION_COOKIE_NAME"`
	SessionCookieAge            int64   `json:"SESSION_COOKIE_AGE"`
	SessionCookieDomain         string  `json:"SESSION_COOKIE_DOMAIN"`
	SessionCookiePath           string  `json:"SESSION_COOKIE_PATH"`
	SessionCookieSecure         bool    `json:"SESSION_COOKIE_SECURE"`
	SessionCookieHTTPOnly       *bool   `json:"SESSION_COOKIE_HTTPONLY"`
	SessionCookieSameSite       *string `json:"SESSION_COOKIE_SAMESITE"`
	SessionExpireAtBrowserClose bool    `json:"SESSION_EXPIRE_AT_BROWSER_CLOSE"`
	SessionSaveEveryRequest     bool    `json:"SESSION_SAVE_EVERY_REQUEST"`
	SessionFilePath             string  `json:"SESSION_FILE_PATH"`
	SessionCacheAlias           string  `json:"SESSION_CACHE_ALIAS"`

	// AuthenticationBackends is AUTHENTICATION_BACKENDS; empty means
	// Django's default, ModelBackend only.
	AuthenticationBackends []string `json:"AUTHENTICATION_BACKENDS"`

	UseTZ    *bool  `json:"USE_TZ"`
	TimeZone string `json:"TIME_ZONE"`

	Databases map[string]Database `json:"DATABASES"`
	Caches    map[string]Cache    `json:"CACHES"`
}

// Database is one entry of Django's DATABASES.
type Database struct {
	Engine   string         `json:"ENGINE"`
	Name     string         `json:"NAME"`
	Host     string         `json:"HOST"`
	Port     any            `json:"PORT"`
	User     string         `json:"USER"`
	Password string         `json:"PASSWORD"`
	TimeZone string         `json:"TIME_ZONE"`
	Options  map[string]any `json:"OPTIONS"`
}

// Cache is one entry of Django's CACHES.
type Cache struct {
	Backend   string         `json:"BACKEND"`
	Location  any            `json:"LOCATION"`
	KeyPrefix string         `json:"KEY_PREFIX"`
	Version   *int           `json:"VERSION"`
	Timeout   *float64       `json:"TIMEOUT"`
	Options   map[string]any `json:"OPTIONS"`
}

// Django's setting values that mean a serializer. The JSON one exists under
// two module paths (django.contrib.sessions.serializers.JSONSerializer is an
// alias of django.core.signing.JSONSerializer).
const (
	JSONSerializerPath        = "django.contrib.sessions.serializers.JSONSerializer"
	SigningJSONSerializerPath = "django.core.signing.JSONSerializer"
	PickleSerializerPath      = "django.contrib.sessions.serializers.PickleSerializer"
)

// SESSION_ENGINE values of Django's built-in engines.
const (
	EngineDB            = "django.contrib.sessions.backends.db"
	EngineFile          = "django.contrib.sessions.backends.file"
	EngineCache         = "django.contrib.sessions.backends.cache"
	EngineCachedDB      = "django.contrib.sessions.backends.cached_db"
	EngineSignedCookies = "django.contrib.sessions.backends.signed_cookies"
)

// Django's global_settings defaults for the settings Defaults fills in.
const (
	DefaultSessionCookieName = "sessionid"
	DefaultSessionCookieAge  = 1209600 // two weeks
	DefaultSessionCookiePath = "/"
	DefaultSessionSameSite   = "Lax"
	DefaultSessionCacheAlias = "default"
	DefaultTimeZone          = "America/Chicago"
)

// LoadSettings reads settings from a JSON object keyed by Django setting
// names (the CLI's --config), ignoring unknown keys, and fills in Django's
// defaults for the target version. SESSION_COOKIE_SAMESITE may be a string,
// null or false (the last two disable the attribute, as in Django). It does
// not validate: call Validate.
func LoadSettings(jsonBytes []byte) (*Settings, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(jsonBytes, &raw); err != nil {
		return nil, fmt.Errorf("djangosession: settings JSON: %w", err)
	}
	s := &Settings{}
	if err := s.applyJSON(raw); err != nil {
		return nil, err
	}
	s.Defaults()
	return s, nil
}

// applyJSON decodes the known keys of raw into s, overriding what is there.
func (s *Settings) applyJSON(raw map[string]json.RawMessage) error {
	if ss, ok := raw["SESSION_COOKIE_SAMESITE"]; ok {
		delete(raw, "SESSION_COOKIE_SAMESITE")
		v, err := parseSameSiteJSON(ss)
		if err != nil {
			return err
		}
		s.SessionCookieSameSite = &v
	}
	// Django accepts any number for SESSION_COOKIE_AGE; accept an integral
	// float too, rather than failing on "1209600.0".
	if age, ok := raw["SESSION_COOKIE_AGE"]; ok {
		delete(raw, "SESSION_COOKIE_AGE")
		var f json.Number
		if err := json.Unmarshal(age, &f); err != nil {
			return fmt.Errorf("djangosession: SESSION_COOKIE_AGE: %w", err)
		}
		n, err := parseIntegral(string(f))
		if err != nil {
			return fmt.Errorf("djangosession: SESSION_COOKIE_AGE: %w", err)
		}
		s.SessionCookieAge = n
	}
	rest, err := json.Marshal(raw)
	if err != nil {
		return fmt.Errorf("djangosession: settings JSON: %w", err)
	}
	if err := json.Unmarshal(rest, s); err != nil {
		return fmt.Errorf("djangosession: settings JSON: %w", err)
	}
	return nil
}

func parseIntegral(t string) (int64, error) {
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		return 0, fmt.Errorf("not an integer: %s", t)
	}
	return int64(f), nil
}

// parseSameSiteJSON maps Django's SESSION_COOKIE_SAMESITE values: a string,
// or None/False meaning "no SameSite attribute" (returned as "").
func parseSameSiteJSON(b json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("djangosession: SESSION_COOKIE_SAMESITE: %w", err)
	}
	switch x := v.(type) {
	case nil:
		return "", nil
	case bool:
		if !x {
			return "", nil
		}
	case string:
		return x, nil
	}
	return "", fmt.Errorf("djangosession: SESSION_COOKIE_SAMESITE must be a string, null or false, not %s", b)
}

// SettingsFromEnv builds settings from environment variables named like the
// Django settings (SECRET_KEY, SESSION_COOKIE_AGE, TARGET_DJANGO_VERSION,
// USE_TZ ...). DJANGO_SETTINGS_JSON, if set, is a JSON object (as for
// LoadSettings) applied first; individual variables override it. Booleans
// accept true/false/1/0 in any case; SECRET_KEY_FALLBACKS is a JSON array or
// a comma-separated list; DATABASES and CACHES are JSON objects;
// SESSION_COOKIE_SAMESITE "False" or "" disables the attribute ("None" is the
// SameSite value None, as a string).
func SettingsFromEnv() (*Settings, error) {
	return settingsFromLookup(os.LookupEnv)
}

func settingsFromLookup(lookup func(string) (string, bool)) (*Settings, error) {
	s := &Settings{}
	if js, ok := lookup("DJANGO_SETTINGS_JSON"); ok && strings.TrimSpace(js) != "" {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(js), &raw); err != nil {
			return nil, fmt.Errorf("djangosession: DJANGO_SETTINGS_JSON: %w", err)
		}
		if err := s.applyJSON(raw); err != nil {
			return nil, err
		}
	}
	rv := reflect.ValueOf(s).Elem()
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		val, ok := lookup(name)
		if !ok {
			continue
		}
		if err := setFromEnv(rv.Field(i), name, val); err != nil {
			return nil, err
		}
	}
	s.Defaults()
	return s, nil
}

func setFromEnv(fv reflect.Value, name, val string) error {
	bad := func(err error) error {
		return fmt.Errorf("djangosession: environment variable %s: %w", name, err)
	}
	if name == "SESSION_COOKIE_SAMESITE" {
		v := val
		if strings.EqualFold(val, "false") {
			v = ""
		}
		fv.Set(reflect.ValueOf(&v))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(val)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.ToLower(val))
		if err != nil {
			return bad(err)
		}
		fv.SetBool(b)
	case reflect.Int64:
		n, err := parseIntegral(strings.TrimSpace(val))
		if err != nil {
			return bad(err)
		}
		fv.SetInt(n)
	case reflect.Pointer:
		switch fv.Type().Elem().Kind() {
		case reflect.Bool:
			b, err := strconv.ParseBool(strings.ToLower(val))
			if err != nil {
				return bad(err)
			}
			fv.Set(reflect.ValueOf(&b))
		case reflect.String:
			v := val
			fv.Set(reflect.ValueOf(&v))
		default:
			return bad(errors.New("unsupported setting type"))
		}
	case reflect.Slice:
		var list []string
		if t := strings.TrimSpace(val); strings.HasPrefix(t, "[") {
			if err := json.Unmarshal([]byte(t), &list); err != nil {
				return bad(err)
			}
		} else if t != "" {
			for _, p := range strings.Split(val, ",") {
				list = append(list, strings.TrimSpace(p))
			}
		}
		fv.Set(reflect.ValueOf(list))
	case reflect.Map:
		p := reflect.New(fv.Type())
		if err := json.Unmarshal([]byte(val), p.Interface()); err != nil {
			return bad(err)
		}
		fv.Set(p.Elem())
	default:
		return bad(errors.New("unsupported setting type"))
	}
	return nil
}

// Defaults fills every unset setting with Django's default
// (django/conf/global_settings.py) for the target version: cookie name
// "sessionid", age 1209600, path "/", HttpOnly on, SameSite "Lax", the JSON
// serializer, the db engine, cache alias "default", TIME_ZONE
// "America/Chicago", DEFAULT_HASHING_ALGORITHM "sha256" (3.2), and USE_TZ
// False before Django 5.0, True from 5.0. An unparseable
// TARGET_DJANGO_VERSION is left for Validate to report.
//
// Go's zero values stand for "unset": SESSION_COOKIE_AGE 0 becomes the
// default (Django would honour 0), and an empty TIME_ZONE becomes
// "America/Chicago" (Django's TIME_ZONE = None means the system zone).
func (s *Settings) Defaults() {
	if s.TargetDjangoVersion == "" {
		s.TargetDjangoVersion = NewestVersion().String()
	}
	if s.SessionEngine == "" {
		s.SessionEngine = EngineDB
	}
	if s.SessionSerializer == "" {
		s.SessionSerializer = JSONSerializerPath
	}
	if s.SessionCookieName == "" {
		s.SessionCookieName = DefaultSessionCookieName
	}
	if s.SessionCookieAge == 0 {
		s.SessionCookieAge = DefaultSessionCookieAge
	}
	if s.SessionCookiePath == "" {
		s.SessionCookiePath = DefaultSessionCookiePath
	}
	if s.SessionCookieHTTPOnly == nil {
		t := true
		s.SessionCookieHTTPOnly = &t
	}
	if s.SessionCookieSameSite == nil {
		v := DefaultSessionSameSite
		s.SessionCookieSameSite = &v
	}
	if s.SessionCacheAlias == "" {
		s.SessionCacheAlias = DefaultSessionCacheAlias
	}
	if s.TimeZone == "" {
		s.TimeZone = DefaultTimeZone
	}
	v := s.Version()
	if s.UseTZ == nil {
		b := v.DefaultUseTZ()
		s.UseTZ = &b
	}
	if s.DefaultHashingAlgorithm == "" && !v.AtLeast(4, 0) {
		s.DefaultHashingAlgorithm = "sha256"
	}
}

// Version returns the parsed TARGET_DJANGO_VERSION, NewestVersion when it is
// empty or unparseable (Validate reports the latter).
func (s *Settings) Version() Version {
	if s.TargetDjangoVersion == "" {
		return NewestVersion()
	}
	v, err := ParseVersion(s.TargetDjangoVersion)
	if err != nil {
		return NewestVersion()
	}
	return v
}

// UsesTZ reports USE_TZ, or the target version's default when unset.
func (s *Settings) UsesTZ() bool {
	if s.UseTZ != nil {
		return *s.UseTZ
	}
	return s.Version().DefaultUseTZ()
}

// Location returns TIME_ZONE as a *time.Location (Django's default
// "America/Chicago" when empty). Programs that may run without a system zone
// database should import time/tzdata.
func (s *Settings) Location() (*time.Location, error) {
	name := s.TimeZone
	if name == "" {
		name = DefaultTimeZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("djangosession: TIME_ZONE %q: %w", name, err)
	}
	return loc, nil
}

// HashingAlgorithm returns the algorithm Django signs with: sha256 from 4.0,
// DEFAULT_HASHING_ALGORITHM (default sha256) in 3.2.
// Any value other than "sha1" means sha256 here; Validate reports values
// Django 3.2 would refuse.
func (s *Settings) HashingAlgorithm() string {
	if !s.Version().AtLeast(4, 0) && s.DefaultHashingAlgorithm == "sha1" {
		return "sha1"
	}
	return "sha256"
}

// FallbackKeys returns SECRET_KEY_FALLBACKS where the target version has it
// (4.1+), nil otherwise (3.2 ignores the setting).
func (s *Settings) FallbackKeys() []string {
	if !s.Version().HasFallbackKeys() {
		return nil
	}
	return s.SecretKeyFallbacks
}

// Validate reports settings Django would refuse (or this package cannot
// honour): an empty SECRET_KEY, an unknown or too old
// TARGET_DJANGO_VERSION, DEFAULT_HASHING_ALGORITHM other than sha1/sha256 on
// 3.2, an invalid SESSION_COOKIE_SAMESITE, an unknown TIME_ZONE, or
// PickleSerializer for a version without it (wrapping ErrUnsupported).
func (s *Settings) Validate() error {
	var errs []error
	if s.SecretKey == "" {
		errs = append(errs, errors.New("djangosession: the SECRET_KEY setting must not be empty"))
	}
	v := s.Version()
	if s.TargetDjangoVersion != "" {
		pv, err := ParseVersion(s.TargetDjangoVersion)
		switch {
		case err != nil:
			errs = append(errs, err)
		case !pv.AtLeast(OldestMajor, OldestMinor):
			errs = append(errs, fmt.Errorf("djangosession: TARGET_DJANGO_VERSION %s is older than %s: %w", pv, OldestVersion(), ErrUnsupported))
		}
	}
	if !v.AtLeast(4, 0) {
		switch s.DefaultHashingAlgorithm {
		case "", "sha1", "sha256":
		default:
			errs = append(errs, fmt.Errorf("djangosession: DEFAULT_HASHING_ALGORITHM must be 'sha1' or 'sha256', not %q", s.DefaultHashingAlgorithm))
		}
	}
	if p := s.SessionCookieSameSite; p != nil && *p != "" {
		switch strings.ToLower(*p) {
		case "lax", "strict", "none":
		default:
			errs = append(errs, fmt.Errorf("djangosession: SESSION_COOKIE_SAMESITE must be 'lax', 'strict', 'none' or None, not %q", *p))
		}
	}
	if _, err := s.Location(); err != nil {
		errs = append(errs, err)
	}
	if s.SessionSerializer == PickleSerializerPath && !v.HasPickleSerializer() {
		errs = append(errs, fmt.Errorf("djangosession: PickleSerializer does not exist in Django %s: %w", v, ErrUnsupported))
	}
	return errors.Join(errs...)
}

// SignerOptions returns the signing.Options Django derives from these
// settings for a TimestampSigner with the given salt: SECRET_KEY, the
// target version's algorithm (DEFAULT_HASHING_ALGORITHM on 3.2, sha256
// after), SHA-1 acceptance on 3.2, and SECRET_KEY_FALLBACKS from 4.1.
func (s *Settings) SignerOptions(salt string) signing.Options {
	v := s.Version()
	return signing.Options{
		Key:          s.SecretKey,
		FallbackKeys: s.FallbackKeys(),
		Salt:         salt,
		Algorithm:    s.HashingAlgorithm(),
		AcceptSHA1:   v.AcceptsSHA1(),
	}
}

// NewSigner returns the TimestampSigner Django's signing.dumps/loads use
// with these settings and salt (see SignerOptions). Key derivation happens
// here once: keep the signer.
func (s *Settings) NewSigner(salt string) (*signing.TimestampSigner, error) {
	t, err := signing.NewTimestampSigner(s.SignerOptions(salt))
	if err != nil {
		return nil, fmt.Errorf("djangosession: %w", err)
	}
	return t, nil
}

// Serializer returns the signing.Serializer SESSION_SERIALIZER names:
// signing.JSONSerializer for Django's JSONSerializer (either module path, or
// "json"); for PickleSerializer (or "pickle") the pickle serializer at
// protocol 5 when the target version has it (3.2, 4.2), an error wrapping
// ErrUnsupported from 5.0. Other (custom) serializers wrap ErrUnsupported:
// give a Go implementation to NewCodec with WithSerializer.
func (s *Settings) Serializer() (signing.Serializer, error) {
	switch s.SessionSerializer {
	case "", JSONSerializerPath, SigningJSONSerializerPath, "json":
		return signing.JSONSerializer{}, nil
	case PickleSerializerPath, "pickle":
		if v := s.Version(); !v.HasPickleSerializer() {
			return nil, fmt.Errorf("djangosession: PickleSerializer does not exist in Django %s: %w", v, ErrUnsupported)
		}
		return pickleSerializer()
	}
	return nil, fmt.Errorf("djangosession: SESSION_SERIALIZER %q has no Go implementation: %w", s.SessionSerializer, ErrUnsupported)
}
