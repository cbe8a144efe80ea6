package pickle_compat

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps one of them
// (test with errors.Is).
var (
	// ErrTruncated: the pickle ended before STOP, or a length prefix or frame
	// declares more bytes than remain.
	ErrTruncated = errors.New("pickle_compat: pickle data was truncated")
	// ErrLimit: a Decoder or Encoder limit (depth, memo, size) was exceeded.
	ErrLimit = errors.New("pickle_compat: limit exceeded")
	// ErrMalformed: the opcodes are not a well-formed pickle (stack
	// underflow, missing MARK, bad text, arguments a known type rejects ...).
	ErrMalformed = errors.New("pickle_compat: malformed pickle")
	// ErrRecursive: the pickle builds a container that contains itself. Such
	// values do not occur in sessions and the Go value model cannot hold
	// them without risking endless recursion in its users, so they are
	// refused.
	ErrRecursive = errors.New("pickle_compat: recursive structure")
	// ErrUnsupported: an opcode or feature (persistent IDs, the extension
	// registry, out-of-band buffers) that a session pickle never uses, or a
	// Go value the encoder cannot write.
	ErrUnsupported = errors.New("pickle_compat: unsupported")
	// ErrGlobal: Decoder.StrictGlobals is set and the pickle names a global
	// outside the allow-list.
	ErrGlobal = errors.New("pickle_compat: global not allowed")
)

// UnsupportedOpcodeError reports an opcode the decoder does not implement
// (or that is not an opcode at all).
type UnsupportedOpcodeError struct {
	Op     byte
	Offset int
}

func (e *UnsupportedOpcodeError) Error() string {
	return fmt.Sprintf("pickle_compat: unsupported opcode 0x%02x at offset %d", e.Op, e.Offset)
}

// Is makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedOpcodeError) Is(target error) bool { return target == ErrUnsupported }

// LimitError reports which limit was exceeded.
type LimitError struct {
	// Limit is the name of the Decoder/Encoder field ("MaxDepth", "MaxMemo",
	// "MaxBytes") or a fixed limit of CPython ("int digits").
	Limit string
	// Max is the limit's value.
	Max int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("pickle_compat: limit exceeded: %s (%d)", e.Limit, e.Max)
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// GlobalError reports a global refused under Decoder.StrictGlobals.
type GlobalError struct{ Module, Name string }

func (e *GlobalError) Error() string {
	return fmt.Sprintf("pickle_compat: global %s.%s is not allowed", e.Module, e.Name)
}

// Is makes errors.Is(err, ErrGlobal) true.
func (e *GlobalError) Is(target error) bool { return target == ErrGlobal }

// UnsupportedTypeError reports a Go value Dumps cannot pickle.
type UnsupportedTypeError struct{ Type string }

func (e *UnsupportedTypeError) Error() string {
	return "pickle_compat: cannot pickle Go value of type " + e.Type
}

// Is makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedTypeError) Is(target error) bool { return target == ErrUnsupported }
