package pyvalue

import (
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestFastFloat: the Clinger fast path agrees bit for bit with
// strconv.ParseFloat (which agrees with CPython's float()) whenever it
// accepts a number.
func TestFastFloat(t *testing.T) {
	cases := []string{"0.1", "-0.0", "0.0", "1.0", "1e22", "1e23", "1E-22", "1e-23", "4.35", "0.000001234",
		"123456789012345.0", "1234567890123456.0", "9007199254740993.0", "0.30000000000000004", "1.5e-10",
		"-2.5E+3", "00.5", "0.000000000000000000000000001", "7e-0", "1.7976931348623157e308", "5e-324"}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		mant := strconv.FormatUint(r.Uint64()>>uint(r.IntN(64)), 10)
		dot := r.IntN(len(mant) + 1)
		s := mant[:dot] + "." + mant[dot:]
		if dot == 0 {
			s = "0" + s
		}
		if dot == len(mant) {
			s += "0"
		}
		if r.IntN(2) == 0 {
			s += "e" + strconv.Itoa(r.IntN(60)-30)
		}
		if r.IntN(2) == 0 {
			s = "-" + s
		}
		cases = append(cases, s)
	}
	accepted := 0
	for _, s := range cases {
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			continue
		}
		got, ok := fastFloat([]byte(s))
		if !ok {
			continue
		}
		accepted++
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("fastFloat(%q) = %v (%x), ParseFloat %v (%x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
	if accepted < len(cases)/4 {
		t.Errorf("fast path taken for only %d of %d numbers", accepted, len(cases))
	}
}

// TestStagingOverflow: long and wide documents overflow parse's on-stack
// staging array into the pooled one; values come out right, and a failed
// parse leaves nothing reachable from the pool.
func TestStagingOverflow(t *testing.T) {
	var doc []byte
	doc = append(doc, '[')
	for i := 0; i < 3000; i++ {
		if i > 0 {
			doc = append(doc, ',')
		}
		// Nested containers inside the long list grow the staging
		// area while items of the outer list are in it.
		switch i % 3 {
		case 0:
			doc = strconv.AppendQuote(doc, "s"+strconv.Itoa(i))
		case 1:
			doc = append(doc, `{"a":[1,2,3],"b":{"c":"d"}}`...)
		default:
			doc = strconv.AppendInt(doc, int64(i), 10)
		}
	}
	doc = append(doc, ']')
	// sync.Pool may hand back another slice (or none, under -race), but a
	// slice it hands back must hold no values.
	poolIsClear := func(after string) {
		p := stagingPool.Get().(*[]any)
		for i, x := range (*p)[:cap(*p)] {
			if x != nil {
				t.Fatalf("after %s: pooled staging slot %d holds %v", after, i, x)
			}
		}
		stagingPool.Put(p)
	}
	for round := 0; round < 3; round++ {
		v, err := UnmarshalJSON(doc)
		if err != nil {
			t.Fatal(err)
		}
		l := v.([]any)
		if len(l) != 3000 || l[0] != "s0" || l[2999] != int64(2999) || l[1].(*Dict).Len() != 2 {
			t.Fatalf("round %d: wrong list: %d items, %v %v %v", round, len(l), l[0], l[1], l[2999])
		}
		poolIsClear("a parse")
		// The same prefix, cut off: the parse fails deep inside the list.
		bad := append(doc[:len(doc)/2:len(doc)/2], `,{"x":`...)
		if _, err := UnmarshalJSON(bad); err == nil {
			t.Fatal("truncated document accepted")
		}
		poolIsClear("a failed parse")
	}
}

// TestLongLists covers long lists that take over the staging slice (see
// donateMin) and those that are copied out of it, in every position: the
// root, a dict value between other items, nested in another long list,
// after more outer items than the local array holds, and after a shorter
// long list. Each document is compact, as Django writes it, so it must
// re-encode to itself; and the lists must not share memory.
func TestLongLists(t *testing.T) {
	list := func(n int, item func(i int) string) string {
		var b strings.Builder
		b.WriteByte('[')
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(item(i))
		}
		b.WriteByte(']')
		return b.String()
	}
	str := func(i int) string { return strconv.Quote("/page/" + strconv.Itoa(i)) }
	num := func(i int) string { return strconv.Itoa(i * 1000) }
	rec := func(i int) string { return `{"id":` + strconv.Itoa(i) + `,"tags":["a","b"]}` }
	docs := map[string]string{
		"root":         list(300, str),
		"dict value":   `{"a":1,"h":` + list(300, str) + `,"z":"end"}`,
		"two lists":    `{"a":` + list(300, num) + `,"b":` + list(300, str) + `}`,
		"nested long":  list(300, func(i int) string { return list(2+i*7%400, num) }),
		"inner long":   `[` + list(600, str) + `,` + list(300, num) + `]`,
		"wide outside": list(130, num)[:len(list(130, num))-1] + `,` + list(400, str) + `]`,
		"short first":  `[` + list(300, num) + `,` + list(1000, str) + `]`,
		"records":      `{"r":` + list(400, rec) + `,"n":null}`,
	}
	for name, doc := range docs {
		v, err := UnmarshalJSON([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, err := MarshalJSON(v)
		if err != nil || string(out) != doc {
			t.Fatalf("%s: re-encoded differently (%v):\n%.200s\n%.200s", name, err, out, doc)
		}
	}
	// Appending to one list or changing an item leaves the other alone.
	v, err := UnmarshalJSON([]byte(docs["two lists"]))
	if err != nil {
		t.Fatal(err)
	}
	d := v.(*Dict)
	a, _ := d.Get("a")
	b, _ := d.Get("b")
	la, lb := a.([]any), b.([]any)
	if cap(la) != len(la) || cap(lb) != len(lb) {
		t.Fatalf("list capacities %d/%d and %d/%d: an append would write past the list", len(la), cap(la), len(lb), cap(lb))
	}
	la[0] = "changed"
	if z, _ := d.Get("a"); z.([]any)[0] != "changed" {
		t.Fatal("the dict does not hold the list")
	}
	la = append(la, "x")
	if lb[0] != `/page/0` || len(lb) != 300 || lb[299] != "/page/299" {
		t.Fatalf("second list changed: %v ... %v", lb[0], lb[299])
	}
}

// TestLongListsRandom decodes random documents whose lists and dicts are
// long enough to overflow the local staging array at every depth, mixing
// long lists (which take over staging memory) with short lists and dicts
// closing in between (which hand the arena back), and checks each against
// the value it was encoded from.
func TestLongListsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 7))
	var gen func(depth int) any
	scalar := func() any {
		switch k := r.IntN(4); k {
		case 0, 1:
			return "/s/" + strconv.Itoa(r.IntN(100000))
		case 2:
			return int64(r.IntN(1 << 20))
		default:
			return float64(r.IntN(1000)) / 8
		}
	}
	// container has n items from gen(depth+1), as a list or a dict; half
	// the lists hold scalars only (a list taking over its staging memory
	// needs nothing else to close while it is open).
	container := func(n, depth int) any {
		if r.IntN(3) > 0 {
			flat := r.IntN(2) == 0
			l := make([]any, n)
			for i := range l {
				if flat {
					l[i] = scalar()
				} else {
					l[i] = gen(depth + 1)
				}
			}
			return l
		}
		d := NewDict(n)
		for i := 0; i < n; i++ {
			d.Set("k"+strconv.Itoa(r.IntN(300)), gen(depth+1))
		}
		return d
	}
	gen = func(depth int) any {
		switch {
		case depth == 0: // a few items, long containers among them
			return container(1+r.IntN(12), depth)
		case depth == 1 && r.IntN(2) == 0: // long, or just past the local array
			return container([]int{r.IntN(600), 120 + r.IntN(20), 256 + r.IntN(8)}[r.IntN(3)], depth)
		case depth < 4 && r.IntN(4) == 0:
			return container(r.IntN(6), depth)
		}
		return scalar()
	}
	for i := 0; i < 300; i++ {
		v := gen(0)
		in, err := MarshalJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnmarshalJSON(in)
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if !Equal(v, got) {
			out, _ := MarshalJSON(got)
			t.Fatalf("document %d (%d bytes) decoded differently:\n%.300s\n%.300s", i, len(in), in, out)
		}
	}
}

// TestLongListMemory: long lists of scalars cost their items and little
// more (a slot of 16 bytes, a boxed string header or number of 16 or 8, and
// the shared copy of the input), whether a list takes over its staging
// memory or is copied out of it: neither the staging nor the arena's chunk
// after it may waste as much again.
func TestLongListMemory(t *testing.T) {
	list := func(n int, item func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = item(i)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	url := func(i int) string { return strconv.Quote("/page/" + strconv.Itoa(i) + "?ref=" + strconv.Itoa(7*i)) }
	num := func(i int) string { return strconv.Itoa(1000 * i) }
	docs := map[string]string{
		"one long list": `{"a":"1","b":[1,2],"history":` + list(2000, url) + `,"n":42}`,
		"two lists":     `{"a":` + list(300, num) + `,"b":` + list(1000, url) + `,"c":{"x":1}}`,
	}
	for name, doc := range docs {
		in := []byte(doc)
		items := strings.Count(doc, ",") + 1
		limit := 36*items + 3*len(in)/2
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const rounds = 10
		for i := 0; i < rounds; i++ {
			if _, err := UnmarshalJSON(in); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		if per := int(after.TotalAlloc-before.TotalAlloc) / rounds; per > limit {
			t.Errorf("%s: %d bytes allocated per decode of %d items in %d bytes, want at most %d", name, per, items, len(in), limit)
		}
	}
}

// TestNumberFloats: floats decoded by the scanner (its own fast path for
// short decimals, fastFloat, or ParseFloat) agree bit for bit with
// strconv.ParseFloat, which agrees with CPython's float().
func TestNumberFloats(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 50000; i++ {
		intPart := strconv.FormatUint(r.Uint64()>>uint(r.IntN(64)), 10)
		if r.IntN(4) == 0 {
			intPart = "0"
		}
		frac := strconv.FormatUint(r.Uint64()>>uint(r.IntN(64)), 10)
		if r.IntN(3) == 0 {
			frac = strings.Repeat("0", r.IntN(25)) + frac
		}
		s := intPart + "." + frac
		if r.IntN(5) == 0 {
			s += "e" + strconv.Itoa(r.IntN(80)-40)
		}
		if r.IntN(2) == 0 {
			s = "-" + s
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			continue
		}
		v, err := UnmarshalJSON([]byte("[" + s + "]"))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		got := v.([]any)[0].(float64)
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%s decoded as %v (%x), ParseFloat %v (%x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
}

// TestSharedRecordKeys: the dicts of a list of records share one keys
// slice; changing one of them, the first included, never shows in another.
func TestSharedRecordKeys(t *testing.T) {
	doc := []byte(`[{"id":1,"sku":"a","qty":2},{"id":2,"sku":"b","qty":3},{"id":3,"sku":"c","qty":4},{"id":4,"sku":"d","qty":5}]`)
	want := `[{"id": 1, "sku": "a", "qty": 2}, {"id": 2, "sku": "b", "qty": 3}, {"id": 3, "sku": "c", "qty": 4}, {"id": 4, "sku": "d", "qty": 5}]`
	for _, mutate := range []struct {
		name string
		f    func(d *Dict)
	}{
		{"delete", func(d *Dict) { d.Delete("id") }},
		{"clear and set", func(d *Dict) { d.Clear(); d.Set("zz", int64(9)); d.Set("yy", int64(8)) }},
		{"set new", func(d *Dict) { d.Set("new", true) }},
		{"grow and set", func(d *Dict) { d.Grow(4); d.Set("new", true) }},
	} {
		for victim := 0; victim < 4; victim++ {
			v, err := UnmarshalJSON(doc)
			if err != nil {
				t.Fatal(err)
			}
			l := v.([]any)
			if &l[0].(*Dict).Keys()[0] != &l[3].(*Dict).Keys()[0] {
				t.Fatal("records do not share their keys")
			}
			mutate.f(l[victim].(*Dict))
			for i, x := range l {
				if i == victim {
					continue
				}
				got := Repr(x)
				wantItem := Repr(mustJSON(t, want).([]any)[i])
				if got != wantItem {
					t.Errorf("%s of record %d changed record %d: %s", mutate.name, victim, i, got)
				}
			}
		}
	}
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	v, err := UnmarshalJSON([]byte(strings.ReplaceAll(strings.ReplaceAll(s, ": ", ":"), ", ", ",")))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRecordKeys: in a list of records, keys reused from the key cache or
// shared with the previous record (see buildDict) are checked against the
// input, so records whose keys differ in length, escapes or encoding from
// the previous one decode as they do on their own.
func TestRecordKeys(t *testing.T) {
	records := []string{
		`{"ab":1,"cd":2}`, `{"abc":1,"cd":2}`, `{"ab":1,"c":2}`, `{"a\\n":1,"cd":2}`, `{"a\n":1,"cd":2}`,
		`{"a\u0062":1,"cd":2}`, "{\"\xc3\xa9\":1,\"cd\":2}", `{"":1,"cd":2}`, `{"cd":1,"ab":2}`,
		`{"ab":1,"ab":2}`, `{"ab":1,"cd":2,"ef":3}`, `{"ab":{"ab":1,"cd":2},"cd":[{"ab":3}]}`,
	}
	r := rand.New(rand.NewPCG(5, 6))
	for round := 0; round < 500; round++ {
		var doc []string
		for n := 1 + r.IntN(8); n > 0; n-- {
			doc = append(doc, records[r.IntN(len(records))])
		}
		for _, decode := range []func([]byte) (any, error){UnmarshalJSON, UnmarshalJSONText} {
			v, err := decode([]byte("[" + strings.Join(doc, ",") + "]"))
			if err != nil {
				continue // raw UTF-8 in text mode is fine; \n raw is not JSON
			}
			for i, rec := range doc {
				alone, err := decode([]byte(rec))
				if err != nil {
					t.Fatalf("%s alone: %v", rec, err)
				}
				if got, want := Repr(v.([]any)[i]), Repr(alone); got != want {
					t.Fatalf("record %d of %v: %s, alone %s", i, doc, got, want)
				}
			}
		}
	}
}

// TestNumberInts: integers of every length decode as strconv parses them
// (int64), eight digits at a time or one by one.
func TestNumberInts(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	cases := []string{"0", "-0", "7", "12345678", "123456789", "1234567890123456789", "9223372036854775807",
		"-9223372036854775808", "99999999", "100000000", "10000000000000000"}
	for i := 0; i < 20000; i++ {
		s := strconv.FormatInt(int64(r.Uint64()>>uint(1+r.IntN(63))), 10)
		if r.IntN(2) == 0 {
			s = "-" + s
		}
		cases = append(cases, s)
	}
	for _, s := range cases {
		want, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range []string{s, "[" + s + "]", s + "  "} {
			v, err := UnmarshalJSON([]byte(doc))
			if err != nil {
				t.Fatalf("%q: %v", doc, err)
			}
			if l, ok := v.([]any); ok {
				v = l[0]
			}
			if got, ok := v.(int64); !ok || got != want {
				t.Fatalf("%q decoded as %#v, want %d", doc, v, want)
			}
		}
	}
	for _, s := range []string{"12345678a", "1234567:", "123456789/"} {
		if _, err := UnmarshalJSON([]byte(s)); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
