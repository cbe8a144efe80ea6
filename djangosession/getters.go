package djangosession

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/djsession/djsession/pyvalue"
)

// ErrWrongType: a typed getter found a value of another Python type.
var ErrWrongType = errors.New("djangosession: session value has another type")

func (s *Session) typed(ctx context.Context, key string) (any, error) {
	v, ok, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrKeyNotFound, pyRepr(key))
	}
	return v, nil
}

func wrongType(key, want string, v any) error {
	return typeErr(key, &pyvalue.TypeError{Want: want, Got: pyvalue.TypeName(v)})
}

func typeErr(key string, err error) error {
	return fmt.Errorf("%w: session[%s]: %w", ErrWrongType, pyRepr(key), err)
}

// GetString returns session[key] as a str. A missing key is ErrKeyNotFound,
// another type ErrWrongType (wrapping a *pyvalue.TypeError).
func (s *Session) GetString(ctx context.Context, key string) (string, error) {
	v, err := s.typed(ctx, key)
	if err != nil {
		return "", err
	}
	x, err := pyvalue.AsString(v)
	if err != nil {
		return "", typeErr(key, err)
	}
	return x, nil
}

// GetInt64 returns session[key] as an int that fits in int64 (a bool or a
// float is refused; see pyvalue.AsInt64).
func (s *Session) GetInt64(ctx context.Context, key string) (int64, error) {
	v, err := s.typed(ctx, key)
	if err != nil {
		return 0, err
	}
	x, err := pyvalue.AsInt64(v)
	if err != nil {
		return 0, typeErr(key, err)
	}
	return x, nil
}

// GetBool returns session[key] as a bool (no truthiness: 0 is an error).
func (s *Session) GetBool(ctx context.Context, key string) (bool, error) {
	v, err := s.typed(ctx, key)
	if err != nil {
		return false, err
	}
	x, err := pyvalue.AsBool(v)
	if err != nil {
		return false, typeErr(key, err)
	}
	return x, nil
}

// GetFloat64 returns session[key] as a float; an int is converted as
// Python's float() does (see pyvalue.AsFloat64).
func (s *Session) GetFloat64(ctx context.Context, key string) (float64, error) {
	v, err := s.typed(ctx, key)
	if err != nil {
		return 0, err
	}
	x, err := pyvalue.AsFloat64(v)
	if err != nil {
		return 0, typeErr(key, err)
	}
	return x, nil
}

// GetTime returns session[key] as a time: a datetime (pickled sessions) or
// ISO 8601 text as datetime.fromisoformat reads it. Naive values are wall
// times in TIME_ZONE.
func (s *Session) GetTime(ctx context.Context, key string) (time.Time, error) {
	v, err := s.typed(ctx, key)
	if err != nil {
		return time.Time{}, err
	}
	var dt pyvalue.DateTime
	switch x := v.(type) {
	case pyvalue.DateTime:
		dt = x
	case string:
		if dt, err = pyvalue.ParseISO(x); err != nil {
			return time.Time{}, fmt.Errorf("%w: session[%s]: %v", ErrWrongType, pyRepr(key), err)
		}
	default:
		return time.Time{}, wrongType(key, "datetime or ISO str", v)
	}
	t, err := dt.GoTime(s.m.policy.Location)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: session[%s]: %v", ErrWrongType, pyRepr(key), err)
	}
	return t, nil
}

// GetInto decodes session[key] into out (a pointer) as encoding/json would
// decode the value's JSON form (pyvalue.Decode): structs, maps, slices,
// numbers (every digit kept), strings; datetimes become ISO text.
func (s *Session) GetInto(ctx context.Context, key string, out any) error {
	v, err := s.typed(ctx, key)
	if err != nil {
		return err
	}
	if err := pyvalue.Decode(v, out); err != nil {
		return typeErr(key, err)
	}
	return nil
}
