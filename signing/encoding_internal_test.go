package signing

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzB64Plain: where the fast base64 path accepts a text, it decodes it
// exactly as the character-at-a-time decoder (checked against Django by
// the live and vector tests) does; it declines any text with a byte outside
// the two alphabets, and never writes before what it appends to.
func FuzzB64Plain(f *testing.F) {
	for _, s := range []string{"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy", "Zm9vYmFyYg", "-_+/",
		"Zm9vYmFyYmF6cXV4", "Zm9v=", "Zm9vYm\nFy", "Zm9vYmF?", "é"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, prefix int) {
		prefix &= 15
		pre := bytes.Repeat([]byte{0xaa}, prefix)
		got, ok := appendB64Plain(bytes.Clone(pre), s)
		valid := len(s)%4 != 1 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/") == ""
		if ok != valid {
			t.Fatalf("appendB64Plain(%q) ok = %v, want %v", s, ok, valid)
		}
		if !bytes.Equal(got[:prefix], pre) {
			t.Fatalf("appendB64Plain(%q) changed the prefix: %x", s, got[:prefix])
		}
		if !ok {
			if len(got) != prefix {
				t.Fatalf("appendB64Plain(%q) declined but appended %x", s, got[prefix:])
			}
			return
		}
		want, err := appendB64Lenient(bytes.Clone(pre), s)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("appendB64Plain(%q) = %x; lenient decoder %x, %v", s, got[prefix:], want[prefix:], err)
		}
	})
}
