package signing

import (
	"bytes"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
)

const frozenTime = 1700000000

// opHandlers maps every op of crypto.json and signing.json to its test.
// TestVectorOpsHandled fails when a file gains an op missing here, so that
// no case is ever silently skipped.
var opHandlers = map[string]func(t *testing.T, c vectors.Case){
	"salted_hmac":                 testSaltedHMAC,
	"constant_time_compare":       testConstantTimeCompare,
	"constants":                   testConstants,
	"b62_encode":                  testB62Encode,
	"b62_decode":                  testB62Decode,
	"b64_encode":                  testB64Encode,
	"b64_decode":                  testB64Decode,
	"JSONSerializer.dumps":        testJSONDumps,
	"JSONSerializer.loads":        testJSONLoads,
	"Signer.__init__":             testSignerInit,
	"Signer.sign":                 testSignerSign,
	"Signer.unsign":               testSignerUnsign,
	"TimestampSigner.sign":        testTimestampSign,
	"TimestampSigner.unsign":      testTimestampUnsign,
	"dumps":                       testDumps,
	"loads":                       testLoads,
	"Signer.sign_object":          testSignObject,
	"Signer.unsign_object":        testUnsignObject,
	"TimestampSigner.sign_object": testTimestampSignObject,
	"get_cookie_signer(salt=cookie_name+salt).sign": testCookieSigner,
}

func TestVectorOpsHandled(t *testing.T) {
	for _, file := range []string{"crypto.json", "signing.json"} {
		for _, c := range vectors.Load(t, file) {
			if _, ok := opHandlers[c.Op()]; !ok {
				t.Errorf("%s: op %q has no test", c, c.Op())
			}
		}
	}
}

// TestVectors runs every case of crypto.json and signing.json, grouped by op.
func TestVectors(t *testing.T) {
	for _, file := range []string{"crypto.json", "signing.json"} {
		cases := vectors.Load(t, file)
		byOp := map[string][]vectors.Case{}
		var ops []string
		for _, c := range cases {
			if _, ok := byOp[c.Op()]; !ok {
				ops = append(ops, c.Op())
			}
			byOp[c.Op()] = append(byOp[c.Op()], c)
		}
		sort.Strings(ops)
		total := 0
		for _, op := range ops {
			h := opHandlers[op]
			if h == nil {
				continue // reported by TestVectorOpsHandled
			}
			t.Run(file+"/"+op, func(t *testing.T) {
				for _, c := range byOp[op] {
					t.Run(c.Name(), func(t *testing.T) { h(t, c.WithT(t)) })
				}
			})
			total += len(byOp[op])
			t.Logf("%s %-50s %3d cases", file, op, len(byOp[op]))
		}
		if total != len(cases) {
			t.Errorf("%s: ran %d of %d cases", file, total, len(cases))
		}
		t.Logf("%s: %d cases", file, total)
	}
}

// ---- helpers ----

func is32(c vectors.Case) bool { return strings.HasPrefix(c.DjangoVersion(), "3.") }

func kwargs(c vectors.Case) *pyvalue.Dict {
	v, ok := c.Lookup("kwargs")
	if !ok || v == nil {
		return pyvalue.NewDict(0)
	}
	return v.(*pyvalue.Dict)
}

func kwStr(d *pyvalue.Dict, k string) (string, bool) {
	v, ok := d.Get(k)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

func strList(t *testing.T, v any) []string {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("want a list of strings, got %s", pyvalue.TypeName(v))
	}
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = e.(string)
	}
	return out
}

func clock(sec int64) func() time.Time {
	return func() time.Time { return time.Unix(sec, 0) }
}

// caseOptions builds Options from the case's settings and kwargs exactly as
// Django resolves them for the case's version.
func caseOptions(t *testing.T, c vectors.Case) Options {
	o := Options{Key: c.Str("settings", "SECRET_KEY"), AcceptSHA1: is32(c)}
	if v, ok := c.Lookup("settings", "SECRET_KEY_FALLBACKS"); ok {
		o.FallbackKeys = strList(t, v)
	}
	if alg, ok := c.Lookup("settings", "DEFAULT_HASHING_ALGORITHM"); ok {
		o.Algorithm = alg.(string)
	}
	kw := kwargs(c)
	if s, ok := kwStr(kw, "key"); ok {
		o.Key = s
	}
	if s, ok := kwStr(kw, "salt"); ok {
		o.Salt = s
	}
	if s, ok := kwStr(kw, "sep"); ok {
		o.Sep = s
	}
	if s, ok := kwStr(kw, "algorithm"); ok {
		o.Algorithm = s
	}
	if v, ok := kw.Get("fallback_keys"); ok {
		o.FallbackKeys = strList(t, v)
	}
	now := int64(frozenTime)
	if v, ok := c.Lookup("now"); ok && v != nil {
		now = c.Int("now")
	} else if v, ok := c.Lookup("frozen_time"); ok && v != nil {
		now = c.Int("frozen_time")
	}
	o.Now = clock(now)
	return o
}

// checkErr asserts err against the case's recorded exception (class and
// message), or asserts success when the case recorded none.
func checkErr(t *testing.T, c vectors.Case, err error) bool {
	t.Helper()
	class, msg, failed := c.Error()
	if !failed {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return false
	}
	if err == nil {
		t.Fatalf("no error, Django raised %s: %s", class, msg)
	}
	switch class {
	case "django.core.signing.BadSignature":
		var be *BadSignatureError
		if !errors.As(err, &be) || !errors.Is(err, ErrBadSignature) || errors.Is(err, ErrExpired) || errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v (%T), want a plain BadSignature", err, err)
		}
		if be.Msg != msg {
			t.Errorf("message %q, Django %q", be.Msg, msg)
		}
	case "django.core.signing.SignatureExpired":
		var ee *ExpiredError
		if !errors.As(err, &ee) || !errors.Is(err, ErrExpired) || !errors.Is(err, ErrBadSignature) {
			t.Fatalf("error %v (%T), want SignatureExpired", err, err)
		}
		if !strings.HasSuffix(err.Error(), ": "+msg) {
			t.Errorf("message %q, Django %q", err.Error(), msg)
		}
	case "ValueError":
		var me *MalformedError
		if !errors.As(err, &me) || me.Part != "timestamp" || !errors.Is(err, ErrMalformed) || !errors.Is(err, ErrBadSignature) {
			t.Fatalf("error %v (%T), want a malformed timestamp", err, err)
		}
		if me.Err.Error() != msg {
			t.Errorf("message %q, Django %q", me.Err.Error(), msg)
		}
	case "json.decoder.JSONDecodeError":
		var me *MalformedError
		var se *pyvalue.SyntaxError
		if !errors.As(err, &me) || me.Part != "payload" || !errors.As(err, &se) || errors.Is(err, ErrBadSignature) {
			t.Fatalf("error %v (%T), want a malformed JSON payload", err, err)
		}
		if se.Error() != msg {
			t.Errorf("message %q, Django %q", se.Error(), msg)
		}
	case "zlib.error":
		var me *MalformedError
		var ze *ZlibError
		if !errors.As(err, &me) || me.Part != "zlib" || !errors.As(err, &ze) || errors.Is(err, ErrBadSignature) {
			t.Fatalf("error %v (%T), want a malformed zlib payload", err, err)
		}
		if ze.Msg != msg {
			t.Errorf("message %q, Django %q", ze.Msg, msg)
		}
	default:
		t.Fatalf("unhandled Django exception %s", class)
	}
	return true
}

// ---- crypto.json ----

func testSaltedHMAC(t *testing.T, c vectors.Case) {
	secret := ""
	switch v := c.Value("secret").(type) {
	case string:
		secret = v
	case pyvalue.Bytes:
		secret = string(v)
	default:
		t.Fatalf("secret of type %s", pyvalue.TypeName(v))
	}
	alg := ""
	if a, ok := c.Lookup("algorithm"); ok && a != nil {
		alg = a.(string)
	} else if c.Str("effective_algorithm") != "hmac-sha1" {
		t.Fatalf("omitted algorithm but effective %s", c.Str("effective_algorithm"))
	}
	salt, value := c.Str("key_salt"), c.Str("value")
	if c.Has("derived_key_hex") {
		k, err := DeriveKey(salt, secret, alg)
		if err != nil || hex.EncodeToString(k) != c.Str("derived_key_hex") {
			t.Errorf("DeriveKey = %x, %v; want %s", k, err, c.Str("derived_key_hex"))
		}
	}
	h, err := SaltedHMACHex(salt, value, secret, alg)
	if err != nil || h != c.Str("hexdigest") {
		t.Errorf("SaltedHMACHex = %s, %v; want %s", h, err, c.Str("hexdigest"))
	}
	if c.Has("digest_b64url_nopad") {
		d, _ := SaltedHMAC(salt, value, secret, alg)
		if got := B64Encode(d); got != c.Str("digest_b64url_nopad") {
			t.Errorf("b64 digest = %s, want %s", got, c.Str("digest_b64url_nopad"))
		}
	}
}

func testConstantTimeCompare(t *testing.T, c vectors.Case) {
	a, b := c.Str("a"), c.Str("b")
	if c.Has("b_is_bytes_hex") && c.Bool("b_is_bytes_hex") {
		raw, err := hex.DecodeString(b)
		if err != nil {
			t.Fatal(err)
		}
		b = string(raw)
	}
	if got := ConstantTimeCompare(a, b); got != c.Bool("result") {
		t.Errorf("ConstantTimeCompare(%q, %q) = %v", a, b, got)
	}
}

func testConstants(t *testing.T, c vectors.Case) {
	asserted := false
	if c.Has("RANDOM_STRING_CHARS") {
		asserted = true
		if c.Str("RANDOM_STRING_CHARS") != RandomStringChars {
			t.Errorf("RandomStringChars = %q, Django %q", RandomStringChars, c.Str("RANDOM_STRING_CHARS"))
		}
		s, err := GetRandomString(200, "")
		if err != nil || len(s) != 200 || strings.Trim(s, RandomStringChars) != "" {
			t.Errorf("GetRandomString(200) = %q, %v", s, err)
		}
	}
	if c.Has("VALID_KEY_CHARS") {
		asserted = true
		chars, n := c.Str("VALID_KEY_CHARS"), int(c.Int("session_key_length"))
		s, err := GetRandomString(n, chars)
		if err != nil || len(s) != n || strings.Trim(s, chars) != "" {
			t.Errorf("GetRandomString(%d, %q) = %q, %v", n, chars, s, err)
		}
	}
	if !asserted {
		t.Fatal("constants case with no known constant")
	}
}

// ---- base62 / base64 ----

func testB62Encode(t *testing.T, c vectors.Case) {
	if got := B62Encode(c.Int("input")); got != c.Str("result") {
		t.Errorf("B62Encode(%d) = %q, want %q", c.Int("input"), got, c.Str("result"))
	}
}

func testB62Decode(t *testing.T, c vectors.Case) {
	got, err := B62Decode(c.Str("input"))
	if err != nil || got != c.Int("result") {
		t.Errorf("B62Decode(%q) = %d, %v; want %d", c.Str("input"), got, err, c.Int("result"))
	}
}

func testB64Encode(t *testing.T, c vectors.Case) {
	if got := B64Encode(c.Hex("input_hex")); got != c.Str("result") {
		t.Errorf("B64Encode = %q, want %q", got, c.Str("result"))
	}
}

func testB64Decode(t *testing.T, c vectors.Case) {
	got, err := B64Decode(c.Str("input"))
	if err != nil || !bytes.Equal(got, c.Hex("result_hex")) {
		t.Errorf("B64Decode(%q) = %x, %v; want %s", c.Str("input"), got, err, c.Str("result_hex"))
	}
}

// ---- JSONSerializer ----

func testJSONDumps(t *testing.T, c vectors.Case) {
	got, err := (JSONSerializer{}).Dumps(c.Value("input"))
	if class, msg, failed := c.Error(); failed {
		if class != "TypeError" {
			t.Fatalf("unhandled exception %s", class)
		}
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Dumps error %v, Django TypeError %q", err, msg)
		}
		return
	}
	if err != nil || !bytes.Equal(got, c.Hex("result_hex")) {
		t.Errorf("Dumps = %s, %v; want %s", got, err, c.Hex("result_hex"))
	}
}

func testJSONLoads(t *testing.T, c vectors.Case) {
	got, err := (JSONSerializer{}).Loads(c.Hex("input_hex"))
	if err != nil || !pyvalue.Equal(got, c.Value("result")) {
		t.Errorf("Loads = %#v, %v; want %#v", got, err, c.Value("result"))
	}
}

// ---- Signer ----

func testSignerInit(t *testing.T, c vectors.Case) {
	sep, _ := kwStr(kwargs(c), "sep")
	class, msg, failed := c.Error()
	if !failed || class != "ValueError" {
		t.Fatalf("Signer.__init__ case without a ValueError")
	}
	if SafeSeparator(sep) {
		t.Errorf("SafeSeparator(%q) = true, Django rejects it", sep)
	}
	if sep == "" {
		return // Options.Sep "" means the default ":" (documented)
	}
	_, err := NewSigner(caseOptions(t, c))
	if !errors.Is(err, ErrInvalidSeparator) || !strings.HasSuffix(err.Error(), ": "+msg) {
		t.Errorf("NewSigner error %v, Django %q", err, msg)
	}
	_, err = NewTimestampSigner(caseOptions(t, c))
	if !errors.Is(err, ErrInvalidSeparator) {
		t.Errorf("NewTimestampSigner error %v, want ErrInvalidSeparator", err)
	}
}

func testSignerSign(t *testing.T, c vectors.Case) {
	s, err := NewSigner(caseOptions(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sign(c.Str("value")); got != c.Str("result") {
		t.Errorf("Sign = %q, want %q", got, c.Str("result"))
	}
	if c.Has("effective_salt") && s.Salt() != c.Str("effective_salt") {
		t.Errorf("Salt() = %q, Django %q", s.Salt(), c.Str("effective_salt"))
	}
	if c.Has("effective_algorithm") && s.Algorithm() != c.Str("effective_algorithm") {
		t.Errorf("Algorithm() = %q, Django %q", s.Algorithm(), c.Str("effective_algorithm"))
	}
	// What was signed verifies with the same signer.
	if v, err := s.Unsign(c.Str("result")); err != nil || v != c.Str("value") {
		t.Errorf("Unsign(Sign) = %q, %v", v, err)
	}
}

func testSignerUnsign(t *testing.T, c vectors.Case) {
	s, err := NewSigner(caseOptions(t, c))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Unsign(c.Str("input"))
	if !checkErr(t, c, err) && got != c.Str("result") {
		t.Errorf("Unsign = %q, want %q", got, c.Str("result"))
	}
}

func testTimestampSign(t *testing.T, c vectors.Case) {
	s, err := NewTimestampSigner(caseOptions(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sign(c.Str("value")); got != c.Str("result") {
		t.Errorf("Sign = %q, want %q", got, c.Str("result"))
	}
	if c.Has("effective_salt") && s.Salt() != c.Str("effective_salt") {
		t.Errorf("Salt() = %q, Django %q", s.Salt(), c.Str("effective_salt"))
	}
	v, ts, err := s.UnsignTimestamp(c.Str("result"))
	if err != nil || v != c.Str("value") || ts.Unix() != c.Int("frozen_time") {
		t.Errorf("UnsignTimestamp = %q, %v, %v", v, ts, err)
	}
}

func testTimestampUnsign(t *testing.T, c vectors.Case) {
	o := caseOptions(t, c)
	if c.StrOr("", "desc") == "plain Signer output given to TimestampSigner" {
		// The generator gave the TimestampSigner the Signer's salt (the
		// case does not record it): with its own default salt Django
		// raises BadSignature, with the Signer's salt the ValueError the
		// case records.
		o.Salt = DefaultSignerSalt
	}
	s, err := NewTimestampSigner(o)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	maxAge, has := c.Lookup("max_age")
	switch {
	case !has || maxAge == nil:
		got, err = s.Unsign(c.Str("input"))
	case c.Str("max_age_type") == "timedelta":
		got, err = s.UnsignMaxAge(c.Str("input"), time.Duration(c.Float("max_age")*float64(time.Second)))
	case c.Str("max_age_type") == "float":
		got, err = s.UnsignMaxAgeSeconds(c.Str("input"), c.Float("max_age"))
	case c.Str("max_age_type") == "int":
		got, err = s.UnsignMaxAgeSeconds(c.Str("input"), float64(c.Int("max_age")))
	default:
		t.Fatalf("max_age_type %q", c.Str("max_age_type"))
	}
	if !checkErr(t, c, err) && got != c.Str("result") {
		t.Errorf("Unsign = %q, want %q", got, c.Str("result"))
	}
	var ee *ExpiredError
	if errors.As(err, &ee) {
		if wantAge := time.Duration(c.Int("now")-c.Int("signed_at")) * time.Second; ee.Age != wantAge {
			t.Errorf("ExpiredError.Age = %v, want %v", ee.Age, wantAge)
		}
		if ee.Timestamp.Unix() != c.Int("signed_at") {
			t.Errorf("ExpiredError.Timestamp = %v", ee.Timestamp)
		}
	}
}

// ---- objects, dumps/loads ----

// checkToken asserts that Go's token for obj is acceptable: byte-identical
// to Django's when neither is compressed, and in any case verifying with the
// signer and decoding to obj, while Django's token decodes to obj as well.
func checkToken(t *testing.T, got, want string, obj any, load func(string) (any, error)) {
	t.Helper()
	if !strings.HasPrefix(got, ".") && !strings.HasPrefix(want, ".") {
		if got != want {
			t.Errorf("token %q, Django %q", got, want)
		}
	} else if strings.HasPrefix(got, ".") != strings.HasPrefix(want, ".") {
		t.Logf("compression decision differs from CPython's zlib: Go %.20q, Django %.20q", got, want)
	}
	for _, tok := range []string{got, want} {
		v, err := load(tok)
		if err != nil || !pyvalue.Equal(v, obj) {
			t.Errorf("load(%.40q) = %#v, %v; want %#v", tok, v, err, obj)
		}
	}
}

func compressKw(c vectors.Case) bool {
	if v, ok := kwargs(c).Get("compress"); ok {
		return v.(bool)
	}
	if v, ok := c.Lookup("compress"); ok {
		return v.(bool)
	}
	return false
}

func dumpsOptions(t *testing.T, c vectors.Case) []Option {
	o := caseOptions(t, c)
	opts := []Option{WithKey(o.Key), WithFallbackKeys(o.FallbackKeys...), WithAlgorithm(o.Algorithm),
		WithAcceptSHA1(o.AcceptSHA1), WithNow(o.Now)}
	if s, ok := kwStr(kwargs(c), "salt"); ok {
		opts = append(opts, WithSalt(s))
	}
	return opts
}

func testDumps(t *testing.T, c vectors.Case) {
	opts := dumpsOptions(t, c)
	obj := c.Value("obj")
	got, err := Dumps(obj, append(opts, WithCompress(compressKw(c)))...)
	if err != nil {
		t.Fatal(err)
	}
	checkToken(t, got, c.Str("result"), obj, func(tok string) (any, error) { return Loads(tok, opts...) })
}

func testLoads(t *testing.T, c vectors.Case) {
	opts := dumpsOptions(t, c)
	if v, ok := kwargs(c).Get("max_age"); ok {
		switch m := v.(type) {
		case int64:
			opts = append(opts, WithMaxAgeSeconds(float64(m)))
		case float64:
			opts = append(opts, WithMaxAgeSeconds(m))
		default:
			t.Fatalf("max_age %T", v)
		}
	}
	got, err := Loads(c.Str("input"), opts...)
	if !checkErr(t, c, err) && !pyvalue.Equal(got, c.Value("result")) {
		t.Errorf("Loads = %#v, want %#v", got, c.Value("result"))
	}
}

func testSignObject(t *testing.T, c vectors.Case) {
	s, err := NewSigner(caseOptions(t, c))
	if err != nil {
		t.Fatal(err)
	}
	obj := c.Value("obj")
	got, err := s.SignObject(obj, nil, compressKw(c))
	if err != nil {
		t.Fatal(err)
	}
	checkToken(t, got, c.Str("result"), obj, func(tok string) (any, error) { return s.UnsignObject(tok, nil) })
}

func testUnsignObject(t *testing.T, c vectors.Case) {
	s, err := NewSigner(caseOptions(t, c))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.UnsignObject(c.Str("input"), JSONSerializer{})
	if !checkErr(t, c, err) && !pyvalue.Equal(got, c.Value("result")) {
		t.Errorf("UnsignObject = %#v, want %#v", got, c.Value("result"))
	}
}

func testTimestampSignObject(t *testing.T, c vectors.Case) {
	s, err := NewTimestampSigner(caseOptions(t, c))
	if err != nil {
		t.Fatal(err)
	}
	obj := c.Value("obj")
	got, err := s.SignObject(obj, JSONSerializer{}, compressKw(c))
	if err != nil {
		t.Fatal(err)
	}
	checkToken(t, got, c.Str("result"), obj, func(tok string) (any, error) { return s.UnsignObject(tok, nil) })
}

func testCookieSigner(t *testing.T, c vectors.Case) {
	o := caseOptions(t, c)
	if c.Str("effective_key") != "django.http.cookies"+o.Key {
		t.Fatalf("effective_key %q", c.Str("effective_key"))
	}
	o.Salt = c.Str("cookie_name") + c.Str("salt_arg")
	s, err := NewCookieSigner(o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Salt() != c.Str("effective_salt") {
		t.Errorf("Salt() = %q, Django %q", s.Salt(), c.Str("effective_salt"))
	}
	got := s.Sign(c.Str("value"))
	if got != c.Str("result") {
		t.Errorf("Sign = %q, want %q", got, c.Str("result"))
	}
	if v, err := s.Unsign(got); err != nil || v != c.Str("value") {
		t.Errorf("Unsign = %q, %v", v, err)
	}
}
