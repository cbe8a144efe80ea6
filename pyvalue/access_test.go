package pyvalue_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"testing"

	"github.com/djsession/djsession/pyvalue"
)

func TestAccessors(t *testing.T) {
	safe := &pyvalue.Object{Module: "django.utils.safestring", Name: "SafeString", Kind: pyvalue.ObjectNewObj, Args: pyvalue.Tuple{"<b>"}}
	od := pyvalue.NewOrderedDict(dict("a", int64(1)))
	huge := bigInt("123456789012345678901234567890")
	type call struct {
		name string
		got  any
		err  error
		want any
		// wantErr: "type" for *TypeError, "range" for ErrOutOfRange.
		wantErr string
	}
	var calls []call
	add := func(name string, want any, wantErr string, got any, err error) {
		calls = append(calls, call{name, got, err, want, wantErr})
	}
	s, err := pyvalue.AsString("x")
	add("AsString(str)", "x", "", s, err)
	s, err = pyvalue.AsString(safe)
	add("AsString(SafeString)", "<b>", "", s, err)
	s, err = pyvalue.AsString(int64(1))
	add("AsString(int)", "", "type", s, err)
	s, err = pyvalue.AsString(nil)
	add("AsString(None)", "", "type", s, err)

	n, err := pyvalue.AsInt64(int64(-5))
	add("AsInt64(int64)", int64(-5), "", n, err)
	n, err = pyvalue.AsInt64(7)
	add("AsInt64(int)", int64(7), "", n, err)
	n, err = pyvalue.AsInt64(big.NewInt(math.MinInt64))
	add("AsInt64(big in range)", int64(math.MinInt64), "", n, err)
	n, err = pyvalue.AsInt64(huge)
	add("AsInt64(big)", int64(0), "range", n, err)
	n, err = pyvalue.AsInt64(true)
	add("AsInt64(bool)", int64(0), "type", n, err)
	n, err = pyvalue.AsInt64(3.0)
	add("AsInt64(float)", int64(0), "type", n, err)
	n, err = pyvalue.AsInt64("3")
	add("AsInt64(str)", int64(0), "type", n, err)

	b, err := pyvalue.AsBool(true)
	add("AsBool(true)", true, "", b, err)
	b, err = pyvalue.AsBool(int64(1))
	add("AsBool(int)", false, "type", b, err)
	b, err = pyvalue.AsBool(nil)
	add("AsBool(None)", false, "type", b, err)

	f, err := pyvalue.AsFloat64(2.5)
	add("AsFloat64(float)", 2.5, "", f, err)
	f, err = pyvalue.AsFloat64(int64(3))
	add("AsFloat64(int)", 3.0, "", f, err)
	f, err = pyvalue.AsFloat64(huge)
	add("AsFloat64(big)", 1.2345678901234568e29, "", f, err)
	f, err = pyvalue.AsFloat64(new(big.Int).Lsh(big.NewInt(1), 1024))
	add("AsFloat64(2**1024)", 0.0, "range", f, err)
	f, err = pyvalue.AsFloat64(false)
	add("AsFloat64(bool)", 0.0, "type", f, err)
	f, err = pyvalue.AsFloat64("1.5")
	add("AsFloat64(str)", 0.0, "type", f, err)

	for _, c := range calls {
		switch c.wantErr {
		case "":
			if c.err != nil || c.got != c.want {
				t.Errorf("%s = %#v, %v; want %#v", c.name, c.got, c.err, c.want)
			}
		case "type":
			var te *pyvalue.TypeError
			if !errors.As(c.err, &te) || te.Want == "" || te.Got == "" {
				t.Errorf("%s error = %v, want *TypeError", c.name, c.err)
			}
		case "range":
			if !errors.Is(c.err, pyvalue.ErrOutOfRange) {
				t.Errorf("%s error = %v, want ErrOutOfRange", c.name, c.err)
			}
		}
	}

	if d, err := pyvalue.AsDict(dict("k", 1)); err != nil || d.Len() != 1 {
		t.Errorf("AsDict(dict) = %v, %v", d, err)
	}
	if d, err := pyvalue.AsDict(od); err != nil || !pyvalue.Equal(d, dict("a", int64(1))) {
		t.Errorf("AsDict(OrderedDict) = %v, %v", d, err)
	}
	if _, err := pyvalue.AsDict([]any{}); err == nil || err.Error() != "pyvalue: want dict, got list" {
		t.Errorf("AsDict(list) error = %v", err)
	}
	if l, err := pyvalue.AsList([]any{1}); err != nil || len(l) != 1 {
		t.Errorf("AsList(list) = %v, %v", l, err)
	}
	if l, err := pyvalue.AsList(pyvalue.Tuple{1, 2}); err != nil || len(l) != 2 {
		t.Errorf("AsList(tuple) = %v, %v", l, err)
	}
	if _, err := pyvalue.AsList(dict()); err == nil {
		t.Error("AsList(dict) succeeded")
	}
}

func TestToUTF8JSON(t *testing.T) {
	utc := pyvalue.UTC()
	tests := []struct {
		in   any
		want string
	}{
		{dict("café", "😀\n", int64(1), 2.0, nil, true), `{"café":"😀\n","1":2.0,"null":true}`},
		{"\x7f\x00\xed\xa0\x80", `"` + "\x7f" + `\u0000\ud800"`},
		{pyvalue.Tuple{&pyvalue.Set{Items: []any{int64(1)}}, pyvalue.Bytes("hi")}, `[[1],"aGk="]`},
		{pyvalue.DateTime{Year: 2023, Month: 11, Day: 14, Hour: 22, Minute: 13, Second: 20, TZ: utc}, `"2023-11-14T22:13:20+00:00"`},
		{pyvalue.Date{Year: 2023, Month: 1, Day: 2}, `"2023-01-02"`},
		{pyvalue.TimeDelta{Days: 1, Seconds: 1, Microseconds: 500000}, `86401.5`},
		{[]any{pyvalue.Decimal("1.50"), pyvalue.Decimal("-1E+2"), pyvalue.Decimal("NaN")}, `[1.50,-1E+2,"NaN"]`},
		{pyvalue.UUID{0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78}, `"12345678-1234-5678-1234-567812345678"`},
		{bigInt("-18446744073709551617"), `-18446744073709551617`},
	}
	for _, tt := range tests {
		got, err := pyvalue.ToUTF8JSON(tt.in)
		if err != nil || string(got) != tt.want {
			t.Errorf("ToUTF8JSON(%#v) = %s, %v; want %s", tt.in, got, err, tt.want)
			continue
		}
		if !json.Valid(got) {
			t.Errorf("ToUTF8JSON(%#v) = %s is not valid JSON", tt.in, got)
		}
	}
	for _, in := range []any{math.NaN(), []any{math.Inf(1)}} {
		if _, err := pyvalue.ToUTF8JSON(in); !errors.Is(err, pyvalue.ErrOutOfRange) {
			t.Errorf("ToUTF8JSON(%v) error = %v", in, err)
		}
	}
	var ute *pyvalue.UnsupportedTypeError
	if _, err := pyvalue.ToUTF8JSON(&pyvalue.Object{Module: "m", Name: "C"}); !errors.As(err, &ute) {
		t.Errorf("ToUTF8JSON(Object) error = %v", err)
	}
}

func TestDecode(t *testing.T) {
	v, err := pyvalue.UnmarshalJSON([]byte(
		`{"_auth_user_id":"42","n":18446744073709551617,"f":2.5,"ok":true,"tags":["a","b"],"cart":{"sku":"A-1","qty":3}}`))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		UserID string   `json:"_auth_user_id"`
		N      *big.Int `json:"n"`
		F      float64  `json:"f"`
		OK     bool     `json:"ok"`
		Tags   []string `json:"tags"`
		Cart   struct {
			SKU string `json:"sku"`
			Qty int    `json:"qty"`
		} `json:"cart"`
	}
	if err := pyvalue.Decode(v, &s); err != nil {
		t.Fatal(err)
	}
	if s.UserID != "42" || s.N.String() != "18446744073709551617" || s.F != 2.5 || !s.OK ||
		len(s.Tags) != 2 || s.Cart.SKU != "A-1" || s.Cart.Qty != 3 {
		t.Errorf("Decode = %+v", s)
	}
	var m map[string]any
	if err := pyvalue.Decode(v, &m); err != nil {
		t.Fatal(err)
	}
	if m["n"] != json.Number("18446744073709551617") {
		t.Errorf("Decode into map: n = %#v, want json.Number", m["n"])
	}
	var wrong struct {
		UserID int `json:"_auth_user_id"`
	}
	var jte *json.UnmarshalTypeError
	if err := pyvalue.Decode(v, &wrong); !errors.As(err, &jte) {
		t.Errorf("Decode str into int: %v", err)
	}
}

func ExampleDecode() {
	// A session as Django's JSONSerializer stores it.
	session, err := pyvalue.UnmarshalJSON([]byte(`{"_auth_user_id":"1","cart":[{"sku":"A-1","qty":2}]}`))
	if err != nil {
		panic(err)
	}
	var s struct {
		UserID string `json:"_auth_user_id"`
		Cart   []struct {
			SKU string
			Qty int
		}
	}
	if err := pyvalue.Decode(session, &s); err != nil {
		panic(err)
	}
	fmt.Println(s.UserID, s.Cart[0].SKU, s.Cart[0].Qty)
	// Output: 1 A-1 2
}

func ExampleAsString() {
	session, _ := pyvalue.UnmarshalJSON([]byte(`{"_auth_user_id":"1","visits":3}`))
	d, _ := pyvalue.AsDict(session)
	v, _ := d.Get("_auth_user_id")
	id, err := pyvalue.AsString(v)
	fmt.Println(id, err)
	v, _ = d.Get("visits")
	_, err = pyvalue.AsString(v)
	fmt.Println(err)
	// Output:
	// 1 <nil>
	// pyvalue: want str, got int
}

func ExampleMarshalJSON() {
	d := pyvalue.NewDict(3)
	d.Set("kéy", "café € 😀")
	d.Set("f", []any{0.1, 1.0, 1e16, 1e-07})
	d.Set(int64(1), pyvalue.Tuple{true, nil})
	b, err := pyvalue.MarshalJSON(d)
	fmt.Println(string(b), err)
	// Output: {"k\u00e9y":"caf\u00e9 \u20ac \ud83d\ude00","f":[0.1,1.0,1e+16,1e-07],"1":[true,null]} <nil>
}

func ExampleUnmarshalJSON() {
	// Bytes are read as Latin-1, as Django reads them: raw UTF-8 becomes
	// mojibake, \u escapes are exact.
	v, err := pyvalue.UnmarshalJSON([]byte("{\"raw\":\"caf\xc3\xa9\",\"esc\":\"caf\\u00e9\",\"n\":3,\"x\":3.0}"))
	fmt.Printf("%v %v\n", v.(*pyvalue.Dict).Values(), err)
	// Output: [cafÃ© café 3 3] <nil>
}
