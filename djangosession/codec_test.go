package djangosession

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
	"github.com/djsession/djsession/signing"
)

// frozen is the vectors' frozen clock, 2023-11-14T22:13:20Z.
var frozen = time.Unix(1700000000, 0).UTC()

func frozenNow() time.Time { return frozen }

// caseSettings builds the Settings of a vector case: its "settings" object
// plus TARGET_DJANGO_VERSION from its django_version.
func caseSettings(t *testing.T, c vectors.Case) *Settings {
	t.Helper()
	raw := map[string]any{}
	if c.Has("settings") {
		b, err := pyvalue.MarshalJSON(c.Dict("settings"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
	}
	v, err := ParseVersion(c.DjangoVersion())
	if err != nil {
		t.Fatal(err)
	}
	raw["TARGET_DJANGO_VERSION"] = v.String()
	if _, ok := raw["SECRET_KEY"]; !ok {
		raw["SECRET_KEY"] = "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
	}
	b, _ := json.Marshal(raw)
	s, err := LoadSettings(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// storeClassOf maps a vector's session_class to the qualname it implies.
func storeClassOf(c vectors.Case) string {
	cls, _ := c.Lookup("session_class")
	s, _ := cls.(string)
	switch {
	case strings.Contains(s, "Outer.InnerStore"):
		return "Outer.InnerStore"
	case strings.Contains(s, "MySessionStore"):
		return "MySessionStore"
	}
	return DefaultStoreClass
}

func newTestCodec(t *testing.T, s *Settings, opts ...CodecOption) *Codec {
	t.Helper()
	c, err := NewCodec(s, append([]CodecOption{WithNow(frozenNow)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func isPickle(s *Settings) bool { return s.SessionSerializer == PickleSerializerPath }

func TestCodecVectorsKeySalt(t *testing.T) {
	n := 0
	for _, c := range vectors.Select(vectors.Load(t, "session_encode.json"), "key_salt") {
		c := c.WithT(t)
		s := caseSettings(t, c)
		codec := newTestCodec(t, s, WithStoreClass(storeClassOf(c)))
		if got, want := codec.KeySalt(), c.Str("key_salt"); got != want {
			t.Errorf("%v: KeySalt = %q, want %q", c, got, want)
		}
		n++
	}
	if n != 28 {
		t.Errorf("ran %d key_salt cases, want 28", n)
	}
}

func TestCodecVectorsWalkthrough(t *testing.T) {
	cases := vectors.Select(vectors.Load(t, "session_encode.json"), "walkthrough", "walkthrough_legacy", "_legacy_encode")
	if len(cases) != 18 {
		t.Fatalf("%d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			c := c.WithT(t)
			s := caseSettings(t, c)
			switch c.Op() {
			case "walkthrough":
				d := c.Value("session_dict").(*pyvalue.Dict)
				codec := newTestCodec(t, s)
				if salt := c.Str("salt"); salt != codec.KeySalt() {
					// The signed_cookies walkthrough: same encoding, its own salt.
					codec = newTestCodec(t, s, WithKeySalt(salt))
				}
				got, err := codec.Encode(d)
				if err != nil {
					t.Fatal(err)
				}
				want := c.Str("10_result")
				if strings.HasPrefix(want, ".") {
					assertDecodes(t, codec, got, d)
				} else if got != want {
					t.Errorf("Encode = %s, want %s", got, want)
				}
				assertDecodes(t, codec, want, d)
			case "walkthrough_legacy", "_legacy_encode":
				key := "session_dict"
				if c.Op() == "_legacy_encode" {
					key = "input"
				}
				d := c.Value(key).(*pyvalue.Dict)
				// Django 3.2 with DEFAULT_HASHING_ALGORITHM = "sha1" writes it.
				s.TargetDjangoVersion, s.DefaultHashingAlgorithm = "3.2", "sha1"
				codec := newTestCodec(t, s)
				got, err := codec.Encode(d)
				if err != nil {
					t.Fatal(err)
				}
				if want := c.Str("result"); got != want {
					t.Errorf("legacy Encode = %s, want %s", got, want)
				}
				assertDecodes(t, codec, got, d)
			}
		})
	}
}

func assertDecodes(t *testing.T, codec *Codec, data string, want *pyvalue.Dict) {
	t.Helper()
	got, err := codec.Decode(data)
	if err != nil {
		t.Fatalf("Decode(%s): %v", data, err)
	}
	if !pyvalue.Equal(got, want) {
		t.Fatalf("Decode(%s) = %v, want %v", data, got, want)
	}
}

func TestCodecVectorsEncodeDecode(t *testing.T) {
	cases := vectors.Select(vectors.Load(t, "session_encode.json"), "encode", "decode")
	ran := 0
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			c := c.WithT(t)
			s := caseSettings(t, c)
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			codec := newTestCodec(t, s, WithStoreClass(storeClassOf(c)), WithLogger(logger))
			ran++
			switch c.Op() {
			case "encode":
				d := c.Value("session_dict").(*pyvalue.Dict)
				got, err := codec.Encode(d)
				if err != nil {
					t.Fatal(err)
				}
				want := c.Str("result")
				if strings.HasPrefix(want, ".") {
					// Compressed: CPython's zlib bytes are not reproduced;
					// ours must decode to the same dict.
					if !strings.HasPrefix(got, ".") {
						t.Errorf("Encode = %s, want a compressed value", got)
					}
					assertDecodes(t, codec, got, d)
				} else if got != want {
					t.Errorf("Encode = %s, want %s", got, want)
				}
			case "decode":
				in := c.Str("input")
				if class, msg, ok := c.Error(); ok {
					_, err := codec.Decode(in)
					var de *DecodeError
					if !errors.As(err, &de) || !de.Raises {
						t.Fatalf("Decode = %v, want an error Django raises (%s: %s)", err, class, msg)
					}
					if !strings.Contains(err.Error(), msg) {
						t.Errorf("Decode error %q does not carry Django's %q", err, msg)
					}
					return
				}
				want := c.Value("result")
				got, err := codec.DecodeAny(in)
				wantLogged := c.Has("logged")
				var de *DecodeError
				if errors.As(err, &de) {
					if de.Warned != wantLogged {
						t.Errorf("Warned = %v, Django logged: %v", de.Warned, wantLogged)
					}
					if de.Raises {
						t.Errorf("Raises for a case Django returned from")
					}
					got = pyvalue.NewDict(0)
				} else if err != nil {
					t.Fatal(err)
				} else if wantLogged {
					t.Errorf("decoded without error, Django logged a warning")
				}
				if !pyvalue.Equal(got, want) {
					t.Errorf("Decode = %v, want %v", got, want)
				}
				// DecodeOrEmpty: same result, and the warning exactly when Django logs.
				logs.Reset()
				if d := codec.DecodeOrEmpty(in); !pyvalue.Equal(d, want) {
					t.Errorf("DecodeOrEmpty = %v, want %v", d, want)
				}
				if logged := strings.Contains(logs.String(), CorruptedMessage); logged != wantLogged {
					t.Errorf("DecodeOrEmpty logged %q, Django logged: %v", logs.String(), wantLogged)
				}
			}
		})
	}
	if ran != 153 {
		t.Errorf("%d cases ran, want 153", ran)
	}
}

func TestCodecRoundTripAllVersions(t *testing.T) {
	d := pyvalue.NewDict(0)
	d.Set("user", "J\u00fcrgen \U0001F600")
	d.Set("n", int64(1)<<60)
	d.Set("f", 0.1)
	d.Set("l", []any{int64(1), nil, true, "x"})
	big := pyvalue.NewDict(0)
	for i := 0; i < 200; i++ {
		big.Set("key-"+string(rune('a'+i%26)), strings.Repeat("value ", i%7))
	}
	d.Set("nested", big)
	for _, v := range []string{"3.2", "4.2", "5.2", "6.0"} {
		for _, alg := range []string{"", "sha1"} {
			s, _ := LoadSettings([]byte(`{"SECRET_KEY":"k\u00e9y","SECRET_KEY_FALLBACKS":["old"],"TARGET_DJANGO_VERSION":"` + v + `","DEFAULT_HASHING_ALGORITHM":"` + alg + `"}`))
			codec := newTestCodec(t, s)
			enc, err := codec.Encode(d)
			if err != nil {
				t.Fatal(err)
			}
			legacy := v == "3.2" && alg == "sha1"
			if legacy == strings.Contains(enc, ":") {
				t.Errorf("%s/%s: legacy format %v, got %s", v, alg, legacy, enc)
			}
			assertDecodes(t, codec, enc, d)
			// Data under another store class's salt is refused, with a warning.
			other := newTestCodec(t, s, WithStoreClass("MySessionStore"))
			if _, err := other.Decode(enc); !legacy && !errors.Is(err, signing.ErrBadSignature) {
				t.Errorf("%s/%s: other salt: %v", v, alg, err)
			}
		}
	}
}

func TestCodecFallbackKeys(t *testing.T) {
	d := pyvalue.NewDict(1)
	d.Set("a", int64(1))
	old, _ := LoadSettings([]byte(`{"SECRET_KEY":"old"}`))
	enc, err := newTestCodec(t, old).Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	for v, ok := range map[string]bool{"3.2": false, "4.2": true, "5.2": true, "6.0": true} {
		s, _ := LoadSettings([]byte(`{"SECRET_KEY":"new","SECRET_KEY_FALLBACKS":["old"],"TARGET_DJANGO_VERSION":"` + v + `"}`))
		_, err := newTestCodec(t, s).Decode(enc)
		if (err == nil) != ok {
			t.Errorf("%s: Decode with fallback = %v, want ok %v", v, err, ok)
		}
	}
}

func TestCodecPickleByVersion(t *testing.T) {
	for v, ok := range map[string]bool{"3.2": true, "4.2": true, "5.2": false, "6.0": false} {
		s, _ := LoadSettings([]byte(`{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"` + v + `","SESSION_SERIALIZER":"` + PickleSerializerPath + `"}`))
		_, err := NewCodec(s)
		if ok && err != nil || !ok && !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: NewCodec(pickle) = %v", v, err)
		}
	}
	s, _ := LoadSettings([]byte(`{"SECRET_KEY":"k","SESSION_SERIALIZER":"myapp.YAMLSerializer"}`))
	if _, err := NewCodec(s); !errors.Is(err, ErrUnsupported) {
		t.Errorf("custom serializer: %v", err)
	}
	if _, err := NewCodec(s, WithSerializer(signing.JSONSerializer{})); err != nil {
		t.Errorf("custom serializer given in Go: %v", err)
	}
}

func TestCodecNotDict(t *testing.T) {
	s, _ := LoadSettings([]byte(`{"SECRET_KEY":"k"}`))
	codec := newTestCodec(t, s)
	tok, err := signing.Dumps([]any{int64(1)}, signing.WithKey("k"), signing.WithSalt(codec.KeySalt()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := codec.Decode(tok); !errors.Is(err, ErrNotDict) {
		t.Errorf("Decode(list) = %v, want ErrNotDict", err)
	}
	v, err := codec.DecodeAny(tok)
	if err != nil || !pyvalue.Equal(v, []any{int64(1)}) {
		t.Errorf("DecodeAny(list) = %v, %v", v, err)
	}
	if d := codec.DecodeOrEmpty(tok); d.Len() != 0 {
		t.Errorf("DecodeOrEmpty(list) = %v", d)
	}
}

func TestCodecHostile(t *testing.T) {
	s, _ := LoadSettings([]byte(`{"SECRET_KEY":"k","TARGET_DJANGO_VERSION":"3.2"}`))
	codec := newTestCodec(t, s, WithLogger(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))))
	inputs := []string{
		"", ":", "::", ".", ".:1:x", "=", "====", "a=b=c", strings.Repeat("A", 10<<20),
		strings.Repeat("é", 1000), "\x00\xff:\x80", "YTpi", "Og==",
	}
	for _, in := range inputs {
		if d := codec.DecodeOrEmpty(in); d == nil || d.Len() != 0 {
			t.Errorf("DecodeOrEmpty(%.20q) = %v", in, d)
		}
	}
}

func TestPyB64Decode(t *testing.T) {
	tests := []struct {
		in, out, err string
	}{
		{"", "", ""},
		{"YQ==", "a", ""},
		{"YQ", "", "Incorrect padding"},
		{"Y", "", "cannot be 1 more"},
		{"YWJj", "abc", ""},
		{"YW-Jj", "abc", ""},
		{"YQ==YWJj", "a", ""},
		{"Y=Q==", "a", ""},
		{"YWI=", "ab", ""},
		{"Y W\nI =", "ab", ""},
	}
	for _, tt := range tests {
		got, err := pyB64Decode(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("pyB64Decode(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || string(got) != tt.out {
			t.Errorf("pyB64Decode(%q) = %q, %v; want %q", tt.in, got, err, tt.out)
		}
	}
}

func FuzzCodecDecode(f *testing.F) {
	for _, s := range []string{
		"eyJmb28iOiJiYXIiLCJuIjoxfQ:1r31eq:Ba-jsv1DmYmzprCnPI2Nvn8JRJl3mt9W99wjRAsAD9Q",
		"NWQ3MDg0MzZmZGFlN2M1M2ZkMWU4OWE2MTBiZWZmZTZiNmFiNzc3YTp7ImEiOjF9",
		"", "not-a-session", ".eJxVjEEOwiAQRe:1r31eq:x",
	} {
		f.Add(s)
	}
	var codecs []*Codec
	for _, v := range []string{"3.2", "6.0"} {
		s, _ := LoadSettings([]byte(`{"SECRET_KEY":"spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz","TARGET_DJANGO_VERSION":"` + v + `"}`))
		c, err := NewCodec(s, WithLogger(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))))
		if err != nil {
			f.Fatal(err)
		}
		codecs = append(codecs, c)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, c := range codecs {
			d, err := c.Decode(in)
			if (d == nil) == (err == nil) {
				t.Fatalf("Decode(%q) = %v, %v", in, d, err)
			}
			if err != nil {
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("Decode(%q) error %T is not a *DecodeError", in, err)
				}
			}
			if c.DecodeOrEmpty(in) == nil {
				t.Fatal("DecodeOrEmpty returned nil")
			}
		}
	})
}
