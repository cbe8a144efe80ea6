package vectors

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/djsession/djsession/pyvalue"
)

func TestLoadEveryFile(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(Dir(t), "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no vector files: %v", err)
	}
	for _, p := range paths {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			f := LoadFile(t, name)
			if f.Name != name || f.Conventions == nil || len(f.Cases) == 0 {
				t.Fatalf("file %s: conventions %v, %d cases", name, f.Conventions, len(f.Cases))
			}
			// The declared case count must match what was decoded.
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			top, err := pyvalue.UnmarshalJSONText(raw)
			if err != nil {
				t.Fatal(err)
			}
			if n, ok := top.(*pyvalue.Dict).Get("case_count"); ok && n != int64(len(f.Cases)) {
				t.Errorf("case_count %v, decoded %d", n, len(f.Cases))
			}
			for _, c := range f.Cases {
				if _, err := Untag(c.Raw()); err != nil {
					t.Errorf("%s: %v", c, err)
				}
			}
		})
	}
}

func TestCaseAccessors(t *testing.T) {
	cases := Select(Load(t, "signing.json"), "JSONSerializer.dumps")
	if len(cases) == 0 {
		t.Fatal("no JSONSerializer.dumps cases")
	}
	c := cases[0].WithT(t)
	if c.Op() != "JSONSerializer.dumps" || c.Str("name") != "str" || c.Value("input") != "hello" {
		t.Errorf("first dumps case: op %q name %q input %v", c.Op(), c.Str("name"), c.Value("input"))
	}
	if got := string(c.Hex("result_hex")); got != `"hello"` {
		t.Errorf("Hex = %q", got)
	}
	if !c.Has("settings", "SECRET_KEY") || c.Has("settings", "nope") || c.Has("name", "x") {
		t.Error("Has on nested paths")
	}
	if got := c.Sub("settings").Str("SECRET_KEY"); got == "" {
		t.Error("Sub(settings).Str(SECRET_KEY) empty")
	}
	if got := c.StrOr("dflt", "missing"); got != "dflt" {
		t.Errorf("StrOr = %q", got)
	}
	if _, _, ok := c.Error(); ok {
		t.Error("Error() reported an error on a successful case")
	}
	var errCase Case
	for _, c := range cases {
		if c.Has("error") {
			errCase = c.WithT(t)
			break
		}
	}
	if class, msg, ok := errCase.Error(); !ok || class != "TypeError" || msg == "" {
		t.Errorf("Error() = %q, %q, %v", class, msg, ok)
	}
}

func mustDict(t *testing.T, kv ...any) *pyvalue.Dict {
	t.Helper()
	d := pyvalue.NewDict(len(kv) / 2)
	for i := 0; i < len(kv); i += 2 {
		d.Set(kv[i], kv[i+1])
	}
	return d
}

func TestUntag(t *testing.T) {
	utc := &pyvalue.TZInfo{Kind: pyvalue.TZUTC}
	tests := []struct {
		in   string
		want any
	}{
		{`{"$datetime":"2023-11-14T22:13:20"}`, pyvalue.DateTime{Year: 2023, Month: 11, Day: 14, Hour: 22, Minute: 13, Second: 20}},
		{`{"$datetime":"2023-11-14T22:13:20.000005"}`, pyvalue.DateTime{Year: 2023, Month: 11, Day: 14, Hour: 22, Minute: 13, Second: 20, Microsecond: 5}},
		{`{"$datetime":"2023-11-14T22:14:50.123456+00:00"}`, pyvalue.DateTime{Year: 2023, Month: 11, Day: 14, Hour: 22, Minute: 14, Second: 50, Microsecond: 123456, TZ: utc}},
		{`{"$datetime":"2023-11-14T23:13:20+01:00"}`, pyvalue.DateTime{Year: 2023, Month: 11, Day: 14, Hour: 23, Minute: 13, Second: 20,
			TZ: &pyvalue.TZInfo{Kind: pyvalue.TZFixed, Offset: 3600e6}}},
		{`{"$datetime":"2023-11-14T17:13:20-05:00:30.500000"}`, pyvalue.DateTime{Year: 2023, Month: 11, Day: 14, Hour: 17, Minute: 13, Second: 20,
			TZ: &pyvalue.TZInfo{Kind: pyvalue.TZFixed, Offset: -(5*3600*1e6 + 30.5e6)}}},
		{`{"$date":"2023-01-02"}`, pyvalue.Date{Year: 2023, Month: 1, Day: 2}},
		{`{"$decimal":"1.50"}`, pyvalue.Decimal("1.50")},
		{`{"$uuid":"12345678-1234-5678-1234-567812345678"}`, pyvalue.UUID{0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78}},
		{`{"$bytes_hex":"00ff"}`, pyvalue.Bytes{0, 0xff}},
		{`{"$bytes_hex":"6869","$ascii":"hi"}`, pyvalue.Bytes("hi")},
		{`{"$tuple":["a",1,{"$tuple":[]}]}`, pyvalue.Tuple{"a", int64(1), pyvalue.Tuple{}}},
		{`{"$set":[3]}`, &pyvalue.Set{Items: []any{int64(3)}}},
		{`[{"$float":"nan"},{"$float":"inf"},{"$float":"-inf"}]`, []any{math.NaN(), math.Inf(1), math.Inf(-1)}},
		{`{"$dict_items":[[1,"int"],[2.5,"float"],[false,"bool"],[null,"none"],[{"$tuple":[1]},"t"]]}`,
			mustDict(t, int64(1), "int", 2.5, "float", false, "bool", nil, "none", pyvalue.Tuple{int64(1)}, "t")},
		{`{"$repr":"datetime.timedelta(seconds=3600)","$type":"datetime.timedelta"}`, pyvalue.TimeDelta{Seconds: 3600}},
		{`{"$repr":"datetime.timedelta(days=-1, seconds=86399, microseconds=5)","$type":"datetime.timedelta"}`, pyvalue.TimeDelta{Days: -1, Seconds: 86399, Microseconds: 5}},
		{`{"$repr":"<x.Y object>","$type":"x.Y"}`, &Repr{Repr: "<x.Y object>", Type: "x.Y"}},
		{`{"a":{"$date":"2023-01-02"},"$b":1,"c":[{"$tuple":[]}]}`, mustDict(t, "a", pyvalue.Date{Year: 2023, Month: 1, Day: 2}, "$b", int64(1), "c", []any{pyvalue.Tuple{}})},
		{`{"$unknown":1}`, mustDict(t, "$unknown", int64(1))},
	}
	for _, tt := range tests {
		in, err := pyvalue.UnmarshalJSONText([]byte(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		got, err := Untag(in)
		if err != nil {
			t.Errorf("Untag(%s): %v", tt.in, err)
			continue
		}
		if !pyvalue.Equal(got, tt.want) {
			t.Errorf("Untag(%s) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestUntagOptionsUTC(t *testing.T) {
	in, _ := pyvalue.UnmarshalJSONText([]byte(`{"$datetime":"2023-11-14T22:13:20+00:00"}`))
	got, err := Options{UTC: pyvalue.TZPytzUTC}.Untag(in)
	if err != nil {
		t.Fatal(err)
	}
	if dt := got.(pyvalue.DateTime); dt.TZ == nil || dt.TZ.Kind != pyvalue.TZPytzUTC {
		t.Errorf("TZ = %+v, want pytz UTC", dt.TZ)
	}
}

func TestUntagErrors(t *testing.T) {
	for _, in := range []string{
		`{"$datetime":"yesterday"}`, `{"$datetime":1}`, `{"$date":"2023-1-2"}`, `{"$uuid":"xyz"}`,
		`{"$bytes_hex":"0g"}`, `{"$float":"big"}`, `{"$dict_items":[[1]]}`, `{"$dict_items":[[[1],2]]}`,
		`{"$tuple":1}`, `[{"$set":"x"}]`,
	} {
		v, err := pyvalue.UnmarshalJSONText([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got, err := Untag(v); err == nil {
			t.Errorf("Untag(%s) = %#v, want error", in, got)
		}
	}
}

func TestReprTypeName(t *testing.T) {
	if got := pyvalue.TypeName(&Repr{Type: "pymemcache.serde.PickleSerde"}); got != "PickleSerde" {
		t.Errorf("TypeName = %q", got)
	}
}
