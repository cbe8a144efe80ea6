package filestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/djsession/djsession/djangosession"
)

// FuzzValidKey: whatever the key, an accepted one is a plain file name of
// [a-z0-9] inside the directory, and the store never touches anything else.
func FuzzValidKey(f *testing.F) {
	for _, k := range []string{"abcdefgh", "../etc/passwd", "ABCDEFGH", "a\x00bcdefgh", "abcdefgh_out_x", ""} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if !ValidKey("sessionid", key) {
			return
		}
		if filepath.Base("sessionid"+key) != "sessionid"+key || len(key) < 8 {
			t.Fatalf("accepted %q", key)
		}
		for _, c := range key {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
				t.Fatalf("accepted %q", key)
			}
		}
	})
}

// FuzzLoad: any file content gives data, ErrNotASCII or an expiry error,
// never a panic.
func FuzzLoad(f *testing.F) {
	for _, c := range []string{"", encodedA1, "e30:1r31eq:L3BVewXOb6mkBffNtcwVPpVh0Nphg32akBo3eci12UY", "\xc3\xa9", ".eJx:1:2", "garbage"} {
		f.Add([]byte(c))
	}
	dir := f.TempDir()
	st, err := New(basicSettings(f, "5.2", dir), WithClock(newClock(frozen).now))
	if err != nil {
		f.Fatal(err)
	}
	const key = "fuzz0000000000000000000000000000"
	f.Fuzz(func(t *testing.T, content []byte) {
		if err := os.WriteFile(filepath.Join(dir, "sessionid"+key), content, 0o600); err != nil {
			t.Fatal(err)
		}
		r := djangosession.Record{Key: key}
		err := st.Load(context.Background(), &r)
		switch {
		case err == nil:
			if r.Data == nil {
				t.Fatal("nil data without error")
			}
		case errors.Is(err, ErrNotASCII), errors.Is(err, djangosession.ErrInvalidExpiry):
		default:
			t.Fatalf("unexpected error %v", err)
		}
		if r.Key != key {
			// An expired session was replaced: clean up the new file.
			os.Remove(filepath.Join(dir, "sessionid"+r.Key))
		}
	})
}
