package signing

import (
	"bytes"
	"compress/zlib"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/djsession/djsession/pyvalue"
)

const (
	testKey    = "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
	testOldKey = "spec-old-secret-key-ZYXWVUTSRQPONMLKJIHGFEDCBA"
)

func frozen(sec int64, nsec int64) func() time.Time {
	return func() time.Time { return time.Unix(sec, nsec) }
}

func mustTS(t *testing.T, o Options) *TimestampSigner {
	t.Helper()
	s, err := NewTimestampSigner(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConstructorErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want error
	}{
		{"empty key", Options{}, ErrEmptyKey},
		{"unsafe sep", Options{Key: "k", Sep: "abc"}, ErrInvalidSeparator},
		{"A-z quirk", Options{Key: "k", Sep: "^"}, ErrInvalidSeparator},
		{"unknown algorithm", Options{Key: "k", Algorithm: "blake2b"}, ErrUnknownAlgorithm},
		{"unknown fallback algorithm", Options{Key: "k", Algorithm: "sha257"}, ErrUnknownAlgorithm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewSigner(tc.o); !errors.Is(err, tc.want) {
				t.Errorf("NewSigner: %v, want %v", err, tc.want)
			}
			if _, err := NewTimestampSigner(tc.o); !errors.Is(err, tc.want) {
				t.Errorf("NewTimestampSigner: %v, want %v", err, tc.want)
			}
			if _, err := Dumps(1, WithOptions(tc.o)); !errors.Is(err, tc.want) {
				t.Errorf("Dumps: %v, want %v", err, tc.want)
			}
			if _, err := Loads("x", WithOptions(tc.o)); !errors.Is(err, tc.want) {
				t.Errorf("Loads: %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := NewCookieSigner(Options{}); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("NewCookieSigner: %v", err)
	}
	if _, err := SaltedHMAC("s", "v", "k", "nope"); !errors.Is(err, ErrUnknownAlgorithm) ||
		err.Error() != `signing: "nope" is not an algorithm accepted by the hashlib module` {
		t.Errorf("SaltedHMAC unknown: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	s, _ := NewSigner(Options{Key: testKey})
	if s.Salt() != DefaultSignerSalt || s.Sep() != ":" || s.Algorithm() != "sha256" {
		t.Errorf("Signer defaults: %q %q %q", s.Salt(), s.Sep(), s.Algorithm())
	}
	ts := mustTS(t, Options{Key: testKey})
	if ts.Salt() != DefaultTimestampSignerSalt || ts.Signer().Salt() != DefaultTimestampSignerSalt {
		t.Errorf("TimestampSigner salt %q", ts.Salt())
	}
	// Dumps without WithSalt uses "django.core.signing"; WithSalt("") the class default.
	a, _ := Dumps("x", WithKey(testKey), WithNow(frozen(frozenTime, 0)))
	b, _ := Dumps("x", WithKey(testKey), WithNow(frozen(frozenTime, 0)), WithSalt(DefaultDumpsSalt))
	c, _ := Dumps("x", WithKey(testKey), WithNow(frozen(frozenTime, 0)), WithSalt(""))
	d, _ := Dumps("x", WithKey(testKey), WithNow(frozen(frozenTime, 0)), WithSalt(DefaultTimestampSignerSalt))
	if a != b || c != d || a == c {
		t.Errorf("salts: %s %s %s %s", a, b, c, d)
	}
}

// TestSignatureComparedAsText: DJANGO_FORMATS §12 — a signature differing
// only in the unused low bits of its last base64 character decodes to the
// same bytes but Django rejects it.
func TestSignatureComparedAsText(t *testing.T) {
	s, _ := NewSigner(Options{Key: testKey})
	signed := s.Sign("hello") // ...CfUY: 43 chars, the last carries 2 unused bits
	last := signed[len(signed)-1]
	alt := string(rune(last + 1)) // 'Y' → 'Z': same top 4 bits
	forged := signed[:len(signed)-1] + alt
	d1, _ := B64Decode(signed[strings.LastIndex(signed, ":")+1:])
	d2, _ := B64Decode(forged[strings.LastIndex(forged, ":")+1:])
	if !bytes.Equal(d1, d2) {
		t.Fatalf("test premise: %x vs %x", d1, d2)
	}
	if _, err := s.Unsign(forged); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Unsign(%q) = %v, want ErrBadSignature", forged, err)
	}
}

func TestFallbackKeys(t *testing.T) {
	old, _ := NewSigner(Options{Key: testOldKey})
	cur, _ := NewSigner(Options{Key: testKey, FallbackKeys: []string{"x", testOldKey}})
	if v, err := cur.Unsign(old.Sign("v")); err != nil || v != "v" {
		t.Errorf("fallback key: %q, %v", v, err)
	}
	// Signing always uses the current key.
	plain, _ := NewSigner(Options{Key: testKey})
	if cur.Sign("v") != plain.Sign("v") {
		t.Error("signing did not use the current key")
	}
	none, _ := NewSigner(Options{Key: testKey})
	if _, err := none.Unsign(old.Sign("v")); !errors.Is(err, ErrBadSignature) {
		t.Errorf("without fallbacks: %v", err)
	}
}

func TestAcceptSHA1(t *testing.T) {
	sha1s, _ := NewSigner(Options{Key: testKey, Algorithm: "sha1"})
	tok := sha1s.Sign("v")
	strict, _ := NewSigner(Options{Key: testKey})
	if _, err := strict.Unsign(tok); !errors.Is(err, ErrBadSignature) {
		t.Errorf("4.0+ accepted SHA-1: %v", err)
	}
	legacy, _ := NewSigner(Options{Key: testKey, AcceptSHA1: true})
	if v, err := legacy.Unsign(tok); err != nil || v != "v" {
		t.Errorf("3.2 rejected SHA-1: %v", err)
	}
	sha512, _ := NewSigner(Options{Key: testKey, Algorithm: "sha512"})
	if _, err := legacy.Unsign(sha512.Sign("v")); !errors.Is(err, ErrBadSignature) {
		t.Errorf("3.2 accepted SHA-512: %v", err)
	}
	// Loads honours it too.
	tok2, _ := Dumps("v", WithKey(testKey), WithAlgorithm("sha1"))
	if _, err := Loads(tok2, WithKey(testKey)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Loads accepted SHA-1: %v", err)
	}
	if v, err := Loads(tok2, WithKey(testKey), WithAcceptSHA1(true)); err != nil || v != "v" {
		t.Errorf("Loads AcceptSHA1: %v, %v", v, err)
	}
}

func TestMaxAge(t *testing.T) {
	signer := mustTS(t, Options{Key: testKey, Now: frozen(frozenTime, 0)})
	tok := signer.Sign("v")
	for _, tc := range []struct {
		sec, nsec int64
		maxAge    time.Duration
		expired   bool
	}{
		{frozenTime + 10, 0, 10 * time.Second, false}, // age == max passes
		{frozenTime + 10, 1, 10 * time.Second, true},  // Django's float age: 10.000000001 > 10
		{frozenTime + 9, 999999999, 10 * time.Second, false},
		{frozenTime - 1000, 0, 0, false}, // future timestamps pass
		{frozenTime, 0, 0, false},        // max_age=0 at the signing second
		{frozenTime + 1, 0, 0, true},
		{frozenTime + 11, 0, 10500 * time.Millisecond, true}, // float max_age
	} {
		s := mustTS(t, Options{Key: testKey, Now: frozen(tc.sec, tc.nsec)})
		_, err := s.UnsignMaxAge(tok, tc.maxAge)
		var ee *ExpiredError
		if tc.expired != errors.As(err, &ee) || (!tc.expired && err != nil) {
			t.Errorf("now=%d.%09d max_age=%v: %v", tc.sec, tc.nsec, tc.maxAge, err)
			continue
		}
		if tc.expired {
			if !errors.Is(err, ErrExpired) || !errors.Is(err, ErrBadSignature) || errors.Is(err, ErrMalformed) {
				t.Errorf("ExpiredError matches wrong sentinels: %v", err)
			}
			if want := time.Unix(tc.sec, tc.nsec).Sub(time.Unix(frozenTime, 0)); ee.Age != want || ee.MaxAge != tc.maxAge {
				t.Errorf("ExpiredError %+v, want age %v", ee, want)
			}
		}
		// Seconds form agrees with the Duration form.
		_, err2 := s.UnsignMaxAgeSeconds(tok, tc.maxAge.Seconds())
		if (err == nil) != (err2 == nil) {
			t.Errorf("seconds form: %v vs %v", err2, err)
		}
	}
	// No limit: negative and NaN.
	late := mustTS(t, Options{Key: testKey, Now: frozen(frozenTime+1e9, 0)})
	if _, err := late.UnsignMaxAge(tok, -1); err != nil {
		t.Errorf("negative max age: %v", err)
	}
	if _, err := late.UnsignMaxAgeSeconds(tok, -5); err != nil {
		t.Errorf("negative seconds: %v", err)
	}
	if v, ts, err := late.UnsignTimestamp(tok); err != nil || v != "v" || ts.Unix() != frozenTime {
		t.Errorf("UnsignTimestamp: %q %v %v", v, ts, err)
	}
}

func TestMalformedTimestamp(t *testing.T) {
	s, _ := NewSigner(Options{Key: testKey, Salt: DefaultTimestampSignerSalt})
	ts := mustTS(t, Options{Key: testKey})
	for _, text := range []string{"v:!!", "v:", "nosep", "v:99999999999999999999"} {
		_, err := ts.Unsign(s.Sign(text))
		var me *MalformedError
		if !errors.As(err, &me) || me.Part != "timestamp" || !errors.Is(err, ErrMalformed) || !errors.Is(err, ErrBadSignature) {
			t.Errorf("Unsign(%q): %v", text, err)
		}
	}
	// "-" alone decodes to 0 in Django's base62: a valid (very old) timestamp.
	if v, tm, err := ts.UnsignTimestamp(s.Sign("v:-")); err != nil || v != "v" || tm.Unix() != 0 {
		t.Errorf("timestamp '-': %q %v %v", v, tm, err)
	}
}

func TestObjectsAndCompression(t *testing.T) {
	s, _ := NewSigner(Options{Key: testKey})
	ts := mustTS(t, Options{Key: testKey, Now: frozen(frozenTime, 0)})
	big := pyvalue.NewDict(1)
	big.Set("k", strings.Repeat("abc", 5000))
	for _, v := range []any{nil, "x", int64(1), []any{int64(1), 2.5}, big} {
		for _, compress := range []bool{false, true} {
			tok, err := s.SignObject(v, nil, compress)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.UnsignObject(tok, JSONSerializer{})
			if err != nil || !pyvalue.Equal(got, v) {
				t.Errorf("Signer round trip %v: %v", v, err)
			}
			tok, _ = ts.SignObject(v, JSONSerializer{}, compress)
			if got, err = ts.UnsignObject(tok, nil); err != nil || !pyvalue.Equal(got, v) {
				t.Errorf("TimestampSigner round trip %v: %v", v, err)
			}
			if compress && v == any(big) && !strings.HasPrefix(tok, ".") {
				t.Errorf("compressible payload not compressed: %.40s", tok)
			}
		}
	}
	// The '.' is inside the signature: stripping it breaks the signature.
	tok, _ := ts.SignObject(big, nil, true)
	if _, err := ts.UnsignObject(tok[1:], nil); !errors.Is(err, ErrBadSignature) {
		t.Errorf("dot removed: %v", err)
	}
	// Serializer errors are wrapped, not swallowed.
	if _, err := s.SignObject(pyvalue.Bytes("x"), nil, false); err == nil || !strings.Contains(err.Error(), "not JSON serializable") {
		t.Errorf("bytes: %v", err)
	}
	// EncodePayload/DecodePayload, the key-less halves.
	text := EncodePayload([]byte(strings.Repeat("z", 100)), true)
	data, compressed, err := DecodePayload(text, 0)
	if err != nil || !compressed || string(data) != strings.Repeat("z", 100) {
		t.Errorf("DecodePayload: %q %v %v", data, compressed, err)
	}
}

// TestShortPayloadsStayPlain checks the bound behind minKept: below 11
// bytes no zlib stream is two bytes shorter than its input, whatever the
// level, so skipping the compressor there changes nothing. (9 bytes is
// the theoretical floor; CPython reaches 11 on a run of one byte, kept
// from 13 bytes on; klauspost's level 9 reaches 12.)
func TestShortPayloadsStayPlain(t *testing.T) {
	for n := 1; n < minKept; n++ {
		for _, data := range [][]byte{bytes.Repeat([]byte{'a'}, n), []byte(strings.Repeat("{}", n)[:n])} {
			for level := zlib.BestSpeed; level <= zlib.BestCompression; level++ {
				var b bytes.Buffer
				w, _ := zlib.NewWriterLevel(&b, level)
				w.Write(data)
				w.Close()
				if b.Len() < n-1 {
					t.Fatalf("%q at level %d compresses to %d bytes: minKept is wrong", data, level, b.Len())
				}
			}
			if text := EncodePayload(data, true); strings.HasPrefix(text, ".") {
				t.Errorf("EncodePayload(%q) compressed: %q", data, text)
			}
		}
	}
	// CPython: zlib.compress(b"a" * 16) is 11 bytes, kept by Django.
	if text := EncodePayload(bytes.Repeat([]byte{'a'}, 16), true); !strings.HasPrefix(text, ".") {
		t.Errorf("16-byte run not compressed: %q", text)
	}
}

// TestHostile: forged, truncated, oversized and bomb inputs give typed
// errors, never a panic or unbounded memory.
func TestHostile(t *testing.T) {
	ts := mustTS(t, Options{Key: testKey, Now: frozen(frozenTime, 0)})
	plain, _ := NewSigner(Options{Key: testKey, Salt: DefaultTimestampSignerSalt})
	good, _ := ts.SignObject(map[string]any{"a": int64(1)}, nil, false)

	// Truncations of a valid token never verify (or, once the signature is
	// gone, fail to parse), and never panic.
	for i := 0; i < len(good); i++ {
		if _, err := ts.UnsignObject(good[:i], nil); !errors.Is(err, ErrBadSignature) {
			t.Errorf("truncated to %d: %v", i, err)
		}
	}

	// A 10 MB token with a forged signature: rejected after one HMAC pass.
	huge := strings.Repeat("A", 10<<20) + ":1r31eq:" + strings.Repeat("B", 43)
	start := time.Now()
	if _, err := ts.UnsignObject(huge, nil); !errors.Is(err, ErrBadSignature) {
		t.Errorf("10 MB forged: %v", err)
	}
	if _, err := Loads(huge, WithKey(testKey)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("10 MB forged Loads: %v", err)
	}
	t.Logf("10 MB forged token rejected in %v", time.Since(start)/2)

	// A validly signed 10 MB payload over the size cap: ErrTooLarge.
	capped := mustTS(t, Options{Key: testKey, Now: frozen(frozenTime, 0), MaxPayloadSize: 1 << 20})
	bigTok, _ := ts.SignObject(strings.Repeat("x", 10<<20), nil, false)
	if _, err := capped.UnsignObject(bigTok, nil); !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrMalformed) {
		t.Errorf("10 MB signed, 1 MiB cap: %v", err)
	}
	if v, err := ts.UnsignObject(bigTok, nil); err != nil || len(v.(string)) != 10<<20 {
		t.Errorf("10 MB signed, default cap: %v", err)
	}

	// A zlib bomb: 1 GiB of zeros compresses to ~1 MB; streaming from a
	// writer keeps the test cheap. The cap stops decompression early.
	var zb bytes.Buffer
	w, _ := zlib.NewWriterLevel(&zb, zlib.DefaultCompression)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 40; i++ { // 40 MiB
		w.Write(zeros)
	}
	w.Close()
	bomb := plain.Sign("." + B64Encode(zb.Bytes()) + ":" + "1r31eq")
	start = time.Now()
	_, err := ts.UnsignObject(bomb, nil)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("bomb: %v", err)
	}
	t.Logf("zlib bomb (%d bytes → 40 MiB) stopped at the %d-byte cap in %v", zb.Len(), DefaultMaxPayloadSize, time.Since(start))

	// Validly signed garbage: malformed, not bad signature (Django raises
	// binascii.Error / zlib.error / JSONDecodeError there).
	for _, tc := range []struct{ text, part string }{
		{"a", "base64"},
		{"!!!!!", "payload"}, // Python skips the invalid characters: b"" is not JSON
		{".bm90IHpsaWI", "zlib"},
		{"." + B64Encode(zb.Bytes()[:100]), "zlib"},
		{"bm90IGpzb24", "payload"},
		{B64Encode([]byte(`{"a":`)), "payload"},
		{B64Encode([]byte(strings.Repeat("[", 100000))), "payload"},
		{B64Encode([]byte("\xff\xfe")), "payload"},
	} {
		tok := plain.Sign(tc.text + ":1r31eq")
		_, err := ts.UnsignObject(tok, nil)
		var me *MalformedError
		if !errors.As(err, &me) || me.Part != tc.part || errors.Is(err, ErrBadSignature) {
			t.Errorf("%q: %v, want malformed %s", tc.text, err, tc.part)
		}
	}
}

// TestConcurrent shares one signer between goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	ts := mustTS(t, Options{Key: testKey, FallbackKeys: []string{testOldKey}})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				v := []any{int64(g), int64(i), strings.Repeat("x", i*10)}
				tok, err := ts.SignObject(v, nil, i%2 == 0)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := ts.UnsignObject(tok, nil)
				if err != nil || !pyvalue.Equal(got, v) {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestB62RoundTrip(t *testing.T) {
	for _, n := range []int64{0, 1, -1, 61, 62, -62, 1700000000, 1<<63 - 1, -1 << 63} {
		got, err := B62Decode(B62Encode(n))
		if err != nil || got != n {
			t.Errorf("B62 round trip %d: %d, %v", n, got, err)
		}
	}
	// One past either end of int64 overflows.
	maxText, minText := B62Encode(1<<63-1), B62Encode(-1<<63)
	next := func(s string) string { // add one to the last base-62 digit
		i := strings.IndexByte(base62Alphabet, s[len(s)-1])
		return s[:len(s)-1] + string(base62Alphabet[i+1])
	}
	for _, s := range []string{"", "!", "a b", "1-", "+1", next(maxText), next(minText), "zzzzzzzzzzzzzzzzzzzz"} {
		if _, err := B62Decode(s); !errors.Is(err, ErrInvalidBase62) {
			t.Errorf("B62Decode(%q): %v", s, err)
		}
	}
}

func TestGetRandomString(t *testing.T) {
	for _, chars := range []string{"", "ab", "abcdefghijklmnopqrstuvwxyz0123456789", "x"} {
		s, err := GetRandomString(64, chars)
		if chars == "" {
			chars = RandomStringChars
		}
		if err != nil || len(s) != 64 || strings.Trim(s, chars) != "" {
			t.Errorf("GetRandomString(64, %q) = %q, %v", chars, s, err)
		}
	}
	a, _ := GetRandomString(32, "")
	b, _ := GetRandomString(32, "")
	if a == b {
		t.Error("two random strings are equal")
	}
	if _, err := GetRandomString(-1, ""); err == nil {
		t.Error("negative length accepted")
	}
}

// keepingSerializer keeps the bytes Loads receives, as a Serializer may.
type keepingSerializer struct{ kept *[][]byte }

func (k keepingSerializer) Dumps(v any) ([]byte, error) { return []byte(v.(string)), nil }
func (k keepingSerializer) Loads(b []byte) (any, error) {
	*k.kept = append(*k.kept, b)
	if string(b) == "fail" {
		return nil, errors.New("cannot load")
	}
	return string(b), nil
}

// TestCustomSerializer: payload buffers are recycled only for
// JSONSerializer; a serializer that keeps its input never sees it change.
func TestCustomSerializer(t *testing.T) {
	var kept [][]byte
	ser := keepingSerializer{&kept}
	ts := mustTS(t, Options{Key: testKey})
	var want []string
	for i := 0; i < 50; i++ {
		v := strings.Repeat(string(rune('a'+i%26)), 100+i)
		tok, err := ts.SignObject(v, ser, i%2 == 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.UnsignObject(tok, ser); err != nil {
			t.Fatal(err)
		}
		want = append(want, v)
		// Interleave JSON loads, which do recycle their buffers.
		jt, _ := ts.SignObject(strings.Repeat("z", 300), nil, true)
		ts.UnsignObject(jt, nil)
	}
	for i, b := range kept {
		if string(b) != want[i] {
			t.Fatalf("kept buffer %d changed: %.20q", i, b)
		}
	}
	tok, _ := ts.SignObject("fail", ser, false)
	_, err := ts.UnsignObject(tok, ser)
	var me *MalformedError
	if !errors.As(err, &me) || me.Part != "payload" || errors.Is(err, ErrBadSignature) {
		t.Errorf("serializer error: %v", err)
	}
	// Loads with WithSerializer, and WithOptions overridden by later options.
	tok, _ = Dumps("x", WithKey(testKey), WithSerializer(ser))
	if v, err := Loads(tok, WithOptions(Options{Key: "wrong"}), WithKey(testKey), WithSerializer(ser)); err != nil || v != "x" {
		t.Errorf("Loads with options: %v %v", v, err)
	}
}
