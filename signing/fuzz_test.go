package signing

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
)

// vectorStrings returns the string fields named keys of every signing.json
// case with one of ops: the fuzz seed corpus.
func vectorStrings(f *testing.F, keys []string, ops ...string) []string {
	var out []string
	for _, c := range vectors.Select(vectors.Load(f, "signing.json"), ops...) {
		for _, k := range keys {
			if v, ok := c.Lookup(k); ok {
				if s, ok := v.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	if len(out) == 0 {
		f.Fatalf("no seeds for %v", ops)
	}
	return out
}

func FuzzLoads(f *testing.F) {
	for _, s := range vectorStrings(f, []string{"input", "result"}, "loads", "dumps") {
		f.Add(s)
	}
	now := WithNow(func() time.Time { return time.Unix(frozenTime, 0) })
	f.Fuzz(func(t *testing.T, token string) {
		v, err := Loads(token, WithKey(testKey), WithFallbackKeys(testOldKey), WithAcceptSHA1(true),
			WithMaxPayloadSize(1<<20))
		if err != nil {
			return
		}
		// Whatever verifies re-signs and reads back equal.
		again, err := Dumps(v, WithKey(testKey), now, WithCompress(strings.HasPrefix(token, ".")))
		if err != nil {
			t.Fatalf("Dumps of a loaded value %#v: %v", v, err)
		}
		w, err := Loads(again, WithKey(testKey))
		if err != nil || !pyvalue.Equal(v, w) {
			t.Fatalf("round trip %#v → %#v, %v", v, w, err)
		}
	})
}

func FuzzUnsign(f *testing.F) {
	for _, s := range vectorStrings(f, []string{"input", "result"}, "Signer.unsign", "Signer.sign",
		"TimestampSigner.unsign", "TimestampSigner.sign") {
		f.Add(s)
	}
	s, _ := NewSigner(Options{Key: testKey})
	ts, _ := NewTimestampSigner(Options{Key: testKey, Salt: DefaultSignerSalt})
	f.Fuzz(func(t *testing.T, signed string) {
		v, err := s.Unsign(signed)
		if err == nil && s.Sign(v) != signed {
			t.Fatalf("Unsign(%q) = %q, but Sign gives %q", signed, v, s.Sign(v))
		}
		// Same salt: the timestamp signer verifies exactly the same texts.
		tv, _, terr := ts.UnsignTimestamp(signed)
		if (err == nil) != (terr == nil || !strings.Contains(terr.Error(), "bad signature")) {
			t.Fatalf("Signer %v, TimestampSigner %v", err, terr)
		}
		if terr == nil && !strings.HasPrefix(v, tv) {
			t.Fatalf("timestamped value %q not a prefix of %q", tv, v)
		}
	})
}

func FuzzB64Decode(f *testing.F) {
	for _, s := range vectorStrings(f, []string{"input", "result"}, "b64_decode", "b64_encode") {
		f.Add(s)
	}
	f.Add("Zg=x")
	f.Add("oP\n")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := B64Decode(s)
		clean := len(s)%4 != 1 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == ""
		if !clean {
			return
		}
		// On clean unpadded URL-safe text Django's decoder is plain base64.
		want, werr := base64.RawURLEncoding.DecodeString(s)
		if err != nil || werr != nil || string(got) != string(want) {
			t.Fatalf("B64Decode(%q) = %x, %v; encoding/base64 %x, %v", s, got, err, want, werr)
		}
		if enc := B64Encode(got); len(enc) != len(s) {
			t.Fatalf("re-encoding %q gives %q", s, enc)
		}
	})
}

func FuzzB62Decode(f *testing.F) {
	for _, s := range vectorStrings(f, []string{"input", "result"}, "b62_decode", "b62_encode") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := B62Decode(s)
		if err != nil {
			return
		}
		back, err := B62Decode(B62Encode(n))
		if err != nil || back != n {
			t.Fatalf("B62Decode(B62Encode(%d)) = %d, %v", n, back, err)
		}
		canonical := strings.TrimLeft(strings.TrimPrefix(s, "-"), "0") != "" &&
			!strings.HasPrefix(strings.TrimPrefix(s, "-"), "0")
		if canonical && B62Encode(n) != s {
			t.Fatalf("B62Encode(B62Decode(%q)) = %q", s, B62Encode(n))
		}
	})
}

// FuzzLoadsSigned fuzzes what a signature protects: the text is signed
// properly, so every stage after verification (base64, zlib, JSON, size
// cap) sees arbitrary input. Errors must be typed, never a panic.
func FuzzLoadsSigned(f *testing.F) {
	for _, s := range vectorStrings(f, []string{"input", "result"}, "loads", "dumps") {
		if i := strings.IndexByte(s, ':'); i > 0 {
			f.Add(s[:i])
		}
	}
	f.Add(".bm90IHpsaWI")
	plain, _ := NewSigner(Options{Key: testKey, Salt: DefaultDumpsSalt})
	f.Fuzz(func(t *testing.T, payload string) {
		tok := plain.Sign(payload + ":1r31eq")
		v, err := Loads(tok, WithKey(testKey), WithMaxPayloadSize(1<<20))
		if err == nil {
			if _, err := pyvalue.MarshalJSON(v); err != nil {
				t.Fatalf("loaded value %#v does not serialize: %v", v, err)
			}
			return
		}
		if !errors.Is(err, ErrMalformed) || (errors.Is(err, ErrBadSignature) && !strings.Contains(payload, ":")) {
			t.Fatalf("payload %q: %T %v", payload, err, err)
		}
	})
}
