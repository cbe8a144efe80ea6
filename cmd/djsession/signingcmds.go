package main

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
	"github.com/djsession/djsession/signing"
)

func signingCommands() []*command {
	return []*command{
		{name: "dumps", protocol: true, run: cmdDumps,
			summary: "django.core.signing.dumps with SECRET_KEY (JSON serializer)",
			stdin:   `{"value": any, "salt": str (default "django.core.signing"), "compress": bool}`,
			stdout:  `{"token": str}`},
		{name: "loads", protocol: true, run: cmdLoads,
			summary: "django.core.signing.loads (fallback keys, SHA-1 on 3.2)",
			stdin:   `{"token": str, "salt": str, "max_age": int|float|null}`,
			stdout:  `{"value": any}; failure: exit 1 {"error", "kind": "bad_signature"|"expired"|"malformed"}`},
	}
}

// timestampSigner is the TimestampSigner signing.dumps/loads build from
// settings: SECRET_KEY, SECRET_KEY_FALLBACKS where the target has them, the
// hashing algorithm of the target and 3.2's SHA-1 acceptance.
func timestampSigner(s *djangosession.Settings, salt string) (*signing.TimestampSigner, error) {
	return s.NewSigner(salt)
}

// settingsChecked returns the settings after Django's own checks.
func (e *env) settingsChecked() (*djangosession.Settings, error) {
	s, err := e.config()
	if err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func cmdDumps(e *env) error {
	s, in, err := e.settingsAndInput(e.settingsChecked)
	if err != nil {
		return err
	}
	value, ok := in.Get("value")
	if !ok {
		return usagef("stdin needs %q", "value")
	}
	salt, err := stringField(in, "salt", saltSigningDumps)
	if err != nil {
		return err
	}
	compress, err := boolField(in, "compress")
	if err != nil {
		return err
	}
	t, err := timestampSigner(s, salt)
	if err != nil {
		return err
	}
	tok, err := t.SignObject(value, signing.JSONSerializer{}, compress)
	if err != nil {
		return err
	}
	return e.emit(obj("token", tok))
}

func cmdLoads(e *env) error {
	s, in, err := e.settingsAndInput(e.settingsChecked)
	if err != nil {
		return err
	}
	tokV, ok := in.Get("token")
	tok, isStr := tokV.(string)
	if !ok || !isStr {
		return usagef(`stdin needs "token" (a string)`)
	}
	salt, err := stringField(in, "salt", saltSigningDumps)
	if err != nil {
		return err
	}
	maxAge, hasMaxAge, err := maxAgeField(in)
	if err != nil {
		return err
	}
	t, err := timestampSigner(s, salt)
	if err != nil {
		return err
	}
	var v any
	switch {
	case !hasMaxAge:
		v, err = t.UnsignObject(tok, signing.JSONSerializer{})
	case maxAge >= 0 && maxAge < float64(math.MaxInt64/int64(time.Second)):
		v, err = t.UnsignObjectMaxAge(tok, signing.JSONSerializer{}, time.Duration(maxAge*float64(time.Second)))
	default:
		// A negative max_age expires everything not signed in the future
		// (age > max_age), and the library reads a negative limit as "no
		// limit": check the age here with Django's comparison.
		v, err = loadsAgeChecked(t, tok, maxAge)
	}
	if err != nil {
		return signingError(err)
	}
	return e.emit(obj("value", v))
}

func loadsAgeChecked(t *signing.TimestampSigner, tok string, maxAge float64) (any, error) {
	_, ts, err := t.UnsignTimestamp(tok)
	if err != nil {
		return nil, err
	}
	age := time.Since(ts).Seconds()
	if age > maxAge {
		return nil, &signing.ExpiredError{Age: time.Since(ts), MaxAge: time.Duration(maxAge * float64(time.Second)), Timestamp: ts}
	}
	return t.UnsignObject(tok, signing.JSONSerializer{})
}

func maxAgeField(in *pyvalue.Dict) (float64, bool, error) {
	v, ok := in.Get("max_age")
	if !ok || v == nil {
		return 0, false, nil
	}
	switch x := v.(type) {
	case int64:
		return float64(x), true, nil
	case float64:
		if math.IsNaN(x) {
			return 0, false, usagef(`"max_age" must not be NaN`)
		}
		return x, true, nil
	}
	if pyvalue.TypeName(v) == "int" { // a big int: no limit in practice
		return math.Inf(1), true, nil
	}
	return 0, false, usagef(`"max_age" must be a number or null, got %s`, pyvalue.TypeName(v))
}

// signingError classifies a loads failure the way the protocol names
// Django's exceptions.
func signingError(err error) error {
	switch {
	case errors.Is(err, signing.ErrExpired):
		return &kindError{"expired", err}
	case errors.Is(err, signing.ErrMalformed):
		return &kindError{"malformed", err}
	case errors.Is(err, signing.ErrBadSignature):
		return &kindError{"bad_signature", err}
	}
	return fmt.Errorf("loads: %w", err)
}
