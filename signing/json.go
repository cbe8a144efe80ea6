package signing

import (
	"github.com/djsession/djsession/pyvalue"
)

// JSONSerializer is Django's django.core.signing.JSONSerializer: compact
// ASCII JSON with Python's float repr on the way out, Latin-1 decoding on
// the way in (see pyvalue.MarshalJSON and pyvalue.UnmarshalJSON). Values
// Python's json module refuses (bytes, datetime, sets ...) fail with
// *pyvalue.UnsupportedTypeError, as Django raises TypeError.
type JSONSerializer struct{}

// Dumps returns json.dumps(v, separators=(",", ":")) as bytes.
func (JSONSerializer) Dumps(v any) ([]byte, error) { return pyvalue.MarshalJSON(v) }

// AppendDumps appends Dumps(v) to dst, letting SignObject serialize into a
// reused buffer.
func (JSONSerializer) AppendDumps(dst []byte, v any) ([]byte, error) {
	return pyvalue.AppendJSON(dst, v)
}

// Loads returns json.loads(b.decode("latin-1")).
func (JSONSerializer) Loads(b []byte) (any, error) { return pyvalue.UnmarshalJSON(b) }
