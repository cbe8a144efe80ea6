package djangosession

import (
	"regexp"
	"testing"

	"github.com/djsession/djsession/internal/vectors"
)

func TestKeyVectors(t *testing.T) {
	generated := regexp.MustCompile(`^[a-z0-9]{32}$`)
	n := 0
	for _, c := range vectors.Load(t, "session_keys.json") {
		switch c.Op() {
		case "session_key_validation":
			in, _ := c.Lookup("cookie_value")
			cookie, _ := in.(string)
			want, _ := c.Lookup("resulting_session_key")
			if got := ValidKey(cookie); got != (want != nil) {
				t.Errorf("%v: ValidKey(%q) = %v, Django kept %v", c, cookie, got, want)
			}
			if want != nil {
				fileOK := !c.Has("file_backend_key_to_file", "error")
				if got := FileKeyValid(cookie); got != fileOK {
					t.Errorf("%v: FileKeyValid(%q) = %v, want %v", c, cookie, got, fileOK)
				}
			}
			n++
		case "generated_session_keys_sample":
			if !generated.MatchString(c.Str("example")) || !ValidKey(c.Str("example")) {
				t.Errorf("%v: Django's example key %q", c, c.Str("example"))
			}
			n++
		}
	}
	if n != 52 {
		t.Errorf("%d cases, want 52", n)
	}
}

func TestValidKeyCodePoints(t *testing.T) {
	// Python's len() counts code points: 7 two-byte characters are too short.
	if ValidKey("ééééééé") || !ValidKey("éééééééé") {
		t.Error("ValidKey counts bytes")
	}
}

func TestNewKey(t *testing.T) {
	generated := regexp.MustCompile(`^[a-z0-9]{32}$`)
	seen := map[string]bool{}
	var counts [256]int
	const n = 2000
	for i := 0; i < n; i++ {
		k, err := NewKey()
		if err != nil {
			t.Fatal(err)
		}
		if !generated.MatchString(k) || seen[k] {
			t.Fatalf("NewKey = %q (dup %v)", k, seen[k])
		}
		seen[k] = true
		for j := 0; j < len(k); j++ {
			counts[k[j]]++
		}
	}
	// Every character of the alphabet occurs, about n*32/36 ≈ 1778 times; a
	// biased draw (b % 36 over 256 values) would over-represent a..d by 14%.
	for _, ch := range []byte(ValidKeyChars) {
		if c := counts[ch]; c < 1590 || c > 1965 { // ±4.5σ
			t.Errorf("character %q drawn %d times", ch, c)
		}
	}
}
