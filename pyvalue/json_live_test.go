package pyvalue_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	mrand "math/rand"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/djsession/djsession/pyvalue"
)

const python = "/usr/bin/python3"

// needPython skips the test when CPython is missing, or fails it under
// CI=true, where a missing peer must never pass as green.
func needPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %s is missing: %v", python, err)
		}
		t.Skipf("%s not available: %v", python, err)
	}
}

// pyGenerate prints, for seeded random values, one line per value:
// hex(input bytes) SPACE json.dumps(json.loads(input.decode("latin-1"))).
// Most inputs are Django's own dumps output; some are UTF-8 text with raw
// non-ASCII bytes, which Django reads as Latin-1 mojibake.
const pyGenerate = `
import json, random, struct, sys
rnd = random.Random(int(sys.argv[1]))
N = int(sys.argv[2])
PLANES = [(0x20, 0x7e), (0, 0x1f), (0x7f, 0xff), (0x100, 0x7ff), (0x800, 0xd7ff),
          (0xd800, 0xdfff), (0xe000, 0xffff), (0x10000, 0x1ffff), (0x20000, 0x10ffff)]
def rstr(maxlen=12):
    n = rnd.randint(0, maxlen)
    out = []
    for _ in range(n):
        lo, hi = rnd.choice(PLANES)
        out.append(chr(rnd.randint(lo, hi)))
    s = ''.join(out)
    if rnd.random() < 0.1:
        s += rnd.choice(['"', '\\', '/', '<>&', '\u2028', '\ud83d\ude00', '\ud83d', '\ude00x', '\x7f'])
    return s
EDGE_F = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 1e16, 9999999999999998.0,
          1e-4, 9.999999999999999e-5, 1e-5, 0.1, 1.0, 123456789.0, 1e22, 1e23, float('nan'), float('inf'), float('-inf'),
          2.0**53, 2.0**63, 2.0**64, 0.30000000000000004]
EDGE_I = [0, 1, -1, 255, 256, 2**31, 2**53 + 1, 2**63 - 1, -2**63, 2**63, -2**63 - 1, 2**64, 10**30]
def rfloat():
    r = rnd.random()
    if r < 0.3: return rnd.choice(EDGE_F)
    if r < 0.6:
        f = struct.unpack('<d', struct.pack('<Q', rnd.getrandbits(64)))[0]
        return f
    return rnd.uniform(-1, 1) * 10 ** rnd.randint(-30, 30)
def rint():
    r = rnd.random()
    if r < 0.3: return rnd.choice(EDGE_I)
    if r < 0.6: return rnd.randint(-2**63, 2**63)
    if r < 0.8: return rnd.randint(-1000, 1000)
    return rnd.randint(-10**rnd.randint(1, 300), 10**rnd.randint(1, 300))
def rval(depth):
    r = rnd.random()
    if depth > 0 and r < 0.25:
        return {rstr(6): rval(depth - 1) for _ in range(rnd.randint(0, 6))}
    if depth > 0 and r < 0.45:
        return [rval(depth - 1) for _ in range(rnd.randint(0, 6))]
    r = rnd.random()
    if r < 0.3: return rstr()
    if r < 0.5: return rint()
    if r < 0.75: return rfloat()
    return rnd.choice([True, False, None])
def deep(n):
    v = rval(1)
    for i in range(n):
        v = [v] if i % 2 else {'k': v}
    return v
out = sys.stdout
for i in range(N):
    if i % 500 == 7:
        v = deep(rnd.randint(100, 900))
    elif i % 500 == 11:
        v = {'big': rstr(50000), 'list': [rint() for _ in range(2000)]}
    else:
        v = rval(4)
    if i % 5 == 0:
        # UTF-8 text with raw non-ASCII bytes, read by Django as Latin-1.
        raw = json.dumps(v, ensure_ascii=False).encode('utf-8', 'surrogatepass')
    else:
        raw = json.dumps(v, separators=(',', ':')).encode('latin-1')
    canon = json.dumps(json.loads(raw.decode('latin-1')), separators=(',', ':'))
    out.write(raw.hex() + ' ' + canon + '\n')
`

// TestLivePythonToGo: every value CPython's json writes (or Django would
// read from raw UTF-8 bytes) decodes in Go to a value that re-encodes to
// the bytes Python's json.dumps writes for it.
func TestLivePythonToGo(t *testing.T) {
	needPython(t)
	const n = 3000
	out, err := exec.Command(python, "-c", pyGenerate, "20260101", fmt.Sprint(n)).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("python printed %d lines, want %d", len(lines), n)
	}
	fails := 0
	for i, line := range lines {
		h, canon, ok := strings.Cut(line, " ")
		raw, err := hex.DecodeString(h)
		if !ok || err != nil {
			t.Fatalf("line %d malformed: %v", i, err)
		}
		v, err := pyvalue.UnmarshalJSON(raw)
		if err != nil {
			t.Errorf("value %d: UnmarshalJSON(%.200q): %v", i, raw, err)
			fails++
		} else if got, err := pyvalue.MarshalJSON(v); err != nil || string(got) != canon {
			t.Errorf("value %d: re-encoded\n%.300s (err %v)\nwant\n%.300s", i, got, err, canon)
			fails++
		}
		if fails > 10 {
			t.Fatal("too many failures")
		}
	}
}

// goGen makes seeded random values of every type JSON carries.
type goGen struct{ r *rand.Rand }

var planes = [][2]rune{{0x20, 0x7e}, {0, 0x1f}, {0x7f, 0xff}, {0x100, 0x7ff}, {0x800, 0xd7ff},
	{0xd800, 0xdfff}, {0xe000, 0xffff}, {0x10000, 0x1ffff}, {0x20000, 0x10ffff}}

func (g goGen) str(maxLen int) string {
	var b []byte
	for n := g.r.IntN(maxLen + 1); n > 0; n-- {
		p := planes[g.r.IntN(len(planes))]
		c := p[0] + rune(g.r.Int32N(p[1]-p[0]+1))
		if c >= 0xD800 && c <= 0xDFFF {
			b = append(b, 0xED, byte(0x80|(c>>6)&0x3F), byte(0x80|c&0x3F)) // WTF-8
		} else {
			b = utf8.AppendRune(b, c)
		}
	}
	return string(b)
}

func (g goGen) float() float64 {
	edges := []float64{0, math.Copysign(0, -1), 5e-324, math.MaxFloat64, -math.MaxFloat64, 1e16, 1e-5, 1e-4,
		9999999999999998, 0.1, math.NaN(), math.Inf(1), math.Inf(-1), 1 << 53, 1e22}
	switch r := g.r.Float64(); {
	case r < 0.3:
		return edges[g.r.IntN(len(edges))]
	case r < 0.6:
		return math.Float64frombits(g.r.Uint64())
	default:
		return (g.r.Float64()*2 - 1) * math.Pow10(g.r.IntN(61)-30)
	}
}

func (g goGen) int() any {
	switch r := g.r.Float64(); {
	case r < 0.4:
		return int64(g.r.Uint64())
	case r < 0.6:
		return int64(g.r.IntN(2000) - 1000)
	default:
		x := new(big.Int).Rand(mrand.New(randSource{g.r}), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(g.r.IntN(300)+1)), nil))
		if g.r.IntN(2) == 0 {
			x.Neg(x)
		}
		return pyvalue.Int(x)
	}
}

// randSource adapts math/rand/v2 to the math/rand.Source that big.Int.Rand wants.
type randSource struct{ r *rand.Rand }

func (s randSource) Int63() int64 { return int64(s.r.Uint64() >> 1) }
func (s randSource) Seed(int64)   {}

func (g goGen) value(depth int) any {
	if depth > 0 {
		switch r := g.r.Float64(); {
		case r < 0.2:
			d := pyvalue.NewDict(0)
			for n := g.r.IntN(7); n > 0; n-- {
				var k any
				switch g.r.IntN(8) { // non-string keys as Python converts them
				case 0:
					k = g.int()
				case 1:
					k = g.float()
				default:
					k = g.str(6)
				}
				d.Set(k, g.value(depth-1))
			}
			return d
		case r < 0.3:
			l := make([]any, g.r.IntN(7))
			for i := range l {
				l[i] = g.value(depth - 1)
			}
			return l
		case r < 0.35:
			l := make(pyvalue.Tuple, g.r.IntN(4))
			for i := range l {
				l[i] = g.value(depth - 1)
			}
			return l
		}
	}
	switch r := g.r.Float64(); {
	case r < 0.3:
		return g.str(12)
	case r < 0.5:
		return g.int()
	case r < 0.75:
		return g.float()
	case r < 0.85:
		return true
	case r < 0.95:
		return false
	}
	return nil
}

// pyCheck reads Go's MarshalJSON lines and reports, for each, whether
// json.dumps(json.loads(line.decode("latin-1"))) gives the line back.
const pyCheck = `
import json, sys
bad = 0
for i, line in enumerate(sys.stdin.buffer):
    line = line.rstrip(b'\n')
    try:
        again = json.dumps(json.loads(line.decode('latin-1')), separators=(',', ':')).encode('latin-1')
    except Exception as e:
        again = repr(e).encode()
    if again != line:
        bad += 1
        print('MISMATCH', i, line[:300], again[:300])
print('CHECKED', i + 1, 'BAD', bad)
`

// TestLiveGoToPython: what Go writes, CPython reads, and its own json.dumps
// of what it read is byte-identical — same types, digits, order, code points.
func TestLiveGoToPython(t *testing.T) {
	needPython(t)
	g := goGen{rand.New(rand.NewPCG(2026, 1127))}
	const n = 3000
	var in bytes.Buffer
	for i := 0; i < n; i++ {
		var v any
		switch i % 500 {
		case 7: // deep nesting, still below CPython's recursion limit
			v = g.value(1)
			for j := g.r.IntN(800) + 100; j > 0; j-- {
				v = []any{v}
			}
		case 11: // a large payload
			v = []any{g.str(50000), g.str(50000)}
		default:
			v = g.value(4)
		}
		b, err := pyvalue.MarshalJSON(v)
		if err != nil {
			t.Fatalf("MarshalJSON(value %d): %v", i, err)
		}
		if bytes.IndexByte(b, '\n') >= 0 {
			t.Fatalf("value %d: newline in output %q", i, b)
		}
		in.Write(b)
		in.WriteByte('\n')
	}
	cmd := exec.Command(python, "-c", pyCheck)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	last := ""
	for sc.Scan() {
		last = sc.Text()
		if strings.HasPrefix(last, "MISMATCH") {
			t.Error(last)
		}
	}
	if want := fmt.Sprintf("CHECKED %d BAD 0", n); last != want && !t.Failed() {
		t.Errorf("python: %q, want %q", last, want)
	}
}
