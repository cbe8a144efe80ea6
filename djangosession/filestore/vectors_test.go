package filestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
)

func caseSettings(t *testing.T, c vectors.Case, dir string) *djangosession.Settings {
	raw := map[string]any{}
	d := c.Dict("settings")
	for i := 0; i < d.Len(); i++ {
		k, v := d.At(i)
		raw[k.(string)] = v
	}
	return settingsFor(t, raw, c.DjangoVersion(), dir)
}

// encodedA1 is the file content of {"a": 1} at the frozen clock (every
// version writes the same bytes).
const encodedA1 = "eyJhIjoxfQ:1r31eq:ZXh6VSCMron5SlsQOUu_WDdPdvUVWzotY3avEO8Ugyg"

func writeSession(t *testing.T, dir, name, content string, mtime int64) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	mt := time.Unix(mtime, 0)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func TestVectors(t *testing.T) {
	cases := vectors.Load(t, "file_sessions.json")
	if len(cases) < 70 {
		t.Fatalf("only %d cases", len(cases))
	}
	ran := 0
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			c := c.WithT(t)
			ctx := context.Background()
			dir := t.TempDir()
			s := caseSettings(t, c, dir)
			clk := newClock(frozen)
			st := newStore(t, s, clk)
			const key = "kzzdgonobduneijvq7nlj52a7ac7wo26"
			ran++
			switch op := c.Op(); op {
			case "save new session":
				key := c.Str("session_key")
				r := djangosession.Record{Key: key, Data: asDict(t, c.Value("session_dict"))}
				if err := st.Save(ctx, &r, true); err != nil {
					t.Fatal(err)
				}
				if got := listDir(t, dir); len(got) != 1 || got[0] != c.Str("expected_file_name") {
					t.Fatalf("files %v, want [%s]", got, c.Str("expected_file_name"))
				}
				for _, fv := range c.List("files") {
					f := fv.(*pyvalue.Dict)
					name, _ := f.Get("file_name")
					content, _ := f.Get("content")
					size, _ := f.Get("size")
					p := filepath.Join(dir, name.(string))
					b, err := os.ReadFile(p)
					if err != nil {
						t.Fatal(err)
					}
					if string(b) != content.(string) || int64(len(b)) != size.(int64) {
						t.Fatalf("%s = %q, want %q", name, b, content)
					}
					fi, _ := os.Stat(p)
					if mode, _ := f.Get("mode"); fi.Mode().Perm() != 0o600 || mode != "0o600" {
						t.Fatalf("mode %v, vector %v", fi.Mode().Perm(), mode)
					}
				}
			case "default SESSION_FILE_PATH":
				tmp := t.TempDir()
				t.Setenv("TMPDIR", tmp)
				s.SessionFilePath = ""
				st2, err := New(s)
				if err != nil {
					t.Fatal(err)
				}
				defer st2.Close()
				if st2.Dir() != tmp {
					t.Fatalf("Dir() = %q, want $TMPDIR %q", st2.Dir(), tmp)
				}
			case "load, mtime == now":
				k := c.Str("session_key_after")
				writeSession(t, dir, "sessionid"+k, encodedA1, frozen)
				r := djangosession.Record{Key: k}
				if err := st.Load(ctx, &r); err != nil {
					t.Fatal(err)
				}
				checkData(t, r.Data, c.Value("loaded"))
				if r.Key != k {
					t.Fatalf("key changed to %q", r.Key)
				}
			case "load, mtime = now - 1209599 s", "load, mtime = now - 1209600 s", "load, mtime = now - 1209601 s":
				clk.t = time.Unix(c.Int("now"), 0)
				writeSession(t, dir, "sessionid"+key, encodedA1, c.Int("mtime"))
				r := djangosession.Record{Key: key}
				if err := st.Load(ctx, &r); err != nil {
					t.Fatal(err)
				}
				checkData(t, r.Data, c.Value("loaded"))
				checkAfter(t, c, dir, key, r.Key)
				// Through a Session, as Django's SessionStore: the flag
				// "modified" follows create() on an expired file.
				for _, n := range listDir(t, dir) {
					os.Remove(filepath.Join(dir, n))
				}
				writeSession(t, dir, "sessionid"+key, encodedA1, c.Int("mtime"))
				m, err := djangosession.NewManager(st, s, djangosession.WithClock(clk.now))
				if err != nil {
					t.Fatal(err)
				}
				sess := m.Session(key)
				if _, err := sess.Data(ctx); err != nil {
					t.Fatal(err)
				}
				if sess.Modified() != c.Bool("modified") || (sess.Key() != key) != c.Bool("session_key_changed") {
					t.Fatalf("Session: modified %v key %q; vector modified %v", sess.Modified(), sess.Key(), c.Bool("modified"))
				}
			case "load with _session_expiry inside the file", "load with int _session_expiry=60, file 140 days old":
				now, mtime := int64(1700000000), int64(1700000000-140*86400)
				var stored any = int64(60)
				if c.Has("now") {
					now, mtime, stored = c.Int("now"), c.Int("mtime"), c.Value("stored__session_expiry")
				}
				clk.t = time.Unix(now, 0)
				content := encodeWith(t, st, dictOf("a", int64(1), "_session_expiry", stored))
				writeSession(t, dir, "sessionid"+key, content, mtime)
				r := djangosession.Record{Key: key}
				if err := st.Load(ctx, &r); err != nil {
					t.Fatal(err)
				}
				checkData(t, r.Data, c.Value("loaded"))
				if changed := r.Key != key; changed != c.Bool("session_key_changed") {
					t.Fatalf("key changed = %v, want %v", changed, !changed)
				}
				if r.Key != key {
					// The replacement holds encode({}); the old file is gone.
					got := listDir(t, dir)
					if len(got) != 1 || got[0] != "sessionid"+r.Key {
						t.Fatalf("files after %v", got)
					}
				}
			case "save(must_create=True) when the file exists":
				writeSession(t, dir, "sessionid"+key, encodedA1, frozen)
				r := djangosession.Record{Key: key, Data: dictOf("b", int64(2))}
				err := st.Save(ctx, &r, true)
				if !errors.Is(err, djangosession.ErrKeyExists) {
					t.Fatalf("err = %v, want ErrKeyExists (CreateError)", err)
				}
				if b, _ := os.ReadFile(filepath.Join(dir, "sessionid"+key)); string(b) != encodedA1 {
					t.Fatalf("file changed: %q", b)
				}
			case "save() when the file was deleted":
				r := djangosession.Record{Key: key, Data: dictOf("b", int64(2))}
				err := st.Save(ctx, &r, false)
				if !errors.Is(err, djangosession.ErrSessionInterrupted) {
					t.Fatalf("err = %v, want ErrSessionInterrupted (UpdateError)", err)
				}
				if got := listDir(t, dir); len(got) != 0 {
					t.Fatalf("files created: %v", got)
				}
			case "load of an empty file", "load of a file with garbage":
				k := c.Str("session_key_after")
				content := ""
				if strings.Contains(op, "garbage") {
					content = "this is not a session:at:all"
				}
				writeSession(t, dir, "sessionid"+k, content, frozen)
				r := djangosession.Record{Key: k}
				if err := st.Load(ctx, &r); err != nil {
					t.Fatal(err)
				}
				checkData(t, r.Data, c.Value("loaded"))
				if r.Key != k {
					t.Fatalf("key %q, want %q kept", r.Key, k)
				}
			case "load of a file with non-ASCII bytes":
				writeSession(t, dir, "sessionid"+key, "\xc3\xa9"+encodedA1, frozen)
				r := djangosession.Record{Key: key}
				err := st.Load(ctx, &r)
				if !errors.Is(err, ErrNotASCII) || errors.Is(err, djangosession.ErrNotFound) {
					t.Fatalf("err = %v, want ErrNotASCII (Django: %s)", err, c.Str("error"))
				}
				if !strings.Contains(err.Error(), "0xc3 at offset 0") {
					t.Fatalf("err = %v, want the byte and position as in %q", err, c.Str("message"))
				}
			case "load with a key containing characters outside [a-z0-9]":
				k := c.Str("session_key")
				r := djangosession.Record{Key: k}
				err := st.Load(ctx, &r)
				if !errors.Is(err, djangosession.ErrNotFound) || !errors.Is(err, djangosession.ErrInvalidKey) {
					t.Fatalf("err = %v, want ErrNotFound+ErrInvalidKey", err)
				}
				if _, ok := c.Lookup("session_key_after"); !ok {
					t.Fatal("vector lacks session_key_after")
				}
			case "clear_expired()":
				fresh, old := "fresh0000000000000000000000000aa", "old00000000000000000000000000aaa"
				writeSession(t, dir, "sessionid"+fresh, encodedA1, frozen-10)
				writeSession(t, dir, "sessionid"+old, encodedA1, frozen-1209600-10)
				writeSession(t, dir, "unrelated.txt", "hello", frozen-1209600*5)
				if err := st.ClearExpired(ctx); err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, v := range c.List("after") {
					n := strings.NewReplacer("<fresh>", fresh, "<old>", old).Replace(v.(string))
					want = append(want, n)
				}
				sort.Strings(want)
				if got := listDir(t, dir); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Fatalf("after clear_expired %v, want %v", got, want)
				}
			default:
				t.Fatalf("unhandled op %q", op)
			}
		})
	}
	if ran != len(cases) {
		t.Fatalf("ran %d of %d cases", ran, len(cases))
	}
}

func encodeWith(t *testing.T, st *Store, d *pyvalue.Dict) string {
	t.Helper()
	s, err := st.codec.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func checkData(t *testing.T, got *pyvalue.Dict, want any) {
	t.Helper()
	if got == nil {
		t.Fatal("nil data")
	}
	if !pyvalue.Equal(got, want) || strings.Join(keysOf(got), ",") != strings.Join(keysOf(want.(*pyvalue.Dict)), ",") {
		t.Fatalf("data %v, want %v", got, want)
	}
}

// checkAfter verifies files_after/contents_after and the key change of a
// load case.
func checkAfter(t *testing.T, c vectors.Case, dir, oldKey, newKey string) {
	t.Helper()
	changed := newKey != oldKey
	if changed != c.Bool("session_key_changed") {
		t.Fatalf("key changed = %v, want %v", changed, !changed)
	}
	files := c.List("files_after")
	contents := c.List("contents_after")
	got := listDir(t, dir)
	if len(got) != len(files) {
		t.Fatalf("files after %v, want %v", got, files)
	}
	for i, f := range files {
		name := strings.NewReplacer("<old_key>", oldKey, "<new_key>", newKey).Replace(f.(string))
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("want file %s: %v", name, err)
		}
		if string(b) != contents[i].(string) {
			t.Fatalf("%s = %q, want %q", name, b, contents[i])
		}
		fi, _ := os.Stat(filepath.Join(dir, name))
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
}
