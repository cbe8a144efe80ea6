package signing

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/internal/testenv"
	"github.com/djsession/djsession/pyvalue"
)

const (
	pythonBin  = "/usr/bin/python3"
	peerScript = "testdata/django_signing_peer.py"
	liveSeed   = 20261127
	liveCount  = 3000 // values Django signs for Go
	goCount    = 3000 // values Go signs for Django
)

// requireDjango stops the test unless Debian's Python with Django is there
// (a failure under CI=true, a skip otherwise).
func requireDjango(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(pythonBin); err != nil {
		testenv.Need(t, pythonBin)
	}
	if err := exec.Command(pythonBin, "-c", "import django").Run(); err != nil {
		testenv.Need(t, "Django for "+pythonBin)
	}
}

type peerToken struct {
	Kind      string  `json:"kind"`
	Token     string  `json:"token"`
	ValueJSON string  `json:"value_json"`
	Key       string  `json:"key"`
	Salt      *string `json:"salt"`
	Compress  bool    `json:"compress"`
	Now       int64   `json:"now"`
}

type peerAttempt struct {
	OK     bool   `json:"ok"`
	Result any    `json:"result"`
	Error  string `json:"error"`
}

type peerResults struct {
	Tokens []struct {
		OK         bool   `json:"ok"`
		DumpsEqual bool   `json:"dumps_equal"`
		Compressed bool   `json:"compressed"`
		Error      string `json:"error"`
	} `json:"tokens"`
	B64  []peerAttempt `json:"b64"`
	B62  []peerAttempt `json:"b62"`
	Zlib []peerAttempt `json:"zlib"`
	HMAC []peerAttempt `json:"hmac"`
	Sep  []peerAttempt `json:"sep"`
}

type goToken struct {
	Token      string  `json:"token"`
	ValueJSON  string  `json:"value_json"`
	Key        string  `json:"key"`
	Salt       *string `json:"salt"`
	Compressed bool    `json:"compressed"`
}

type hmacReq struct {
	Salt      string `json:"salt"`
	Value     string `json:"value"`
	SecretHex string `json:"secret_hex"`
	Algorithm string `json:"algorithm"`
}

// TestLiveDjango runs one Django 3.2 process: Django signs thousands of
// seeded random values that Go must verify and decode to equal values (and,
// uncompressed, re-sign byte for byte); Go signs thousands of random values
// that Django must load to equal values; and Django answers differential
// questions (b64_decode, base62, zlib.decompress, salted_hmac, separator
// validation) on random and corrupted inputs Go generated.
func TestLiveDjango(t *testing.T) {
	requireDjango(t)
	cmd := exec.Command(pythonBin, peerScript, itoa(liveSeed), itoa(liveCount))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cmd.Wait(); err != nil {
			t.Errorf("peer: %v\n%s", err, stderr.String())
		}
	}()
	lines := bufio.NewReader(stdout)
	readLine := func() []byte {
		b, err := lines.ReadBytes('\n')
		if err != nil {
			t.Fatalf("peer output: %v\n%s", err, stderr.String())
		}
		return b
	}

	// Phase 1: Django → Go.
	n, identical, decisionDiffers := 0, 0, 0
	for {
		var tok peerToken
		if err := json.Unmarshal(readLine(), &tok); err != nil {
			t.Fatal(err)
		}
		if tok.Kind == "end" {
			break
		}
		n++
		checkDjangoToken(t, tok, &identical, &decisionDiffers)
	}
	if n != liveCount {
		t.Fatalf("peer sent %d tokens, want %d", n, liveCount)
	}
	t.Logf("Django→Go: %d tokens verified and decoded, %d re-signed byte-identical, "+
		"%d compression decisions differ from CPython's zlib", n, identical, decisionDiffers)

	// Phase 2: Go → Django.
	r := rand.New(rand.NewPCG(liveSeed, 2))
	req := map[string]any{}
	tokens := make([]goToken, 0, goCount)
	values := make([]any, 0, goCount)
	for i := 0; i < goCount; i++ {
		var v any
		if i%100 == 3 {
			v = goBigValue(r)
		} else {
			v = goValue(r, 0)
		}
		key := []string{benchKey, "other-key-é€"}[r.IntN(2)]
		var salt *string
		opts := []Option{WithKey(key), WithCompress(r.IntN(2) == 0)}
		if r.IntN(2) == 0 {
			s := []string{"django.contrib.sessions.SessionStore", "sält", ""}[r.IntN(3)]
			salt = &s
			opts = append(opts, WithSalt(s))
		}
		tok, err := Dumps(v, opts...)
		if err != nil {
			t.Fatalf("Dumps(%#v): %v", v, err)
		}
		js, _ := pyvalue.MarshalJSON(v)
		tokens = append(tokens, goToken{tok, string(js), key, salt, strings.HasPrefix(tok, ".")})
		values = append(values, v)
	}
	req["tokens"] = tokens
	b64In := randomB64Inputs(r, 2000)
	b62In := randomB62Inputs(r, 1000)
	zlibIn := randomZlibInputs(t, r, 1500)
	hmacIn := randomHMACInputs(r, 300)
	sepIn := randomSeps(r, 300)
	req["b64"], req["b62"], req["hmac"], req["sep"] = b64In, b62In, hmacIn, sepIn
	zhex := make([]string, len(zlibIn))
	for i, z := range zlibIn {
		zhex[i] = hex.EncodeToString(z)
	}
	req["zlib"] = zhex
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		stdin.Write(body)
		stdin.Close()
	}()
	var res peerResults
	if err := json.Unmarshal(readLine(), &res); err != nil {
		t.Fatal(err)
	}

	bad := 0
	for i, tr := range res.Tokens {
		if !tr.OK || !tr.DumpsEqual || tr.Compressed != tokens[i].Compressed {
			bad++
			if bad <= 10 {
				t.Errorf("Django on Go token %d (%.60q) value %#v: %+v", i, tokens[i].Token, values[i], tr)
			}
		}
	}
	t.Logf("Go→Django: %d tokens loaded by Django, %d mismatches", len(res.Tokens), bad)
	if len(res.Tokens) != goCount {
		t.Fatalf("Django answered %d tokens, want %d", len(res.Tokens), goCount)
	}

	compareB64(t, b64In, res.B64)
	compareB62(t, b62In, res.B62)
	compareZlib(t, zlibIn, res.Zlib)
	compareHMAC(t, hmacIn, res.HMAC)
	compareSep(t, sepIn, res.Sep)
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func checkDjangoToken(t *testing.T, tok peerToken, identical, decisionDiffers *int) {
	t.Helper()
	want, err := pyvalue.UnmarshalJSONText([]byte(tok.ValueJSON))
	if err != nil {
		t.Fatalf("value_json %.80q: %v", tok.ValueJSON, err)
	}
	opts := []Option{WithKey(tok.Key), WithNow(func() time.Time { return time.Unix(tok.Now, 0) })}
	if tok.Salt != nil {
		opts = append(opts, WithSalt(*tok.Salt))
	}
	got, err := Loads(tok.Token, opts...)
	if err != nil || !pyvalue.Equal(got, want) {
		t.Errorf("Loads(%.60q) = %#v, %v; Django's value %#v", tok.Token, got, err, want)
		return
	}
	// Within the age limit and rejected beyond it.
	if _, err := Loads(tok.Token, append(opts, WithMaxAge(0))...); err != nil {
		t.Errorf("Loads max_age=0 at the signing time: %v", err)
	}
	later := append(opts, WithNow(func() time.Time { return time.Unix(tok.Now+11, 0) }), WithMaxAgeSeconds(10))
	if _, err := Loads(tok.Token, later...); !errors.Is(err, ErrExpired) {
		t.Errorf("Loads 11 s later with max_age=10: %v", err)
	}
	mine, err := Dumps(want, append(opts, WithCompress(tok.Compress))...)
	if err != nil {
		t.Errorf("Dumps(%#v): %v", want, err)
		return
	}
	djangoDot, goDot := strings.HasPrefix(tok.Token, "."), strings.HasPrefix(mine, ".")
	switch {
	case !djangoDot && !goDot:
		if mine != tok.Token {
			t.Errorf("Dumps = %.80q, Django %.80q", mine, tok.Token)
		}
		*identical++
	case djangoDot != goDot:
		*decisionDiffers++
	}
}

// ---- Go-side random values ----

var edgeFloats = []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e16, 1e-7, 1e22, 1e-5, 123456789.123,
	math.MaxFloat64, -math.MaxFloat64, 2.2250738585072014e-308, 5e-324, 1 << 53, 1<<53 + 2, 1.0 / 3,
	math.NaN(), math.Inf(1), math.Inf(-1)}

func goRune(r *rand.Rand, b []byte) []byte {
	p := r.Float64()
	switch {
	case p < 0.4:
		return append(b, byte(0x20+r.IntN(0x5f)))
	case p < 0.5:
		return append(b, byte(r.IntN(0x20)))
	case p < 0.7:
		return appendRune(b, rune(0x80+r.IntN(0x780)))
	case p < 0.85:
		c := 0x800 + r.IntN(0x10000-0x800)
		if c >= 0xd800 && c <= 0xdfff {
			// A lone surrogate, in WTF-8. A high one is never followed
			// by a low one here (that would be a pair, not two lone ones).
			if len(b) >= 3 && b[len(b)-3] == 0xed && b[len(b)-2] >= 0xa0 && b[len(b)-2] <= 0xaf && c >= 0xdc00 {
				c = 0xd800
			}
			return append(b, 0xe0|byte(c>>12), 0x80|byte(c>>6&0x3f), 0x80|byte(c&0x3f))
		}
		return appendRune(b, rune(c))
	default:
		return appendRune(b, rune(0x10000+r.IntN(0x100000)))
	}
}

func appendRune(b []byte, c rune) []byte { return append(b, string(c)...) }

func goString(r *rand.Rand, n int) string {
	var b []byte
	for i := 0; i < n; i++ {
		b = goRune(r, b)
	}
	return string(b)
}

func goScalar(r *rand.Rand) any {
	switch r.IntN(9) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return int64(r.Uint64())
	case 3:
		x := new(big.Int).Lsh(big.NewInt(1), uint(64+r.IntN(236)))
		x.Add(x, big.NewInt(r.Int64()))
		if r.IntN(2) == 0 {
			x.Neg(x)
		}
		return x
	case 4:
		return edgeFloats[r.IntN(len(edgeFloats))]
	case 5:
		return (r.Float64()*2 - 1) * math.Pow(10, float64(r.IntN(600)-300))
	default:
		return goString(r, r.IntN(12))
	}
}

func goValue(r *rand.Rand, depth int) any {
	if depth > 6 || r.Float64() < 0.45 {
		return goScalar(r)
	}
	switch r.IntN(3) {
	case 0:
		l := make([]any, r.IntN(5))
		for i := range l {
			l[i] = goValue(r, depth+1)
		}
		return l
	case 1:
		l := make(pyvalue.Tuple, r.IntN(4))
		for i := range l {
			l[i] = goValue(r, depth+1)
		}
		return l
	default:
		d := pyvalue.NewDict(4)
		for i := r.IntN(5); i > 0; i-- {
			d.Set(goString(r, r.IntN(8)), goValue(r, depth+1))
		}
		return d
	}
}

func goBigValue(r *rand.Rand) any {
	d := pyvalue.NewDict(3)
	d.Set("blob", strings.Repeat(goString(r, 1+r.IntN(5)), 1000+r.IntN(19000)))
	items := make([]any, 50)
	for i := range items {
		items[i] = goValue(r, 0)
	}
	d.Set("items", items)
	var v any = goScalar(r)
	for i := 20 + r.IntN(40); i > 0; i-- {
		if r.IntN(2) == 0 {
			v = []any{v}
		} else {
			dd := pyvalue.NewDict(1)
			dd.Set("k", v)
			v = dd
		}
	}
	d.Set("deep", v)
	return d
}

// ---- differential inputs ----

func randomB64Inputs(r *rand.Rand, n int) []string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/===!. \n\té"
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		clean := i%2 == 0
		for j := r.IntN(24); j > 0; j-- {
			if clean {
				b.WriteByte(alpha[r.IntN(64)])
			} else {
				c := []rune(alpha)
				b.WriteRune(c[r.IntN(len(c))])
			}
		}
		out[i] = b.String()
	}
	return out
}

func randomB62Inputs(r *rand.Rand, n int) []string {
	const alpha = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	out := make([]string, 0, n)
	out = append(out, "", "-", "0", "00", "-0", "--1", "1-", "+1", " 1", "é")
	for len(out) < n {
		var b strings.Builder
		if r.IntN(4) == 0 {
			b.WriteByte('-')
		}
		for j := 1 + r.IntN(10); j > 0; j-- {
			if r.IntN(40) == 0 {
				b.WriteByte("!_- ."[r.IntN(5)])
			} else {
				b.WriteByte(alpha[r.IntN(62)])
			}
		}
		out = append(out, b.String())
	}
	return out
}

func randomZlibInputs(t *testing.T, r *rand.Rand, n int) [][]byte {
	var streams [][]byte
	for _, data := range testPayloads(r) {
		if len(data) > 5000 {
			data = data[:5000]
		}
		streams = append(streams, compressAll(t, data)...)
	}
	out := make([][]byte, 0, n)
	for len(out) < n {
		z := append([]byte(nil), streams[r.IntN(len(streams))]...)
		switch r.IntN(4) {
		case 0: // intact
		case 1:
			z = z[:r.IntN(len(z)+1)]
		case 2:
			z[r.IntN(len(z))] ^= 1 << r.IntN(8)
		case 3:
			if len(z) > 2 {
				z[2+r.IntN(len(z)-2)] = byte(r.Uint32())
			}
		}
		out = append(out, z)
	}
	return out
}

var hmacAlgorithms = []string{"sha1", "sha224", "sha256", "sha384", "sha512", "md5",
	"sha3_224", "sha3_256", "sha3_384", "sha3_512", "nonexistent"}

func randomHMACInputs(r *rand.Rand, n int) []hmacReq {
	out := make([]hmacReq, n)
	for i := range out {
		secret := make([]byte, r.IntN(80))
		for j := range secret {
			secret[j] = byte(r.Uint32())
		}
		out[i] = hmacReq{
			Salt:      strings.ToValidUTF8(goString(r, r.IntN(20)), "?"),
			Value:     strings.ToValidUTF8(goString(r, r.IntN(200)), "?"),
			SecretHex: hex.EncodeToString(secret),
			Algorithm: hmacAlgorithms[r.IntN(len(hmacAlgorithms))],
		}
		// WTF-8 surrogates are not valid UTF-8: keep to text Python can encode.
		out[i].Salt = stripSurrogates(out[i].Salt)
		out[i].Value = stripSurrogates(out[i].Value)
	}
	return out
}

func stripSurrogates(s string) string {
	return strings.Map(func(c rune) rune {
		if c >= 0xd800 && c <= 0xdfff {
			return '?'
		}
		return c
	}, s)
}

func randomSeps(r *rand.Rand, n int) []string {
	const chars = "aZz09-_=^[]`\\:/.,;|~!@#$%&*() \n\té"
	c := []rune(chars)
	out := []string{"\n", "a\n", ":\n", "a\nb", "\n\n"}
	for len(out) < n {
		var b strings.Builder
		for j := 1 + r.IntN(3); j > 0; j-- {
			b.WriteRune(c[r.IntN(len(c))])
		}
		out = append(out, b.String())
	}
	return out
}

// ---- comparisons ----

func pyErrorText(e string) string {
	if i := strings.Index(e, ": "); i >= 0 {
		return e[i+2:]
	}
	return e
}

func compareB64(t *testing.T, in []string, res []peerAttempt) {
	if len(res) != len(in) {
		t.Fatalf("b64: %d answers for %d inputs", len(res), len(in))
	}
	for i, s := range in {
		got, err := B64Decode(s)
		p := res[i]
		switch {
		case p.OK && (err != nil || hex.EncodeToString(got) != p.Result):
			t.Errorf("B64Decode(%q) = %x, %v; Django %v", s, got, err, p.Result)
		case !p.OK:
			var be *base64Error
			if !errors.As(err, &be) || be.msg != pyErrorText(p.Error) || !errors.Is(err, ErrInvalidBase64) {
				t.Errorf("B64Decode(%q) = %x, %v; Django %s", s, got, err, p.Error)
			}
		}
	}
	t.Logf("b64_decode: %d inputs agree with Django", len(in))
}

func compareB62(t *testing.T, in []string, res []peerAttempt) {
	for i, s := range in {
		got, err := B62Decode(s)
		p := res[i]
		if p.OK {
			want, ok := p.Result.(float64) // JSON number; |values| < 2^53 here
			if !ok || err != nil || float64(got) != want {
				t.Errorf("B62Decode(%q) = %d, %v; Django %v", s, got, err, p.Result)
			}
		} else if !errors.Is(err, ErrInvalidBase62) {
			t.Errorf("B62Decode(%q) = %d, %v; Django %s", s, got, err, p.Error)
		}
	}
	t.Logf("base62 decode: %d inputs agree with Django", len(in))
}

func compareZlib(t *testing.T, in [][]byte, res []peerAttempt) {
	okCount := 0
	for i, z := range in {
		got, err := inflateZlib(nil, z, 1<<24)
		p := res[i]
		if p.OK {
			okCount++
			if err != nil || hex.EncodeToString(got) != p.Result {
				t.Errorf("inflate(%x) = %d bytes, %v; Django ok", z, len(got), err)
			}
		} else if err == nil || "zlib.error: "+err.Error() != p.Error {
			t.Errorf("inflate(%x) = %d bytes, %v; Django %s", z, len(got), err, p.Error)
		}
	}
	t.Logf("zlib.decompress: %d streams (%d valid) agree with CPython, error texts included", len(in), okCount)
}

func compareHMAC(t *testing.T, in []hmacReq, res []peerAttempt) {
	for i, h := range in {
		secret, _ := hex.DecodeString(h.SecretHex)
		got, err := SaltedHMACHex(h.Salt, h.Value, string(secret), h.Algorithm)
		p := res[i]
		if p.OK {
			if err != nil || got != p.Result {
				t.Errorf("SaltedHMACHex(%+v) = %s, %v; Django %v", h, got, err, p.Result)
			}
		} else if !errors.Is(err, ErrUnknownAlgorithm) {
			t.Errorf("SaltedHMACHex(%+v) = %s, %v; Django %s", h, got, err, p.Error)
		}
	}
	t.Logf("salted_hmac: %d inputs over %d algorithms agree with Django", len(in), len(hmacAlgorithms))
}

func compareSep(t *testing.T, in []string, res []peerAttempt) {
	for i, sep := range in {
		p := res[i]
		s, err := NewSigner(Options{Key: benchKey, Sep: sep})
		if p.OK {
			if err != nil || s.Sign("v") != p.Result {
				t.Errorf("sep %q: Go %v; Django signs %v", sep, err, p.Result)
			}
		} else if !errors.Is(err, ErrInvalidSeparator) || strings.TrimPrefix(err.Error(), "signing: ") != pyErrorText(p.Error) {
			t.Errorf("sep %q: Go %v; Django %s", sep, err, p.Error)
		}
	}
	t.Logf("Signer separators: %d agree with Django", len(in))
}
