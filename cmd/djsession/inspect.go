package main

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/djsession/djsession/pyvalue"
)

// maxInspectPayload caps decompression while inspecting, so that a zlib bomb
// pasted into inspect is reported, not inflated.
const maxInspectPayload = 16 << 20

// tokenReport is what can be learnt about a token without its key.
type tokenReport struct {
	token string
	// format is "signed" (TimestampSigner over sign_object: session_data,
	// a signed_cookies cookie, signing.dumps), "signer" (a plain Signer
	// value without timestamp), "legacy" (the pre-3.1 session format) or
	// "unknown".
	format string
	// signedPart is what the signature covers; sig the signature text.
	signedPart, sig string
	b64             string // the base64 payload text (without the '.' marker)
	compressed      bool
	hasTS           bool
	ts              int64
	payload         []byte // serialized bytes (decompressed)
	serializer      string // "json", "pickle" or ""
	value           any
	valueErr        error
	legacyHash      string // hex HMAC of the legacy format
	notes           []string
}

// analyzeToken takes a token apart as Django would read it, without a key.
func analyzeToken(tok string) *tokenReport {
	r := &tokenReport{token: tok, format: "unknown"}
	i := strings.LastIndexByte(tok, ':')
	if i < 0 {
		analyzeLegacy(r)
		return r
	}
	r.signedPart, r.sig = tok[:i], tok[i+1:]
	value := r.signedPart
	if j := strings.LastIndexByte(value, ':'); j >= 0 {
		if ts, err := base62Decode(value[j+1:]); err == nil {
			r.hasTS, r.ts = true, ts
			value = value[:j]
		}
	}
	if r.hasTS {
		r.format = "signed"
	} else {
		r.format = "signer"
	}
	r.b64 = value
	if strings.HasPrefix(value, ".") {
		r.compressed = true
		r.b64 = value[1:]
	}
	raw, err := b64Decode(r.b64)
	if err != nil {
		if r.format == "signer" {
			// A Signer may sign any text; it need not be an object.
			r.payload = []byte(value)
			r.compressed = false
			r.notes = append(r.notes, "the signed value is plain text, not a signed object")
			return r
		}
		r.valueErr = fmt.Errorf("payload is not URL-safe base64: %w", err)
		return r
	}
	if r.compressed {
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			r.valueErr = fmt.Errorf("'.' marks zlib data, but: %w", err)
			return r
		}
		raw, err = io.ReadAll(io.LimitReader(zr, maxInspectPayload+1))
		if err == nil && len(raw) > maxInspectPayload {
			err = fmt.Errorf("decompresses to more than %d bytes", maxInspectPayload)
		}
		if err != nil {
			r.valueErr = fmt.Errorf("zlib: %w", err)
			return r
		}
	}
	r.payload = raw
	r.decodePayload()
	return r
}

// analyzeLegacy recognises the pre-3.1 session format:
// standard base64 of hex(HMAC-SHA1) ":" serialized.
func analyzeLegacy(r *tokenReport) {
	raw, err := base64.StdEncoding.DecodeString(r.token)
	if err != nil {
		r.valueErr = errors.New("neither a signed value (no ':') nor the legacy base64 session format")
		return
	}
	hash, ser, ok := bytes.Cut(raw, []byte(":"))
	if !ok || !isHex(hash) {
		r.valueErr = errors.New("base64, but not the legacy session format (hex hash ':' data)")
		return
	}
	r.format = "legacy"
	r.legacyHash = string(hash)
	r.payload = ser
	r.decodePayload()
}

func (r *tokenReport) decodePayload() {
	p := r.payload
	if len(p) >= 2 && p[0] == 0x80 && p[1] <= 5 {
		r.serializer = "pickle"
		r.value, r.valueErr = unpickle(p)
		return
	}
	r.serializer = "json"
	r.value, r.valueErr = pyvalue.UnmarshalJSON(p)
}

func isHex(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// b64Decode is Django's b64_decode: URL-safe, padding restored.
func b64Decode(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// base62Decode reads a signing timestamp; it refuses what does not fit in
// an int64 rather than wrapping.
func base62Decode(s string) (int64, error) {
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	if s == "" || len(s) > 10 {
		return 0, errors.New("not a base62 timestamp")
	}
	var n int64
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(base62Alphabet, s[i])
		if d < 0 {
			return 0, errors.New("not a base62 timestamp")
		}
		n = n*62 + int64(d)
	}
	if neg {
		n = -n
	}
	return n, nil
}

// sigAlgorithm guesses the HMAC from the signature length.
func sigAlgorithm(sig string) string {
	switch len(sig) {
	case 27:
		return "HMAC-SHA1 (Django 3.2 with DEFAULT_HASHING_ALGORITHM=sha1, or older)"
	case 43:
		return "HMAC-SHA256 (Django's default)"
	case 64:
		return "HMAC-SHA384"
	case 86:
		return "HMAC-SHA512"
	}
	return fmt.Sprintf("unknown (%d characters)", len(sig))
}

// cmdInspect explains a token for humans.
func cmdInspect(e *env) error {
	if err := e.wantArgs(1, 1); err != nil {
		return err
	}
	tok, err := e.key(0)
	if err != nil {
		return err
	}
	tok = strings.TrimSpace(tok)
	r := analyzeToken(tok)
	var ver *verification
	if e.configGiven {
		s, err := e.config()
		if err != nil {
			return err
		}
		if s.SecretKey != "" {
			ver = verify(s, r)
		}
	}
	writeReport(e.stdout, r, ver, time.Now())
	return nil
}

func writeReport(w io.Writer, r *tokenReport, v *verification, now time.Time) {
	line := func(k, format string, a ...any) { fmt.Fprintf(w, "%-12s %s\n", k+":", fmt.Sprintf(format, a...)) }
	switch r.format {
	case "signed":
		line("format", "signed object with timestamp (TimestampSigner.sign_object: session_data, a signed_cookies cookie, or signing.dumps)")
	case "signer":
		line("format", "Signer value without timestamp")
	case "legacy":
		line("format", "pre-3.1 legacy session format (base64 of SHA-1 hex hash ':' data); read only by Django 3.1/3.2")
	default:
		line("format", "not recognised")
	}
	if r.hasTS {
		t := time.Unix(r.ts, 0).UTC()
		line("timestamp", "%s (%s)", t.Format("2006-01-02 15:04:05 MST"), ago(now.Sub(t)))
	}
	if r.sig != "" {
		line("signature", "%s", sigAlgorithm(r.sig))
	}
	if r.legacyHash != "" {
		line("hash", "%s (%d hex chars)", r.legacyHash, len(r.legacyHash))
	}
	if r.format == "signed" || r.format == "signer" {
		if r.compressed {
			line("compressed", "yes (zlib; %d bytes of base64 → %d bytes)", len(r.b64), len(r.payload))
		} else {
			line("compressed", "no (%d bytes)", len(r.payload))
		}
	}
	if r.serializer != "" {
		name := "JSONSerializer"
		if r.serializer == "pickle" {
			name = fmt.Sprintf("PickleSerializer (pickle protocol %d)", r.payload[1])
		}
		line("serializer", "%s (guessed from the payload)", name)
	}
	for _, n := range r.notes {
		line("note", "%s", n)
	}
	if v == nil {
		line("verified", "not checked (give --config with SECRET_KEY to verify)")
	} else {
		line("verified", "%s", v.summary())
	}
	if r.valueErr != nil {
		line("payload", "cannot be decoded: %v", r.valueErr)
		return
	}
	if r.format == "signer" && r.value == nil && r.serializer == "" {
		line("value", "%s", quote(string(r.payload)))
		return
	}
	fmt.Fprintf(w, "%-12s %s\n", "payload:", describe(r.value))
}

// signedAt is the signing time, or the zero time.
func (r *tokenReport) signedAt() time.Time {
	if !r.hasTS {
		return time.Time{}
	}
	return time.Unix(r.ts, 0)
}

// ago says how long ago a value was signed, in units a human reads.
func ago(d time.Duration) string {
	if d < 0 {
		return fmt.Sprintf("%s in the future", (-d).Round(time.Second))
	}
	if d >= 48*time.Hour {
		return fmt.Sprintf("signed %d days ago", int(d.Hours()/24))
	}
	return fmt.Sprintf("signed %s ago", d.Round(time.Second))
}
