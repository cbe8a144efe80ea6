package filestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/pyvalue"
)

// live is one shared session directory used by Go (this package) and real
// Django (the peer of one release, one process for the whole test).
type live struct {
	t   *testing.T
	ctx context.Context
	dir string
	st  *Store
	dj  *peer.Proc
}

// forVersions runs f as a subtest per Django release of the live peers.
func forVersions(t *testing.T, f func(t *testing.T, version string)) {
	for _, v := range peer.Versions() {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			f(t, v)
		})
	}
}

func newLive(t *testing.T, version string, cookieAge int64) *live {
	dir := t.TempDir()
	cfg := map[string]any{
		"TARGET_DJANGO_VERSION": version,
		"SECRET_KEY":            specSecret,
		"SESSION_ENGINE":        "django.contrib.sessions.backends.file",
		"SESSION_FILE_PATH":     dir,
		"SESSION_COOKIE_AGE":    cookieAge,
		"USE_TZ":                true,
	}
	s := settingsFor(t, cfg, version, dir)
	st, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	l := &live{t: t, ctx: context.Background(), dir: dir, st: st, dj: peer.DjangoAt(t, version).Start(t, cfg)}
	// Start Django now (it takes a while on a loaded machine), so that
	// timed steps measure only the calls.
	if ok, _ := l.djRead("warmup000000000000000000000000aa"); ok {
		t.Fatal("warm-up key exists")
	}
	return l
}

// goWrite creates a session as SessionBase.create() does.
func (l *live) goWrite(d *pyvalue.Dict) string {
	l.t.Helper()
	for {
		k, err := djangosession.NewKey()
		if err != nil {
			l.t.Fatal(err)
		}
		r := djangosession.Record{Key: k, Data: d}
		err = l.st.Save(l.ctx, &r, true)
		if errors.Is(err, djangosession.ErrKeyExists) {
			continue
		}
		if err != nil {
			l.t.Fatal(err)
		}
		return k
	}
}

func (l *live) goRead(key string) (*pyvalue.Dict, string, error) {
	r := djangosession.Record{Key: key}
	err := l.st.Load(l.ctx, &r)
	return r.Data, r.Key, err
}

func (l *live) djWrite(data map[string]any) string {
	l.t.Helper()
	return l.dj.Do(l.t, peer.Call{Sub: "write", Stdin: map[string]any{"data": data}}).OK(l.t).Str(l.t, "session_key")
}

// djRead returns exists and data as Django sees them.
func (l *live) djRead(key string) (bool, *pyvalue.Dict) {
	l.t.Helper()
	res := l.dj.Do(l.t, peer.Call{Sub: "read", Args: []string{key}}).OK(l.t)
	return res.Bool(l.t, "exists"), res.Dict(l.t, "data")
}

func TestLiveFileInterop(t *testing.T) { forVersions(t, liveFileInterop) }

func liveFileInterop(t *testing.T, version string) {
	l := newLive(t, version, 1209600)
	ctx := l.ctx

	// Go writes, Django reads.
	goData := dictOf("user", "ünïcødé \u2028", "n", int64(1)<<40, "f", 2.5, "list", []any{int64(1), "x", nil, true},
		"nested", dictOf("k", dictOf("deep", false)))
	gk := l.goWrite(goData)
	if ok, d := l.djRead(gk); !ok || !pyvalue.Equal(d, goData) {
		t.Fatalf("Django reads Go's session as %v (exists %v)", d, ok)
	}
	fi, err := os.Stat(filepath.Join(l.dir, "sessionid"+gk))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}

	// Django writes, Go reads.
	dk := l.djWrite(map[string]any{"from": "django", "n": 7})
	d, k, err := l.goRead(dk)
	if err != nil || k != dk || !pyvalue.Equal(d, dictOf("from", "django", "n", int64(7))) {
		t.Fatalf("Go reads Django's session: %v %q %v", d, k, err)
	}
	// Byte-identical content: Go re-encoding Django's data gives Django's
	// file exactly (same second, same payload).
	content, _ := os.ReadFile(filepath.Join(l.dir, "sessionid"+dk))
	if enc := encodeWith(t, l.st, d); enc[:strings.IndexByte(enc, ':')] != string(content[:strings.IndexByte(string(content), ':')]) {
		t.Fatalf("payload differs: Go %s, Django %s", enc, content)
	}

	// Django modifies Go's session; Go sees it.
	l.dj.Do(t, peer.Call{Sub: "modify", Args: []string{gk}, Stdin: map[string]any{"set": map[string]any{"by": "django"}, "delete": []string{"n"}}}).OK(t)
	d, _, err = l.goRead(gk)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := d.Get("by"); v != "django" || d.Has("n") {
		t.Fatalf("Go sees %v after Django's modify", d)
	}
	// Go modifies Django's session; Django sees it.
	d, _, _ = l.goRead(dk)
	d.Set("by", "go")
	r := djangosession.Record{Key: dk, Data: d}
	if err := l.st.Save(ctx, &r, false); err != nil {
		t.Fatal(err)
	}
	if ok, dd := l.djRead(dk); !ok || !pyvalue.Equal(dd, d) {
		t.Fatalf("Django sees %v after Go's modify", dd)
	}

	// Django cycles Go's key: the old file is gone for Go, the new one loads.
	nk := l.dj.Do(t, peer.Call{Sub: "cycle", Args: []string{gk}}).OK(t).Str(t, "session_key")
	if _, _, err := l.goRead(gk); !errors.Is(err, djangosession.ErrNotFound) {
		t.Fatalf("old key after Django's cycle: %v", err)
	}
	if d, _, err := l.goRead(nk); err != nil || !d.Has("by") {
		t.Fatalf("new key after Django's cycle: %v %v", d, err)
	}
	// Go cycles (create under a new key, delete the old): Django follows.
	d, _, _ = l.goRead(dk)
	gk2 := l.goWrite(d)
	if err := l.st.Delete(ctx, dk); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.djRead(dk); ok {
		t.Fatal("Django still reads the old key after Go's cycle")
	}
	if ok, dd := l.djRead(gk2); !ok || !pyvalue.Equal(dd, d) {
		t.Fatal("Django misses the new key after Go's cycle")
	}

	// Delete from either side.
	l.dj.Do(t, peer.Call{Sub: "delete", Args: []string{gk2}}).OK(t)
	if _, _, err := l.goRead(gk2); !errors.Is(err, djangosession.ErrNotFound) {
		t.Fatalf("after Django's delete: %v", err)
	}
	if err := l.st.Delete(ctx, nk); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.djRead(nk); ok {
		t.Fatal("Django reads a session Go deleted")
	}

	// An update of a session deleted by the other side is refused.
	k3 := l.djWrite(map[string]any{"a": 1})
	l.dj.Do(t, peer.Call{Sub: "delete", Args: []string{k3}}).OK(t)
	r = djangosession.Record{Key: k3, Data: dictOf("a", int64(2))}
	if err := l.st.Save(ctx, &r, false); !errors.Is(err, djangosession.ErrSessionInterrupted) {
		t.Fatalf("update after Django's delete: %v", err)
	}

	// Hostile keys are refused by both the same way.
	for _, k := range []string{"../../../etc/passwd", "ABCDEFGHIJKLMNOP", "abcdefgh_out_abcdefgh"} {
		if ok, _ := l.djRead(k); ok {
			t.Fatalf("Django reads %q", k)
		}
		if _, _, err := l.goRead(k); !errors.Is(err, djangosession.ErrNotFound) {
			t.Fatalf("Go reads %q: %v", k, err)
		}
	}

	// The integer _session_expiry quirk: never expires by mtime on either
	// side.
	k4 := l.goWrite(dictOf("_session_expiry", int64(60), "a", int64(1)))
	old := time.Now().Add(-140 * 24 * time.Hour)
	os.Chtimes(filepath.Join(l.dir, "sessionid"+k4), old, old)
	if ok, _ := l.djRead(k4); !ok {
		t.Fatal("Django expired an int-expiry session")
	}
	if _, k, err := l.goRead(k4); err != nil || k != k4 {
		t.Fatalf("Go expired an int-expiry session: %v", err)
	}

	// 4.1+ stores set_expiry(datetime) as an ISO string, which then rules
	// over the mtime: a future one keeps an old file alive, a past one
	// expires a fresh file (Django deletes it and starts a new session).
	if version < "4.1" {
		return
	}
	iso := func(d time.Duration) string { return time.Now().Add(d).UTC().Format("2006-01-02T15:04:05+00:00") }
	k5 := l.goWrite(dictOf("_session_expiry", iso(time.Hour), "a", int64(1)))
	os.Chtimes(filepath.Join(l.dir, "sessionid"+k5), old, old)
	if ok, _ := l.djRead(k5); !ok {
		t.Fatal("Django expired a session whose ISO expiry is ahead")
	}
	if _, k, err := l.goRead(k5); err != nil || k != k5 {
		t.Fatalf("Go expired a session whose ISO expiry is ahead: %v", err)
	}
	past := dictOf("_session_expiry", iso(-time.Minute), "a", int64(1))
	if ok, _ := l.djRead(l.goWrite(past)); ok {
		t.Fatal("Django reads a session whose ISO expiry is past")
	}
	if d, k, err := l.goRead(l.djWriteDict(past)); err != nil || d.Len() != 0 || k == "" {
		t.Fatalf("Go on Django's session whose ISO expiry is past: %v %q %v", d, k, err)
	}
}

// djWriteDict stores d as a Django file session through encode: write
// cannot set a raw _session_expiry.
func (l *live) djWriteDict(d *pyvalue.Dict) string {
	l.t.Helper()
	in, err := pyvalue.MarshalJSON(dictOf("data", d))
	if err != nil {
		l.t.Fatal(err)
	}
	enc := l.dj.Do(l.t, peer.Call{Sub: "encode", Stdin: in}).OK(l.t).Str(l.t, "session_data")
	k := l.goWrite(dictOf())
	if err := os.WriteFile(filepath.Join(l.dir, "sessionid"+k), []byte(enc), 0o600); err != nil {
		l.t.Fatal(err)
	}
	return k
}

// TestLiveFileExpiry uses SESSION_COOKIE_AGE=2 and real waiting: sessions
// written by either side expire for both at the same age, and clear-expired
// of either side removes the other's expired files only.
func TestLiveFileExpiry(t *testing.T) { forVersions(t, liveFileExpiry) }

func liveFileExpiry(t *testing.T, version string) {
	l := newLive(t, version, 2)
	gk := l.goWrite(dictOf("a", int64(1)))
	dk := l.djWrite(map[string]any{"b": 2})
	if ok, _ := l.djRead(gk); !ok {
		t.Fatal("fresh Go session expired for Django")
	}
	if _, k, err := l.goRead(dk); err != nil || k != dk {
		t.Fatalf("fresh Django session expired for Go: %v", err)
	}
	time.Sleep(2100 * time.Millisecond)
	// Django: expired -> deleted, a new file with encode({}) under a new key.
	if ok, _ := l.djRead(gk); ok {
		t.Fatal("Django still reads an expired Go session")
	}
	// Go: the same.
	d, nk, err := l.goRead(dk)
	if err != nil || nk == dk || d.Len() != 0 {
		t.Fatalf("Go on an expired Django session: key %q data %v err %v", nk, d, err)
	}
	// The replacement Go created is a valid empty session for Django.
	if ok, dd := l.djRead(nk); !ok || dd.Len() != 0 {
		t.Fatalf("Django on Go's replacement: %v %v", ok, dd)
	}
	for _, k := range []string{gk, dk} {
		if _, err := os.Lstat(filepath.Join(l.dir, "sessionid"+k)); !os.IsNotExist(err) {
			t.Fatalf("expired file %s still there", k)
		}
	}

	// clear-expired: old files written by both sides; fresh ones and
	// unrelated files stay. Ages are set with mtimes, no waiting.
	names := listDir(t, l.dir)
	for _, n := range names {
		os.Remove(filepath.Join(l.dir, n))
	}
	old := time.Now().Add(-time.Hour)
	var expired, fresh []string
	for i := 0; i < 3; i++ {
		for _, k := range []string{l.goWrite(dictOf("i", int64(i))), l.djWrite(map[string]any{"i": i})} {
			if i == 0 {
				// In the future, so that a slow run cannot age them.
				fresh = append(fresh, k)
				future := time.Now().Add(time.Hour)
				os.Chtimes(filepath.Join(l.dir, "sessionid"+k), future, future)
			} else {
				expired = append(expired, k)
				os.Chtimes(filepath.Join(l.dir, "sessionid"+k), old, old)
			}
		}
	}
	os.WriteFile(filepath.Join(l.dir, "unrelated.txt"), nil, 0o600)
	os.WriteFile(filepath.Join(l.dir, "sessionidnot_a_key"), []byte("x"), 0o600)
	os.Chtimes(filepath.Join(l.dir, "sessionidnot_a_key"), old, old)
	check := func(who string) {
		t.Helper()
		for _, k := range expired {
			if _, err := os.Lstat(filepath.Join(l.dir, "sessionid"+k)); !os.IsNotExist(err) {
				t.Fatalf("%s's clear-expired kept %s", who, k)
			}
		}
		for _, n := range append([]string{"unrelated.txt", "sessionidnot_a_key"}, fresh...) {
			if !strings.HasPrefix(n, "unrelated") && !strings.HasPrefix(n, "sessionid") {
				n = "sessionid" + n
			}
			if _, err := os.Lstat(filepath.Join(l.dir, n)); err != nil {
				t.Fatalf("%s's clear-expired removed %s", who, n)
			}
		}
		if got := len(listDir(t, l.dir)); got != len(fresh)+2 {
			t.Fatalf("%s's clear-expired left %d files: %v", who, got, listDir(t, l.dir))
		}
	}
	l.dj.Do(t, peer.Call{Sub: "clear-expired"}).OK(t)
	check("Django")
	// Again, the other way round.
	for _, k := range expired {
		os.WriteFile(filepath.Join(l.dir, "sessionid"+k), []byte(encodedA1), 0o600)
		os.Chtimes(filepath.Join(l.dir, "sessionid"+k), old, old)
	}
	if err := l.st.ClearExpired(l.ctx); err != nil {
		t.Fatal(err)
	}
	check("Go")
}

// TestLiveDecodeRaises: verified data that is not a payload makes Django
// 3.2's decode raise (its pre-3.1 retry fails in base64), and its file load
// lets that escape; Go's Load reports a DecodeError the same way. Later
// releases have no such retry and turn it into an empty session, as Go
// does for them.
func TestLiveDecodeRaises(t *testing.T) { forVersions(t, liveDecodeRaises) }

func liveDecodeRaises(t *testing.T, version string) {
	l := newLive(t, version, 1209600)
	signer, err := l.st.settings.NewSigner("django.contrib.sessions.SessionStore")
	if err != nil {
		t.Fatal(err)
	}
	for _, payload := range []string{"e30x", "bm90IGpzb24"} { // b64 of bytes that are not JSON
		tok := signer.Sign(payload)
		key := l.goWrite(dictOf())
		if err := os.WriteFile(filepath.Join(l.dir, "sessionid"+key), []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		res := l.dj.Do(t, peer.Call{Sub: "read", Args: []string{key}})
		_, _, gerr := l.goRead(key)
		var de *djangosession.DecodeError
		goRaises := errors.As(gerr, &de) && de.Raises
		if djRaises := res.RC != peer.ExitOK; djRaises != goRaises {
			t.Fatalf("payload %q: Django raises=%v (%s), Go err %v", payload, djRaises, res, gerr)
		}
		if gerr != nil && !goRaises {
			t.Fatalf("payload %q: Go err %v", payload, gerr)
		}
		t.Logf("payload %q: raises=%v", payload, goRaises)
	}
}
