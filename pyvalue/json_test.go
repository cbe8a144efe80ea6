package pyvalue_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
)

func dict(kv ...any) *pyvalue.Dict {
	d := pyvalue.NewDict(len(kv) / 2)
	for i := 0; i < len(kv); i += 2 {
		d.Set(kv[i], kv[i+1])
	}
	return d
}

func bigInt(s string) *big.Int {
	z, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return z
}

// TestJSONSerializerDumpsVectors checks every JSONSerializer.dumps case
// Django 3.2–6.0 recorded: identical bytes, or Python's TypeError message.
func TestJSONSerializerDumpsVectors(t *testing.T) {
	cases := vectors.Select(vectors.Load(t, "signing.json"), "JSONSerializer.dumps")
	if len(cases) < 80 {
		t.Fatalf("only %d JSONSerializer.dumps cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			c := c.WithT(t)
			got, err := pyvalue.MarshalJSON(c.Value("input"))
			if class, msg, ok := c.Error(); ok {
				var ute *pyvalue.UnsupportedTypeError
				if class != "TypeError" || !errors.As(err, &ute) || err.Error() != msg {
					t.Fatalf("MarshalJSON error = %v, want %s: %s", err, class, msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("MarshalJSON: %v", err)
			}
			if want := c.Hex("result_hex"); !bytes.Equal(got, want) {
				t.Fatalf("MarshalJSON = %s, want %s", got, want)
			}
		})
	}
}

// TestJSONSerializerLoadsVectors checks every JSONSerializer.loads case.
func TestJSONSerializerLoadsVectors(t *testing.T) {
	cases := vectors.Select(vectors.Load(t, "signing.json"), "JSONSerializer.loads")
	if len(cases) < 20 {
		t.Fatalf("only %d JSONSerializer.loads cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			c := c.WithT(t)
			got, err := pyvalue.UnmarshalJSON(c.Hex("input_hex"))
			if err != nil {
				t.Fatalf("UnmarshalJSON: %v", err)
			}
			if want := c.Value("result"); !pyvalue.Equal(got, want) {
				t.Fatalf("UnmarshalJSON = %#v, want %#v", got, want)
			}
		})
	}
}

// TestSigningLoadsJSONErrors checks the JSONDecodeError messages recorded
// for signing.loads of a validly signed payload that is not JSON.
func TestSigningLoadsJSONErrors(t *testing.T) {
	n := 0
	for _, c := range vectors.Select(vectors.Load(t, "signing.json"), "loads") {
		class, msg, ok := c.Error()
		if !ok || class != "json.decoder.JSONDecodeError" {
			continue
		}
		n++
		// The payload is the base64 part before the first ':'.
		tok := c.WithT(t).Str("input")
		payload, _, _ := strings.Cut(tok, ":")
		raw, err := b64(payload)
		if err != nil {
			t.Fatal(err)
		}
		_, err = pyvalue.UnmarshalJSON(raw)
		var se *pyvalue.SyntaxError
		if !errors.As(err, &se) || err.Error() != msg {
			t.Errorf("%s: UnmarshalJSON(%q) error = %v, want %s", c, raw, err, msg)
		}
	}
	if n == 0 {
		t.Fatal("no JSONDecodeError cases in signing.json")
	}
}

func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(s)
}

func TestFloatRepr(t *testing.T) {
	for _, tt := range pythonFloatReprs {
		f := math.Float64frombits(tt.bits)
		got, err := pyvalue.MarshalJSON(f)
		if err != nil || string(got) != tt.repr {
			t.Errorf("MarshalJSON(%x) = %s, %v; Python repr %s", tt.bits, got, err, tt.repr)
		}
		back, err := pyvalue.UnmarshalJSON([]byte(tt.repr))
		if err != nil || !pyvalue.Equal(back, f) {
			t.Errorf("UnmarshalJSON(%s) = %v, %v; want bits %x", tt.repr, back, err, tt.bits)
		}
	}
}

func TestMarshalJSON(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, `null`},
		{true, `true`},
		{false, `false`},
		{int64(-42), `-42`},
		{7, `7`},
		{uint64(math.MaxUint64), `18446744073709551615`},
		{bigInt("-1180591620717411303424"), `-1180591620717411303424`},
		{math.Copysign(0, -1), `-0.0`},
		{0.0, `0.0`},
		{float32(0.5), `0.5`},
		{"", `""`},
		{"a\"b\\c/d<e>&f'", `"a\"b\\c/d<e>&f'"`},
		{"\b\f\n\r\t\x00\x1f\x7f", `"\b\f\n\r\t\u0000\u001f\u007f"`},
		{"\u0080\u00ff\u0100\u07ff\u0800\uffff", `"\u0080\u00ff\u0100\u07ff\u0800\uffff"`},
		{"\U00010000\U0010ffff😀", `"\ud800\udc00\udbff\udfff\ud83d\ude00"`},
		{"\ufffd", `"\ufffd"`},
		{"x\xed\xa0\x80y\xed\xbf\xbf", `"x\ud800y\udfff"`},
		// A surrogate pair stored as two WTF-8 surrogates encodes like
		// the astral character, as Python's two-code-point str does.
		{"\xed\xa0\xbd\xed\xb8\x80", `"\ud83d\ude00"`},
		{[]any{}, `[]`},
		{pyvalue.Tuple{"a", int64(1)}, `["a",1]`},
		{[]any{[]any{[]any{}}, pyvalue.Tuple{}}, `[[[]],[]]`},
		{dict(), `{}`},
		{dict("b", int64(1), "a", int64(2), "_auth_user_id", "1"), `{"b":1,"a":2,"_auth_user_id":"1"}`},
		{dict(int64(1), "int", 2.5, "float", false, "bool", nil, "none"), `{"1":"int","2.5":"float","false":"bool","null":"none"}`},
		{dict(bigInt("123456789012345678901234567890"), 1, math.NaN(), 2, math.Inf(-1), 3, 1e16, 4, true, 5),
			`{"123456789012345678901234567890":1,"NaN":2,"-Infinity":3,"1e+16":4,"true":5}`},
		{map[string]any{"z": 1, "a": []any{2.0}}, `{"a":[2.0],"z":1}`},
		{pyvalue.NewOrderedDict(dict("b", 1, "a", 2)), `{"b":1,"a":2}`},
		{&pyvalue.Object{Module: "django.utils.safestring", Name: "SafeString", Kind: pyvalue.ObjectNewObj, Args: pyvalue.Tuple{"<b>é</b>"}},
			`"<b>\u00e9</b>"`},
		{[]any{math.NaN(), math.Inf(1), math.Inf(-1)}, `[NaN,Infinity,-Infinity]`},
	}
	for _, tt := range tests {
		got, err := pyvalue.MarshalJSON(tt.in)
		if err != nil || string(got) != tt.want {
			t.Errorf("MarshalJSON(%#v) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
		// AppendJSON appends.
		got, err = pyvalue.AppendJSON([]byte("x"), tt.in)
		if err != nil || string(got) != "x"+tt.want {
			t.Errorf("AppendJSON(x, %#v) = %s, %v", tt.in, got, err)
		}
	}
}

func TestMarshalJSONErrors(t *testing.T) {
	cyclic := []any{nil}
	cyclic[0] = cyclic
	selfDict := pyvalue.NewDict(1)
	selfDict.Set("me", selfDict)
	deep := any("x")
	for i := 0; i < pyvalue.DefaultMaxDepth+1; i++ {
		deep = []any{deep}
	}
	tests := []struct {
		in      any
		msg     string
		wantErr error
	}{
		{pyvalue.Bytes("x"), "Object of type bytes is not JSON serializable", nil},
		{pyvalue.ByteArray("x"), "Object of type bytearray is not JSON serializable", nil},
		{dict("d", pyvalue.DateTime{Year: 2023, Month: 1, Day: 1}), "Object of type datetime is not JSON serializable", nil},
		{pyvalue.Date{Year: 2023, Month: 1, Day: 1}, "Object of type date is not JSON serializable", nil},
		{pyvalue.TimeDelta{}, "Object of type timedelta is not JSON serializable", nil},
		{pyvalue.Decimal("1.5"), "Object of type Decimal is not JSON serializable", nil},
		{pyvalue.UUID{}, "Object of type UUID is not JSON serializable", nil},
		{&pyvalue.Set{Items: []any{1}}, "Object of type set is not JSON serializable", nil},
		{&pyvalue.Set{Frozen: true}, "Object of type frozenset is not JSON serializable", nil},
		{&pyvalue.Object{Module: "myapp.models", Name: "Thing", Kind: pyvalue.ObjectReduce}, "Object of type Thing is not JSON serializable", nil},
		{&pyvalue.Object{Module: "django.utils.functional", Name: "_lazy_proxy_unpickle", Kind: pyvalue.ObjectReduce},
			"Object of type __proxy__ is not JSON serializable", nil},
		{dict(pyvalue.Tuple{int64(1), int64(2)}, 3), "keys must be str, int, float, bool or None, not tuple", nil},
		{struct{}{}, "Object of type <Go struct {}> is not JSON serializable", nil},
		{"bad \xff utf-8", "", pyvalue.ErrInvalidUTF8},
		{"truncated surrogate \xed\xa0", "", pyvalue.ErrInvalidUTF8},
		{new(big.Int).Exp(big.NewInt(10), big.NewInt(4300), nil), "", pyvalue.ErrIntTooLong},
		{cyclic, "", pyvalue.ErrTooDeep},
		{selfDict, "", pyvalue.ErrTooDeep},
		{deep, "", pyvalue.ErrTooDeep},
	}
	for _, tt := range tests {
		_, err := pyvalue.MarshalJSON(tt.in)
		if err == nil {
			t.Errorf("MarshalJSON(%T) succeeded", tt.in)
			continue
		}
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("MarshalJSON(%T) = %v, want %v", tt.in, err, tt.wantErr)
			}
			continue
		}
		var ute *pyvalue.UnsupportedTypeError
		if !errors.As(err, &ute) || err.Error() != tt.msg {
			t.Errorf("MarshalJSON(%T) error = %v, want %s", tt.in, err, tt.msg)
		}
	}
	// 4300 digits is still fine, negative or not.
	n := new(big.Int).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(4300), nil), big.NewInt(1))
	for _, x := range []*big.Int{n, new(big.Int).Neg(n)} {
		if b, err := pyvalue.MarshalJSON(x); err != nil || len(strings.TrimPrefix(string(b), "-")) != 4300 {
			t.Errorf("MarshalJSON(4300 digits) = %d bytes, %v", len(b), err)
		}
	}
	// The depth limit is configurable.
	if _, err := (&pyvalue.JSONEncoder{MaxDepth: 2}).Marshal([]any{[]any{[]any{}}}); !errors.Is(err, pyvalue.ErrTooDeep) {
		t.Errorf("MaxDepth 2, depth 3: %v", err)
	}
	if _, err := (&pyvalue.JSONEncoder{MaxDepth: 3}).Marshal([]any{[]any{[]any{}}}); err != nil {
		t.Errorf("MaxDepth 3, depth 3: %v", err)
	}
}

func TestUnmarshalJSON(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`null`, nil},
		{` true `, true},
		{"\t\n\r false", false},
		{`0`, int64(0)},
		{`-0`, int64(0)},
		{`-0.0`, math.Copysign(0, -1)},
		{`123456789012345678`, int64(123456789012345678)},
		{`9223372036854775807`, int64(math.MaxInt64)},
		{`-9223372036854775808`, int64(math.MinInt64)},
		{`9223372036854775808`, bigInt("9223372036854775808")},
		{`-9223372036854775809`, bigInt("-9223372036854775809")},
		{`1.0`, 1.0},
		{`1e2`, 100.0},
		{`1E-2`, 0.01},
		{`1e400`, math.Inf(1)},
		{`-1e400`, math.Inf(-1)},
		{`1e-400`, 0.0},
		{`-1e-400`, math.Copysign(0, -1)},
		{`[NaN,Infinity,-Infinity]`, []any{math.NaN(), math.Inf(1), math.Inf(-1)}},
		{`"\u00e9\ud83d\ude00\ud800\udc00"`, "é😀\U00010000"},
		{`"\ud800"`, "\xed\xa0\x80"},
		{`"\udfff\ud800x"`, "\xed\xbf\xbf\xed\xa0\x80x"},
		{`"\ud800\u0041"`, "\xed\xa0\x80A"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\uD83D\uDE00"`, "😀"},
		{`"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t"},
		{"\"\x7f\x80\xff\"", "\x7f\u0080\u00ff"},
		{"\"caf\xc3\xa9\"", "cafÃ©"},
		{`{"a":1,"b":2,"a":3}`, dict("a", int64(3), "b", int64(2))},
		{`{ "a" : [ 1 , { } , [ ] ] }`, dict("a", []any{int64(1), dict(), []any{}})},
		{`{"":""}`, dict("", "")},
	}
	for _, tt := range tests {
		got, err := pyvalue.UnmarshalJSON([]byte(tt.in))
		if err != nil || !pyvalue.Equal(got, tt.want) {
			t.Errorf("UnmarshalJSON(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
	// Many keys, with and without duplicates (the indexed path).
	var sb strings.Builder
	sb.WriteString("{")
	want := pyvalue.NewDict(0)
	for i := 0; i < 40; i++ {
		k := string(rune('a' + i%26))
		if i >= 26 {
			k += "x"
		}
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`"` + k + `":` + string(rune('0'+i%10)))
		want.Set(k, int64(i%10))
	}
	sb.WriteString(`,"c":7}`)
	want.Set("c", int64(7))
	got, err := pyvalue.UnmarshalJSON([]byte(sb.String()))
	if err != nil || !pyvalue.Equal(got, want) {
		t.Errorf("UnmarshalJSON(40 keys + duplicate) = %v, %v", got, err)
	}
	if d, ok := got.(*pyvalue.Dict); !ok || d.Len() != 40 {
		t.Errorf("40 keys: %v", got)
	}
}

// TestUnmarshalJSONNoCopy: strings decoded from an owned buffer or a string
// share its memory, and copies are made when the input is []byte.
func TestUnmarshalJSONNoCopy(t *testing.T) {
	in := []byte(`{"key":"value"}`)
	v, err := pyvalue.UnmarshalJSON(in)
	if err != nil {
		t.Fatal(err)
	}
	copy(in, `{"KEY":"VALUE"}`) // the caller may reuse its buffer
	if !pyvalue.Equal(v, dict("key", "value")) {
		t.Errorf("UnmarshalJSON result changed with its input: %v", v)
	}
	for _, f := range []func([]byte) (any, error){pyvalue.UnmarshalJSONOwned,
		func(b []byte) (any, error) { return pyvalue.UnmarshalJSONString(string(b)) }} {
		v, err := f([]byte(`{"key":"value","k2":"caf\u00e9"}`))
		if err != nil || !pyvalue.Equal(v, dict("key", "value", "k2", "café")) {
			t.Errorf("no-copy decode = %v, %v", v, err)
		}
	}
}

// TestUnmarshalJSONText: UTF-8 input is read as UTF-8, not Latin-1.
func TestUnmarshalJSONText(t *testing.T) {
	got, err := pyvalue.UnmarshalJSONText([]byte("{\"caf\xc3\xa9\":\"\xf0\x9f\x98\x80\"}"))
	if err != nil || !pyvalue.Equal(got, dict("café", "😀")) {
		t.Errorf("UnmarshalJSONText = %v, %v", got, err)
	}
	for _, in := range []string{"\"\xff\"", "\"\xed\xa0\x80\"", "\"\xc3\"", "\xef\xbb\xbf1"} {
		if v, err := pyvalue.UnmarshalJSONText([]byte(in)); err == nil {
			t.Errorf("UnmarshalJSONText(%q) = %v, want error", in, v)
		}
	}
	_, err = pyvalue.UnmarshalJSONText([]byte("\"\xff\""))
	if !errors.Is(err, pyvalue.ErrInvalidUTF8) {
		t.Errorf("invalid UTF-8: %v", err)
	}
	// Positions are counted in characters, as Python counts them.
	_, err = pyvalue.UnmarshalJSONText([]byte("[\"\xc3\xa9\" 1]"))
	if err == nil || err.Error() != "Expecting ',' delimiter: line 1 column 6 (char 5)" {
		t.Errorf("error position: %v", err)
	}
}

// TestUnmarshalJSONErrors compares error messages with CPython 3.11's
// json.loads (messages produced by running it on these inputs).
func TestUnmarshalJSONErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{``, `Expecting value: line 1 column 1 (char 0)`},
		{` `, `Expecting value: line 1 column 2 (char 1)`},
		{`{`, `Expecting property name enclosed in double quotes: line 1 column 2 (char 1)`},
		{`{"a"`, `Expecting ':' delimiter: line 1 column 5 (char 4)`},
		{`{"a":`, `Expecting value: line 1 column 6 (char 5)`},
		{`{"a":1`, `Expecting ',' delimiter: line 1 column 7 (char 6)`},
		{`{"a":1,`, `Expecting property name enclosed in double quotes: line 1 column 8 (char 7)`},
		{`{"a":1,}`, `Expecting property name enclosed in double quotes: line 1 column 8 (char 7)`},
		{`[`, `Expecting value: line 1 column 2 (char 1)`},
		{`[1`, `Expecting ',' delimiter: line 1 column 3 (char 2)`},
		{`[1,`, `Expecting value: line 1 column 4 (char 3)`},
		{`[1,]`, `Expecting value: line 1 column 4 (char 3)`},
		{`[1 2]`, `Expecting ',' delimiter: line 1 column 4 (char 3)`},
		{`{"a" 1}`, `Expecting ':' delimiter: line 1 column 6 (char 5)`},
		{`{1:2}`, `Expecting property name enclosed in double quotes: line 1 column 2 (char 1)`},
		{`"abc`, `Unterminated string starting at: line 1 column 1 (char 0)`},
		{`"a\x"`, `Invalid \escape: line 1 column 3 (char 2)`},
		{`"\u12"`, `Invalid \uXXXX escape: line 1 column 3 (char 2)`},
		{`"\ud800\uzz00"`, `Invalid \uXXXX escape: line 1 column 9 (char 8)`},
		{"\"a\x01\"", `Invalid control character at: line 1 column 3 (char 2)`},
		{`1 2`, `Extra data: line 1 column 3 (char 2)`},
		{`-`, `Expecting value: line 1 column 1 (char 0)`},
		{`01`, `Extra data: line 1 column 2 (char 1)`},
		{`1.`, `Extra data: line 1 column 2 (char 1)`},
		{`1e`, `Extra data: line 1 column 2 (char 1)`},
		{`nul`, `Expecting value: line 1 column 1 (char 0)`},
		{`tru`, `Expecting value: line 1 column 1 (char 0)`},
		{`-Inf`, `Expecting value: line 1 column 1 (char 0)`},
		{`"\`, `Unterminated string starting at: line 1 column 1 (char 0)`},
		{`["\u`, `Invalid \uXXXX escape: line 1 column 4 (char 3)`},
		{"[1,\n 2\n x]", `Expecting ',' delimiter: line 3 column 2 (char 8)`},
		{"not json", `Expecting value: line 1 column 1 (char 0)`},
	}
	for _, tt := range tests {
		v, err := pyvalue.UnmarshalJSON([]byte(tt.in))
		var se *pyvalue.SyntaxError
		if !errors.As(err, &se) || err.Error() != tt.msg {
			t.Errorf("UnmarshalJSON(%q) = %v, %v; want %s", tt.in, v, err, tt.msg)
		}
	}
	_, err := pyvalue.UnmarshalJSON([]byte(strings.Repeat("1", 4301)))
	if !errors.Is(err, pyvalue.ErrIntTooLong) ||
		!strings.HasPrefix(err.Error(), "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 digits") {
		t.Errorf("4301 digits: %v", err)
	}
	if v, err := pyvalue.UnmarshalJSON([]byte("-" + strings.Repeat("1", 4300))); err != nil || pyvalue.TypeName(v) != "int" {
		t.Errorf("4300 digits: %v", err)
	}
}
