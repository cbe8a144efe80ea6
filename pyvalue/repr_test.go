package pyvalue

import (
	"math"
	"math/big"
	"strings"
	"testing"
)

func TestRepr(t *testing.T) {
	d := NewDict(2)
	d.Set("a", int64(1))
	d.Set(Tuple{int64(1)}, nil)
	big, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	tests := []struct {
		v    any
		want string
	}{
		{nil, "None"}, {true, "True"}, {int64(-3), "-3"}, {big, "123456789012345678901234567890"},
		{1.5, "1.5"}, {1e16, "1e+16"}, {math.NaN(), "nan"}, {math.Inf(-1), "-inf"}, {-0.0 * 1, "0.0"},
		{"it's", `"it's"`}, {"a\n\x00\u00a0é\U0001F600", `'a\n\x00\xa0é😀'`}, {"\xed\xa0\x80", `'\ud800'`},
		{Bytes("a'\x00\xff"), `b"a'\x00\xff"`}, {ByteArray("'"), `bytearray(b"\'")`},
		{[]any{}, "[]"}, {Tuple{int64(1)}, "(1,)"}, {Tuple{}, "()"}, {d, "{'a': 1, (1,): None}"},
		{&Set{}, "set()"}, {&Set{Frozen: true}, "frozenset()"}, {&Set{Items: []any{"x"}}, "{'x'}"},
		{DateTime{Year: 2023, Month: 11, Day: 14, Hour: 22, Minute: 13, Second: 20, TZ: UTC()},
			"datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.timezone.utc)"},
		{DateTime{Year: 2023, Month: 1, Day: 1, Microsecond: 5, Fold: 1, TZ: &TZInfo{Kind: TZPytzUTC}},
			"datetime.datetime(2023, 1, 1, 0, 0, 0, 5, fold=1, tzinfo=<UTC>)"},
		{DateTime{Year: 2023, Month: 1, Day: 1, TZ: FixedZone(-3600e6, "")},
			"datetime.datetime(2023, 1, 1, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=82800)))"},
		{Date{2023, 1, 2}, "datetime.date(2023, 1, 2)"},
		{Time{Hour: 12, Minute: 30, TZ: &TZInfo{Kind: TZZoneInfo, Name: "Europe/Paris"}}, "datetime.time(12, 30, tzinfo=zoneinfo.ZoneInfo(key='Europe/Paris'))"},
		{TimeDelta{}, "datetime.timedelta(0)"}, {TimeDelta{Days: 1, Microseconds: 3}, "datetime.timedelta(days=1, microseconds=3)"},
		{Decimal("1.50"), "Decimal('1.50')"},
		{UUID{0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78}, "UUID('12345678-1234-5678-1234-567812345678')"},
		{NewOrderedDict(d), "OrderedDict([('a', 1), ((1,), None)])"},
		{&Object{Module: "django.utils.safestring", Name: "SafeString", Kind: ObjectNewObj, Args: Tuple{"<b>"}}, "<django.utils.safestring.SafeString.__new__('<b>')>"},
		{Global("builtins", "str"), "<global builtins.str>"},
	}
	for _, tt := range tests {
		if got := Repr(tt.v); got != tt.want {
			t.Errorf("Repr(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

// TestReprBounded: a DAG that shares containers prints in bounded time and
// size.
func TestReprBounded(t *testing.T) {
	v := any([]any{int64(1)})
	for i := 0; i < 60; i++ {
		v = []any{v, v}
	}
	s := Repr(v)
	if len(s) > ReprMaxLen+1000 || !strings.HasSuffix(s, "]") {
		t.Errorf("Repr of a memo bomb: %d bytes", len(s))
	}
}
