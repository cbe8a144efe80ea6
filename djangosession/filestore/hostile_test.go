package filestore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/djsession/djsession/djangosession"
)

// sandbox is a session directory next to an "outside" directory holding a
// canary file; check verifies nothing outside was read-modified or created.
type sandbox struct {
	root, dir, outside, canary string
	canaryInfo                 os.FileInfo
}

func newSandbox(t *testing.T) *sandbox {
	root := t.TempDir()
	sb := &sandbox{root: root, dir: filepath.Join(root, "sessions"), outside: filepath.Join(root, "outside")}
	for _, d := range []string{sb.dir, sb.outside} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	sb.canary = filepath.Join(sb.outside, "canary")
	if err := os.WriteFile(sb.canary, []byte(encodedA1), 0o600); err != nil {
		t.Fatal(err)
	}
	// An access-time marker: reading the canary would be visible if atime
	// were updated, but relatime makes that unreliable; content, size,
	// mtime and the set of files are what we check.
	fi, err := os.Stat(sb.canary)
	if err != nil {
		t.Fatal(err)
	}
	sb.canaryInfo = fi
	return sb
}

func (sb *sandbox) check(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(sb.canary)
	if err != nil || string(b) != encodedA1 {
		t.Fatalf("canary changed: %q, %v", b, err)
	}
	fi, _ := os.Stat(sb.canary)
	if !fi.ModTime().Equal(sb.canaryInfo.ModTime()) || fi.Mode() != sb.canaryInfo.Mode() {
		t.Fatal("canary metadata changed")
	}
	es, _ := os.ReadDir(sb.outside)
	if len(es) != 1 {
		t.Fatalf("files appeared outside: %v", es)
	}
	es, _ = os.ReadDir(sb.root)
	if len(es) != 2 {
		t.Fatalf("files appeared next to the session dir: %v", es)
	}
}

func TestHostileKeys(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t)
	s := basicSettings(t, "5.2", sb.dir)
	st := newStore(t, s, newClock(frozen))
	keys := []string{
		"../etc/passwd",
		"../outside/canary",
		"../../../../../../etc/passwd",
		"/etc/passwd",
		sb.canary,
		"abcdefgh/../../outside/canary",
		"abcdefgh\x00ijklmnop",
		"\x00",
		"ABCDEFGHIJKLMNOP",
		"abcdefghijklmnoP",
		"abcdefgh_out_xyz",
		"abcdefgh.ijklmno",
		"abcdefgh-ijklmno",
		"abcdefgh ijklmno",
		"abcdéfghijklmnop",
		"abc", // shorter than Django's 8-character minimum
		"",
		strings.Repeat("a", 256),
		strings.Repeat("a", 255-len("sessionid")+1),
		"..",
		".",
	}
	for _, k := range keys {
		r := djangosession.Record{Key: k}
		if err := st.Load(ctx, &r); !errors.Is(err, djangosession.ErrNotFound) || !errors.Is(err, djangosession.ErrInvalidKey) {
			t.Errorf("Load(%q) = %v, want ErrNotFound+ErrInvalidKey", k, err)
		}
		for _, mc := range []bool{true, false} {
			r := djangosession.Record{Key: k, Data: dictOf("x", int64(1))}
			if err := st.Save(ctx, &r, mc); !errors.Is(err, djangosession.ErrInvalidKey) {
				t.Errorf("Save(%q, %v) = %v, want ErrInvalidKey", k, mc, err)
			}
		}
		if err := st.Delete(ctx, k); !errors.Is(err, djangosession.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", k, err)
		}
		if ok, err := st.Exists(ctx, k); ok || !errors.Is(err, djangosession.ErrInvalidKey) {
			t.Errorf("Exists(%q) = %v, %v, want ErrInvalidKey", k, ok, err)
		}
	}
	if got := listDir(t, sb.dir); len(got) != 0 {
		t.Fatalf("session dir touched: %v", got)
	}
	sb.check(t)
	// The longest savable key leaves room for the "_out_XXXXXXXX" temp
	// name; one more character is refused before the placeholder is made
	// (Django would leave an empty placeholder and lose the write).
	long := strings.Repeat("a", 255-len("sessionid")-13)
	r := djangosession.Record{Key: long, Data: dictOf("x", int64(1))}
	if err := st.Save(ctx, &r, true); err != nil {
		t.Fatalf("longest legal key: %v", err)
	}
	r = djangosession.Record{Key: long + "a", Data: dictOf("x", int64(1))}
	if err := st.Save(ctx, &r, true); !errors.Is(err, djangosession.ErrInvalidKey) {
		t.Fatalf("too long for a temp name: %v", err)
	}
	if got := listDir(t, sb.dir); len(got) != 1 {
		t.Fatalf("files %v", got)
	}
	// Loading a key up to NAME_MAX is allowed (a missing file).
	r = djangosession.Record{Key: long + "a"}
	if err := st.Load(ctx, &r); !errors.Is(err, djangosession.ErrNotFound) || errors.Is(err, djangosession.ErrInvalidKey) {
		t.Fatalf("load of a long key: %v", err)
	}
}

func TestPlantedSymlinks(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t)
	s := basicSettings(t, "5.2", sb.dir)
	st := newStore(t, s, newClock(frozen))
	const key = "symlink0000000000000000000000000"
	link := filepath.Join(sb.dir, "sessionid"+key)
	for _, target := range []string{sb.canary, "../outside/canary", filepath.Join(sb.outside, "missing")} {
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		r := djangosession.Record{Key: key}
		err := st.Load(ctx, &r)
		if !errors.Is(err, djangosession.ErrNotFound) || !errors.Is(err, ErrNotRegular) {
			t.Fatalf("Load through symlink to %s = %v (data %v), want ErrNotFound+ErrNotRegular", target, err, r.Data)
		}
		r = djangosession.Record{Key: key, Data: dictOf("pwned", true)}
		if err := st.Save(ctx, &r, false); err == nil || !errors.Is(err, ErrNotRegular) {
			t.Fatalf("update through symlink = %v, want ErrNotRegular", err)
		}
		if err := st.Save(ctx, &r, true); !errors.Is(err, djangosession.ErrKeyExists) {
			t.Fatalf("create over symlink = %v, want ErrKeyExists", err)
		}
		if ok, err := st.Exists(ctx, key); !ok || err != nil {
			t.Fatalf("Exists = %v, %v: a planted entry must count as taken", ok, err)
		}
		sb.check(t)
		if _, err := os.Stat(filepath.Join(sb.outside, "missing")); !os.IsNotExist(err) {
			t.Fatal("dangling symlink target was created")
		}
	}
	// Delete removes the link itself, never its target.
	if err := st.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Fatal("symlink not removed")
	}
	sb.check(t)

	// An expired-looking symlink in clear_expired is skipped, not followed.
	if err := os.Symlink(sb.canary, link); err != nil {
		t.Fatal(err)
	}
	if err := st.ClearExpired(ctx); err != nil {
		t.Fatal(err)
	}
	sb.check(t)

	// A symlinked session directory entry for temp names: mkstemp-style
	// creation never follows a pre-planted name either (O_EXCL|O_NOFOLLOW).
	os.Remove(link)
	r := djangosession.Record{Key: key, Data: dictOf("a", int64(1))}
	if err := st.Save(ctx, &r, true); err != nil {
		t.Fatal(err)
	}
	sb.check(t)
}

func TestNonRegularEntries(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t)
	s := basicSettings(t, "5.2", sb.dir)
	st := newStore(t, s, newClock(frozen))
	const dkey, fkey = "directory000000000000000000000000", "fifo0000000000000000000000000000"
	if err := os.Mkdir(filepath.Join(sb.dir, "sessionid"+dkey), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(sb.dir, "sessionid"+fkey), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{dkey, fkey} {
		// Must not block on the FIFO, must not read the directory.
		r := djangosession.Record{Key: k}
		if err := st.Load(ctx, &r); !errors.Is(err, djangosession.ErrNotFound) || !errors.Is(err, ErrNotRegular) {
			t.Fatalf("Load(%s) = %v", k, err)
		}
		r = djangosession.Record{Key: k, Data: dictOf("a", int64(1))}
		if err := st.Save(ctx, &r, false); !errors.Is(err, ErrNotRegular) {
			t.Fatalf("Save(%s) = %v, want ErrNotRegular", k, err)
		}
		if err := st.Save(ctx, &r, true); !errors.Is(err, djangosession.ErrKeyExists) {
			t.Fatalf("Save create (%s) = %v, want ErrKeyExists", k, err)
		}
	}
	// Delete leaves a directory alone (unlink, not rmdir), as Django does.
	if err := st.Delete(ctx, dkey); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(sb.dir, "sessionid"+dkey)); err != nil || !fi.IsDir() {
		t.Fatal("directory removed")
	}
	if err := st.ClearExpired(ctx); err != nil {
		t.Fatal(err)
	}
	// No temp files left behind by the refused saves.
	for _, n := range listDir(t, sb.dir) {
		if strings.Contains(n, "_out_") {
			t.Fatalf("temp file left: %s", n)
		}
	}
	sb.check(t)
}

func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	s := basicSettings(t, "5.2", filepath.Join(dir, "missing"))
	if _, err := New(s); err == nil {
		t.Fatal("New with a missing directory succeeded")
	}
	for _, name := range []string{"../x", "a/b", "a\x00b", strings.Repeat("n", 250)} {
		s := basicSettings(t, "5.2", dir)
		s.SessionCookieName = name
		if _, err := New(s); err == nil {
			t.Fatalf("cookie name %q accepted as a file prefix", name)
		}
	}
}

// TestReplacedDirectory: Django works with the SESSION_FILE_PATH path, so
// a directory rotated away and recreated is followed; a missing one is an
// outage, not "no session".
func TestReplacedDirectory(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, "sessions")
	os.Mkdir(dir, 0o700)
	st := newStore(t, basicSettings(t, "5.2", dir), newClock(frozen))
	const key = "rotate00000000000000000000000000"
	r := djangosession.Record{Key: key, Data: dictOf("a", int64(1))}
	if err := st.Save(ctx, &r, true); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := st.Load(ctx, &djangosession.Record{Key: key}); !errors.Is(err, djangosession.ErrUnavailable) {
		t.Fatalf("Load with the directory gone: %v", err)
	}
	if err := st.Save(ctx, &r, true); !errors.Is(err, djangosession.ErrUnavailable) {
		t.Fatalf("Save with the directory gone: %v", err)
	}
	os.Mkdir(dir, 0o700)
	if err := st.Load(ctx, &djangosession.Record{Key: key}); !errors.Is(err, djangosession.ErrNotFound) {
		t.Fatalf("Load in the new, empty directory: %v", err)
	}
	if err := st.Save(ctx, &r, true); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); len(got) != 1 || got[0] != "sessionid"+key {
		t.Fatalf("new directory holds %v", got)
	}
}

// TestFirstNonASCII checks the word-at-a-time scan against a byte loop for
// a high byte at every offset of inputs around the word size, and none.
func TestFirstNonASCII(t *testing.T) {
	for n := 0; n <= 40; n++ {
		for at := -1; at < n; at++ {
			b := bytes.Repeat([]byte{'a'}, n)
			if at >= 0 {
				b[at] = 0x80 | byte(at)
				if at+3 < n {
					b[at+3] = 0xff // a later one must not be reported
				}
			}
			if got := firstNonASCII(b); got != at {
				t.Fatalf("len %d, high byte at %d: got %d", n, at, got)
			}
		}
	}
}
