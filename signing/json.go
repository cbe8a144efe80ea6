package signing

import (
	"errors"

	"github.com/djsession/djsession/pyvalue"
)

// JSONSerializer is Django's django.core.signing.JSONSerializer: compact
// ASCII JSON with Python's float repr on the way out, Latin-1 decoding on
// the way in (see pyvalue.MarshalJSON and pyvalue.UnmarshalJSON).
type JSONSerializer struct{}

// Dumps returns json.dumps(v, separators=(",", ":")) as bytes.
func (JSONSerializer) Dumps(v any) ([]byte, error) {
	return nil, errors.New("signing: JSONSerializer.Dumps waits for pyvalue.MarshalJSON")
}

// Loads returns json.loads(b.decode("latin-1")).
func (JSONSerializer) Loads(b []byte) (any, error) { return pyvalue.UnmarshalJSON(b) }
