package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/pyvalue"
)

const testSecret = "django-insecure-test-secret-ÿ-ключ"

// goRun runs the Go CLI in process and returns its answer in the peer's
// Result form. stdin is raw JSON ([]byte or string), a value encoded with
// pyvalue.MarshalJSON (*pyvalue.Dict), or nil.
func goRun(tb testing.TB, cfg map[string]any, sub string, args []string, stdin any) peer.Result {
	tb.Helper()
	var argv []string
	if cfg != nil {
		b, err := json.Marshal(cfg)
		if err != nil {
			tb.Fatal(err)
		}
		argv = append(argv, "--config", string(b))
	}
	argv = append(argv, sub)
	argv = append(argv, args...)
	return goRunArgv(tb, argv, stdin)
}

func goRunArgv(tb testing.TB, argv []string, stdin any) peer.Result {
	tb.Helper()
	var in []byte
	switch x := stdin.(type) {
	case nil:
	case []byte:
		in = x
	case string:
		in = []byte(x)
	default:
		b, err := pyvalue.MarshalJSON(x)
		if err != nil {
			tb.Fatalf("stdin: %v", err)
		}
		in = b
	}
	var stdout, stderr bytes.Buffer
	rc := run(context.Background(), argv, bytes.NewReader(in), &stdout, &stderr)
	out := stdout.Bytes()
	if len(out) == 0 || out[len(out)-1] != '\n' || bytes.Count(out, []byte("\n")) != 1 {
		if !(len(argv) > 0 && (argv[len(argv)-1] == "help" || contains(argv, "inspect"))) {
			tb.Fatalf("go %v: stdout is not one JSON line: %q (stderr %s)", argv, out, stderr.String())
		}
	}
	for _, c := range out {
		if c >= 0x80 {
			tb.Fatalf("go %v: stdout is not ASCII: %q", argv, out)
		}
	}
	return peer.Result{RC: rc, Stdout: bytes.TrimRight(out, "\n"), Stderr: stderr.String()}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// parse decodes a result's stdout type-exactly.
func parse(tb testing.TB, r peer.Result) *pyvalue.Dict {
	tb.Helper()
	v, err := pyvalue.UnmarshalJSONText(r.Stdout)
	if err != nil {
		tb.Fatalf("stdout %q: %v", r.Stdout, err)
	}
	d, ok := v.(*pyvalue.Dict)
	if !ok {
		tb.Fatalf("stdout %q is not an object", r.Stdout)
	}
	return d
}

func str(tb testing.TB, d *pyvalue.Dict, k string) string {
	tb.Helper()
	v, ok := d.Get(k)
	s, isStr := v.(string)
	if !ok || !isStr {
		tb.Fatalf("%q is not a string in %v", k, describe(d))
	}
	return s
}

// keysOf returns the keys of an object in order.
func keysOf(d *pyvalue.Dict) []string {
	var ks []string
	for _, k := range d.Keys() {
		ks = append(ks, k.(string))
	}
	return ks
}

// raw builds a JSON object text from alternating keys and (already JSON)
// values, keeping exact number spellings.
func raw(kv ...string) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(kv[i]))
		b.WriteByte(':')
		b.WriteString(kv[i+1])
	}
	b.WriteByte('}')
	return []byte(b.String())
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := pyvalue.MarshalJSON(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// newRand returns a seeded generator; DJS_SEED reproduces a failing run.
func newRand(tb testing.TB) *rand.Rand {
	seed := uint64(rand.Int64())
	if s := os.Getenv("DJS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			tb.Fatalf("DJS_SEED: %v", err)
		}
		seed = n
	}
	tb.Logf("seed %d (set DJS_SEED to reproduce)", seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// gen makes random Python values of the JSON model: unicode from every
// plane (lone surrogates included), integers of any size, floats at the
// edges, nesting.
type gen struct {
	r      *rand.Rand
	pickle bool // also produce values only pickle carries
}

func (g gen) str(max int) string {
	n := g.r.IntN(max + 1)
	var b []byte
	for range n {
		var c rune
		switch g.r.IntN(10) {
		case 0, 1, 2, 3:
			c = rune(0x20 + g.r.IntN(0x5f))
		case 4:
			c = rune(g.r.IntN(0x20)) // control characters
		case 5:
			c = rune(0x80 + g.r.IntN(0x780))
		case 6:
			c = rune(0x800 + g.r.IntN(0xd800-0x800))
		case 7:
			c = rune(0xe000 + g.r.IntN(0x10000-0xe000))
		case 8:
			c = rune(0x10000 + g.r.IntN(0x110000-0x10000))
		case 9:
			if g.r.IntN(4) == 0 {
				// A lone surrogate, in WTF-8, followed by a character that
				// keeps it lone: Python's JSON joins "\ud83d\ude00" into
				// one code point.
				s := 0xd800 + g.r.IntN(0x800)
				b = append(b, 0xed, byte(0x80|(s>>6)&0x3f), byte(0x80|s&0x3f), 'x')
				continue
			}
			c = []rune{'"', '\\', '/', '<', '>', '&', '\u2028', '\u007f', '\ufeff'}[g.r.IntN(9)]
		}
		b = utf8.AppendRune(b, c)
	}
	return string(b)
}

// utf8 is str without lone surrogates (text Python can encode).
func (g gen) utf8(max int) string {
	for {
		if s := g.str(max); utf8.ValidString(s) {
			return s
		}
	}
}

var specialFloats = []float64{0, math.Copysign(0, -1), 1, 3, -3, 0.1, 1e16, 1e-7, 1e22, 1e21, 123456789.0,
	5e-324, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 2.5, 1.0000000000000002,
	math.NaN(), math.Inf(1), math.Inf(-1), 9007199254740993}

func (g gen) number() any {
	switch g.r.IntN(8) {
	case 0:
		return int64(g.r.IntN(200) - 100)
	case 1:
		return []int64{math.MaxInt64, math.MinInt64, 0, -1, 1 << 53, 1<<53 + 1}[g.r.IntN(6)]
	case 2:
		b := new(big.Int).Lsh(big.NewInt(1), uint(64+g.r.IntN(200)))
		b.Add(b, big.NewInt(int64(g.r.IntN(1000))))
		if g.r.IntN(2) == 0 {
			b.Neg(b)
		}
		return b
	case 3:
		return g.r.Int64() >> g.r.IntN(63)
	case 4:
		return specialFloats[g.r.IntN(len(specialFloats))]
	case 5:
		return math.Float64frombits(g.r.Uint64())
	case 6:
		return float64(g.r.IntN(1_000_000)) / 1000
	default:
		return (g.r.Float64() - 0.5) * math.Pow(10, float64(g.r.IntN(40)-20))
	}
}

func (g gen) value(depth int) any {
	if g.pickle && g.r.IntN(5) == 0 {
		return g.pickleValue()
	}
	k := g.r.IntN(10)
	if depth <= 0 && k >= 6 {
		k = g.r.IntN(6)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return g.r.IntN(2) == 0
	case 2, 3:
		return g.number()
	case 4, 5:
		return g.str(12)
	case 6, 7:
		l := make([]any, g.r.IntN(5))
		for i := range l {
			l[i] = g.value(depth - 1)
		}
		return l
	default:
		return g.dict(depth-1, 5)
	}
}

func (g gen) dict(depth, max int) *pyvalue.Dict {
	n := g.r.IntN(max + 1)
	d := pyvalue.NewDict(n)
	for range n {
		d.Set(g.str(8), g.value(depth))
	}
	return d
}

// session returns a random session dict (string keys at the top, as
// Django's sessions have).
func (g gen) session() *pyvalue.Dict {
	return g.dict(3, 8)
}
