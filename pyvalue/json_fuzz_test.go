package pyvalue_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/djsession/djsession/pyvalue"
)

var fuzzSeeds = []string{
	``, `null`, `true`, `-0.0`, `1e400`, `[NaN,Infinity,-Infinity]`, `123456789012345678901234567890`,
	`{"a":1,"a":2}`, `{"_auth_user_id":"1","_auth_user_backend":"django.contrib.auth.backends.ModelBackend"}`,
	`"\ud83d\ude00\ud800\udfff\u0000\"\\\/\b\f\n\r\t"`, "\"caf\xc3\xa9\"", "\"\xff\xfe\"", `[[[[[]]]]]`,
	`{"x":[1,2.5,{"y":null}],"z":"é"}`, `"\ud800\u"`, `[1,]`, `{"a" 1}`, `01`, `1.`, `-`, "\xef\xbb\xbf1",
	" \t\r\n[ 1 , 2 ] ", `{"k":"` + strings.Repeat("x", 100) + `"}`,
	// Long enough to overflow parse's local array and take over the
	// staging slice (see donateMin).
	`{"a":[` + strings.Repeat(`"s",`, 299) + `"s"],"b":[` + strings.Repeat(`1,[2],`, 150) + `3],"c":0}`,
}

// FuzzUnmarshalJSON: decoding never panics; whatever decodes re-encodes, and
// the encoding decodes to an equal value and re-encodes to the same bytes.
func FuzzUnmarshalJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, s := range benchSessions() {
		b, _ := pyvalue.MarshalJSON(s.v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := pyvalue.UnmarshalJSON(in)
		if err != nil {
			var se *pyvalue.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
			return
		}
		out, err := pyvalue.MarshalJSON(v)
		if err != nil {
			if errors.Is(err, pyvalue.ErrTooDeep) {
				return // only possible past MaxDepth, which the decoder shares
			}
			t.Fatalf("MarshalJSON of decoded %q: %v", in, err)
		}
		v2, err := pyvalue.UnmarshalJSON(out)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", out, err)
		}
		if !pyvalue.Equal(v, v2) {
			t.Fatalf("%q decoded to %#v, re-encoded %q decoded to %#v", in, v, out, v2)
		}
		out2, err := pyvalue.MarshalJSON(v2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("unstable encoding: %q then %q (%v)", out, out2, err)
		}
		// The string and owned-buffer entry points agree.
		if v3, err := pyvalue.UnmarshalJSONString(string(in)); err != nil || !pyvalue.Equal(v, v3) {
			t.Fatalf("UnmarshalJSONString(%q) = %#v, %v; UnmarshalJSON gave %#v", in, v3, err, v)
		}
		if v3, err := pyvalue.UnmarshalJSONOwned(bytes.Clone(in)); err != nil || !pyvalue.Equal(v, v3) {
			t.Fatalf("UnmarshalJSONOwned(%q) = %#v, %v; UnmarshalJSON gave %#v", in, v3, err, v)
		}
		// The text decoder agrees on pure ASCII input.
		if isASCII(in) {
			v3, err := pyvalue.UnmarshalJSONText(in)
			if err != nil || !pyvalue.Equal(v, v3) {
				t.Fatalf("UnmarshalJSONText(%q) = %#v, %v; UnmarshalJSON gave %#v", in, v3, err, v)
			}
		}
	})
}

// FuzzUnmarshalJSONText: the UTF-8 decoder never panics and its values
// round-trip through the encoder.
func FuzzUnmarshalJSONText(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := pyvalue.UnmarshalJSONText(in)
		if err != nil {
			return
		}
		out, err := pyvalue.MarshalJSON(v)
		if err != nil {
			t.Fatalf("MarshalJSON of decoded %q: %v", in, err)
		}
		v2, err := pyvalue.UnmarshalJSONText(out)
		if err != nil || !pyvalue.Equal(v, v2) {
			t.Fatalf("%q → %q → %#v, %v", in, out, v2, err)
		}
	})
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// TestHostileJSON: absurd input gets a clear error (or a bounded result),
// never a panic, stack overflow or unbounded allocation.
func TestHostileJSON(t *testing.T) {
	deepArr := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	deepObj := strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)
	deepOpen := strings.Repeat("[", 100000)
	big10MB := `{"k":"` + strings.Repeat("abcdefgh", 10<<20/8) + `"}`
	bigList := "[" + strings.Repeat("1,", 1<<20) + "1]"
	session, _ := pyvalue.MarshalJSON(benchSessions()[1].v)
	tests := []struct {
		name    string
		in      string
		text    bool
		wantErr error // nil: any *SyntaxError; use okAny to accept success
		ok      bool
	}{
		{"deep array 100000", deepArr, false, pyvalue.ErrTooDeep, false},
		{"deep object 100000", deepObj, false, pyvalue.ErrTooDeep, false},
		{"deep unclosed 100000", deepOpen, false, pyvalue.ErrTooDeep, false},
		{"deep array text", deepArr, true, pyvalue.ErrTooDeep, false},
		{"10 MB string", big10MB, false, nil, true},
		{"1M-element list", bigList, false, nil, true},
		{"invalid UTF-8 text", "{\"k\":\"\xc3\x28\"}", true, pyvalue.ErrInvalidUTF8, false},
		{"surrogate in UTF-8 text", "\"\xed\xa0\x80\"", true, pyvalue.ErrInvalidUTF8, false},
		{"overlong UTF-8 text", "\"\xc0\xaf\"", true, pyvalue.ErrInvalidUTF8, false},
		{"invalid UTF-8 as Latin-1", "{\"k\":\"\xc3\x28\"}", false, nil, true},
		{"huge integer", strings.Repeat("9", 1<<20), false, pyvalue.ErrIntTooLong, false},
		{"huge exponent", "1e999999999999999999999", false, nil, true},
		{"NUL bytes", "\x00\x00", false, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			var err error
			if tt.text {
				v, err = pyvalue.UnmarshalJSONText([]byte(tt.in))
			} else {
				v, err = pyvalue.UnmarshalJSON([]byte(tt.in))
			}
			if tt.ok {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			var se *pyvalue.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("got %T %v, want *SyntaxError", v, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
		})
	}
	// Every truncation of a real session is an error, never a panic or a
	// different value.
	for i := 0; i < len(session); i++ {
		if v, err := pyvalue.UnmarshalJSON(session[:i]); err == nil {
			if _, isNum := v.(int64); !isNum || i == 0 {
				t.Errorf("truncated session %q decoded to %#v", session[:i], v)
			}
		}
	}
	// Limits are configurable.
	d := pyvalue.JSONDecoder{MaxDepth: 3, MaxBytes: 16}
	if _, err := d.Unmarshal([]byte(`[[[]]]`)); err != nil {
		t.Errorf("depth 3 with MaxDepth 3: %v", err)
	}
	if _, err := d.Unmarshal([]byte(`[[[[]]]]`)); !errors.Is(err, pyvalue.ErrTooDeep) {
		t.Errorf("depth 4 with MaxDepth 3: %v", err)
	}
	if _, err := d.Unmarshal([]byte(`"0123456789abcdef"`)); !errors.Is(err, pyvalue.ErrTooLarge) {
		t.Errorf("18 bytes with MaxBytes 16: %v", err)
	}
	if _, err := d.UnmarshalText([]byte(`"0123456789abcdef"`)); !errors.Is(err, pyvalue.ErrTooLarge) {
		t.Errorf("text, 18 bytes with MaxBytes 16: %v", err)
	}
}
