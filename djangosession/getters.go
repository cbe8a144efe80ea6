package djangosession

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
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
	return fmt.Errorf("%w: session[%s] is %s, not %s", ErrWrongType, pyRepr(key), pyvalue.TypeName(v), want)
}

// GetString returns session[key] as a str. A missing key is ErrKeyNotFound,
// another type ErrWrongType.
func (s *Session) GetString(ctx context.Context, key string) (string, error) {
	v, err := s.typed(ctx, key)
	if err != nil {
		return "", err
	}
	if x, ok := v.(string); ok {
		return x, nil
	}
	return "", wrongType(key, "str", v)
}

// GetInt64 returns session[key] as an int that fits in int64 (a bool is not
// accepted, although Python counts it as an int).
func (s *Session) GetInt64(ctx context.Context, key string) (int64, error) {
	v, err := s.typed(ctx, key)
	if err != nil {
		return 0, err
	}
	switch x := v.(type) {
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case *big.Int:
		return 0, fmt.Errorf("%w: session[%s] = %s does not fit in int64", ErrWrongType, pyRepr(key), x)
	}
	return 0, wrongType(key, "int", v)
}

// GetBool returns session[key] as a bool.
func (s *Session) GetBool(ctx context.Context, key string) (bool, error) {
	v, err := s.typed(ctx, key)
	if err != nil {
		return false, err
	}
	if x, ok := v.(bool); ok {
		return x, nil
	}
	return false, wrongType(key, "bool", v)
}

// GetFloat64 returns session[key] as a float; an int is accepted when
// float64 represents it exactly.
func (s *Session) GetFloat64(ctx context.Context, key string) (float64, error) {
	v, err := s.typed(ctx, key)
	if err != nil {
		return 0, err
	}
	switch x := v.(type) {
	case float64:
		return x, nil
	case int64:
		if x >= -1<<53 && x <= 1<<53 {
			return float64(x), nil
		}
	case int:
		if x := int64(x); x >= -1<<53 && x <= 1<<53 {
			return float64(x), nil
		}
	}
	return 0, wrongType(key, "float", v)
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
// decode the value's JSON form: structs, maps, slices, numbers, strings.
// Values JSON cannot express (datetimes, bytes ...) fail with ErrWrongType.
func (s *Session) GetInto(ctx context.Context, key string, out any) error {
	v, err := s.typed(ctx, key)
	if err != nil {
		return err
	}
	b, err := pyvalue.MarshalJSON(v)
	if err != nil {
		return fmt.Errorf("%w: session[%s]: %v", ErrWrongType, pyRepr(key), err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%w: session[%s]: %v", ErrWrongType, pyRepr(key), err)
	}
	return nil
}
