package djangosession

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/pyvalue"
)

// Live differential tests against Debian's Django 3.2 (testdata/django_peer.py
// in batch mode): random sessions encoded by each side are decoded by the
// other, and garbage is judged the same way (valid, {} or, where 3.2 does,
// an exception out of decode()).

const liveSecret = "live-secret-k\u00e9y-0123456789"

var liveConfigs = []struct {
	name string
	cfg  map[string]any
}{
	{"json", map[string]any{"SECRET_KEY": liveSecret}},
	{"sha1-legacy", map[string]any{"SECRET_KEY": liveSecret, "DEFAULT_HASHING_ALGORITHM": "sha1"}},
	{"pickle", map[string]any{"SECRET_KEY": liveSecret, "SESSION_SERIALIZER": PickleSerializerPath}},
}

// randGen makes random session values of the kinds the serializer carries.
type randGen struct {
	r      *rand.Rand
	pickle bool
}

func (g *randGen) str() string {
	var b strings.Builder
	n := g.r.IntN(12)
	for i := 0; i < n; i++ {
		switch g.r.IntN(8) {
		case 0:
			b.WriteRune(rune(g.r.IntN(0x20))) // control characters
		case 1:
			b.WriteRune(rune(0x80 + g.r.IntN(0x780)))
		case 2:
			b.WriteRune(rune(0x10000 + g.r.IntN(0x100000))) // astral planes
		case 3:
			// A lone low surrogate in WTF-8, followed by a letter so that it
			// never pairs with a preceding high one.
			r := 0xDC00 + g.r.IntN(0x400)
			b.Write([]byte{0xED, byte(0x80 | (r>>6)&0x3F), byte(0x80 | r&0x3F), 'x'})
		case 4:
			b.WriteString(`"\/<>&'`)
		default:
			b.WriteRune(rune(0x20 + g.r.IntN(0x5F)))
		}
	}
	return b.String()
}

func (g *randGen) float() float64 {
	switch g.r.IntN(10) {
	case 0:
		return []float64{0.1, 1e16, 1e-7, 123456789.0, -0.0, 1e308, 5e-324, math.Inf(1), math.Inf(-1)}[g.r.IntN(9)]
	case 1:
		return math.Float64frombits(g.r.Uint64()&^(0x7FF<<52) | (uint64(g.r.IntN(2046)+1) << 52))
	}
	return (g.r.Float64() - 0.5) * math.Pow(10, float64(g.r.IntN(40)-20))
}

func (g *randGen) value(depth int) any {
	k := g.r.IntN(12)
	if depth > 4 && k >= 8 {
		k = g.r.IntN(8)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return g.r.IntN(2) == 0
	case 2:
		return int64(g.r.IntN(2000) - 1000)
	case 3:
		n := new(big.Int).Lsh(big.NewInt(1), uint(60+g.r.IntN(100)))
		n.Add(n, big.NewInt(int64(g.r.IntN(1000))))
		if g.r.IntN(2) == 0 {
			n.Neg(n)
		}
		return pyvalue.Int(n)
	case 4:
		return g.float()
	case 5, 6, 7:
		if g.pickle && g.r.IntN(3) == 0 {
			return g.pickleOnly()
		}
		return g.str()
	case 8, 9:
		l := make([]any, g.r.IntN(5))
		for i := range l {
			l[i] = g.value(depth + 1)
		}
		if g.pickle && g.r.IntN(3) == 0 {
			return pyvalue.Tuple(l)
		}
		return l
	default:
		return g.dict(depth + 1)
	}
}

func (g *randGen) pickleOnly() any {
	switch g.r.IntN(4) {
	case 0:
		b := make([]byte, g.r.IntN(8))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		return pyvalue.Bytes(b)
	case 1:
		d := pyvalue.DateTime{Year: 1 + g.r.IntN(9999), Month: 1 + g.r.IntN(12), Day: 1 + g.r.IntN(28),
			Hour: g.r.IntN(24), Minute: g.r.IntN(60), Second: g.r.IntN(60), Microsecond: g.r.IntN(2) * g.r.IntN(1000000)}
		if g.r.IntN(2) == 0 {
			d.TZ = pyvalue.UTC()
		}
		return d
	case 2:
		return pyvalue.Decimal(fmt.Sprintf("%d.%02d", g.r.IntN(1000)-500, g.r.IntN(100)))
	default:
		var u pyvalue.UUID
		for i := range u {
			u[i] = byte(g.r.IntN(256))
		}
		return u
	}
}

func (g *randGen) dict(depth int) *pyvalue.Dict {
	n := g.r.IntN(6)
	if depth == 0 {
		n += 1
	}
	d := pyvalue.NewDict(n)
	for i := 0; i < n; i++ {
		key := g.str()
		if strings.HasPrefix(key, "$") {
			key = "k" + key
		}
		d.Set(key, g.value(depth))
	}
	return d
}

// tagged converts a value to the peer's tagged JSON form.
func tagged(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = tagged(e)
		}
		return out
	case pyvalue.Tuple:
		return tagDict("$tuple", tagged([]any(x)))
	case *pyvalue.Dict:
		out := pyvalue.NewDict(x.Len())
		for i := 0; i < x.Len(); i++ {
			k, e := x.At(i)
			out.Set(k, tagged(e))
		}
		return out
	case pyvalue.Bytes:
		return tagDict("$bytes_hex", hex.EncodeToString(x))
	case pyvalue.DateTime:
		return tagDict("$datetime", x.ISOFormat())
	case pyvalue.Decimal:
		return tagDict("$decimal", string(x))
	case pyvalue.UUID:
		return tagDict("$uuid", x.String())
	}
	return v
}

func tagDict(tag string, v any) *pyvalue.Dict {
	d := pyvalue.NewDict(1)
	d.Set(tag, v)
	return d
}

func taggedJSON(t *testing.T, v any) []byte {
	b, err := pyvalue.MarshalJSON(tagged(v))
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	return b
}

func stdinJSON(t *testing.T, fields ...any) json.RawMessage {
	d := pyvalue.NewDict(len(fields) / 2)
	for i := 0; i < len(fields); i += 2 {
		d.Set(fields[i], fields[i+1])
	}
	b, err := pyvalue.MarshalJSON(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func liveSettings(t *testing.T, cfg map[string]any) *Settings {
	b, _ := json.Marshal(cfg)
	s, err := LoadSettings(append(b[:len(b)-1], []byte(`,"TARGET_DJANGO_VERSION":"3.2"}`)...))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLiveCodecDjango32(t *testing.T) {
	django := peer.Django(t)
	const n = 250
	for ci, lc := range liveConfigs {
		t.Run(lc.name, func(t *testing.T) {
			s := liveSettings(t, lc.cfg)
			codec, err := NewCodec(s, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			if err != nil {
				t.Fatal(err)
			}
			g := &randGen{r: rand.New(rand.NewPCG(uint64(ci), 42)), pickle: isPickle(s)}
			values := make([]*pyvalue.Dict, n)
			var calls []peer.Call
			goData := make([]string, n)
			for i := range values {
				values[i] = g.dict(0)
				calls = append(calls, peer.Call{Sub: "encode", Stdin: stdinJSON(t, "data", tagged(values[i]), "tagged", true)})
				if goData[i], err = codec.Encode(values[i]); err != nil {
					t.Fatalf("Encode %v: %v", values[i], err)
				}
				calls = append(calls, peer.Call{Sub: "decode", Stdin: stdinJSON(t, "session_data", goData[i])})
			}
			res := django.Batch(t, lc.cfg, calls)
			for i, v := range values {
				want := taggedJSON(t, v)
				// Django encoded → Go decodes.
				enc := res[2*i].OK(t).Str(t, "session_data")
				got, err := codec.Decode(enc)
				if err != nil {
					t.Fatalf("Go cannot decode Django's %s (value %s): %v", enc, want, err)
				}
				if g := taggedJSON(t, got); string(g) != string(want) {
					t.Fatalf("Django's encoding decoded to\n%s\nwant\n%s", g, want)
				}
				if lc.name == "sha1-legacy" && enc != goData[i] {
					// The legacy format is deterministic: byte-identical.
					t.Errorf("legacy encoding differs:\n go %s\ndj %s", goData[i], enc)
				}
				// Go encoded → Django decodes.
				r := res[2*i+1].OK(t)
				if !r.Bool(t, "valid") {
					t.Fatalf("Django rejected Go's %s", goData[i])
				}
				dd, err := pyvalue.MarshalJSON(r.Get(t, "data"))
				if err != nil {
					t.Fatal(err)
				}
				if string(dd) != string(want) {
					t.Fatalf("Django decoded Go's encoding to\n%s\nwant\n%s", dd, want)
				}
			}
			t.Logf("%d values each way", n)
		})
	}
}

// TestLiveDecodeVerdicts feeds the same damaged and hostile session data to
// Django 3.2 and to Decode: valid (with equal data), empty, or raising.
func TestLiveDecodeVerdicts(t *testing.T) {
	django := peer.Django(t)
	for ci, lc := range liveConfigs[:2] {
		t.Run(lc.name, func(t *testing.T) {
			s := liveSettings(t, lc.cfg)
			codec, err := NewCodec(s, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			if err != nil {
				t.Fatal(err)
			}
			signer, err := s.NewSigner(codec.KeySalt())
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(uint64(ci), 7))
			g := &randGen{r: r}
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=:."
			var inputs []string
			for i := 0; i < 300; i++ {
				good, err := codec.Encode(g.dict(0))
				if err != nil {
					t.Fatal(err)
				}
				switch i % 6 {
				case 0: // random text over the base64/token alphabet
					b := make([]byte, r.IntN(80))
					for j := range b {
						b[j] = alphabet[r.IntN(len(alphabet))]
					}
					inputs = append(inputs, string(b))
				case 1: // truncated
					inputs = append(inputs, good[:r.IntN(len(good)+1)])
				case 2: // one character changed
					b := []byte(good)
					b[r.IntN(len(b))] = alphabet[r.IntN(len(alphabet))]
					inputs = append(inputs, string(b))
				case 3: // validly signed text that is not a payload
					b := make([]byte, 1+r.IntN(40))
					for j := range b {
						b[j] = alphabet[r.IntN(64)]
					}
					inputs = append(inputs, signer.Sign(string(b)))
				case 4: // validly signed JSON that is not a dict
					tok, err := signer.SignObject([]any{int64(r.IntN(9))}, codec.Serializer(), false)
					if err != nil {
						t.Fatal(err)
					}
					inputs = append(inputs, tok)
				default:
					inputs = append(inputs, good)
				}
			}
			var calls []peer.Call
			for _, in := range inputs {
				calls = append(calls, peer.Call{Sub: "decode", Stdin: stdinJSON(t, "session_data", in)})
			}
			res := django.Batch(t, lc.cfg, calls)
			counts := map[string]int{}
			for i, in := range inputs {
				v, err := codec.DecodeAny(in)
				var de *DecodeError
				raises := errors.As(err, &de) && de.Raises
				rr := res[i]
				switch {
				case rr.RC == peer.ExitError && rr.Str(t, "kind") == "exception":
					counts["raises"]++
					if !raises {
						t.Errorf("%q: Django raises (%s), Go: %v, %v", in, rr.Stdout, v, err)
					}
				case rr.RC == peer.ExitOK && rr.Bool(t, "valid"):
					counts["valid"]++
					if err != nil {
						t.Errorf("%q: Django accepts, Go: %v", in, err)
						continue
					}
					dd, _ := pyvalue.MarshalJSON(rr.Get(t, "data"))
					if gd := taggedJSON(t, v); string(gd) != string(dd) {
						t.Errorf("%q: Django %s, Go %s", in, dd, gd)
					}
				case rr.RC == peer.ExitOK:
					counts["empty"]++
					if err == nil || raises {
						t.Errorf("%q: Django gives {}, Go: %v, %v", in, v, err)
					}
				default:
					t.Fatalf("%q: peer %s", in, rr)
				}
			}
			t.Logf("verdicts %v", counts)
			if counts["raises"] == 0 || counts["empty"] == 0 || counts["valid"] == 0 {
				t.Errorf("the inputs did not reach every verdict: %v", counts)
			}
		})
	}
}
