package cookiestore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/pyvalue"
	"github.com/djsession/djsession/signing"
)

func basic(t testing.TB, version string, extra map[string]any) *djangosession.Settings {
	m := map[string]any{"SECRET_KEY": specSecret, "SESSION_COOKIE_AGE": 1209600}
	for k, v := range extra {
		m[k] = v
	}
	return settingsFrom(t, m, version+".0")
}

func TestBadCookies(t *testing.T) {
	ctx := context.Background()
	clk := &clock{time.Unix(frozen, 0)}
	st := newStore(t, basic(t, "5.2", nil), clk)
	good, err := st.Encode(dictOf("a", int64(1), "blob", strings.Repeat("xyz", 100)))
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for i := 0; i < len(good); i++ {
		bad = append(bad, good[:i]) // every truncation, "" included
	}
	for i := 0; i < len(good); i++ {
		b := []byte(good)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		bad = append(bad, string(b)) // every one-character change
	}
	bad = append(bad, good+"A", good+":", ":"+good, "a:b:c", "::", strings.Repeat(":", 50),
		".", ".:1r31eq:x", "\x00", "é", strings.Repeat("A", 100000))
	for _, v := range bad {
		r := djangosession.Record{Key: v}
		err := st.Load(ctx, &r)
		if !errors.Is(err, djangosession.ErrNotFound) {
			t.Fatalf("Load(%.60q) = %v, want ErrNotFound", v, err)
		}
		if r.Key != v {
			t.Fatalf("key changed")
		}
	}
	r := djangosession.Record{Key: good}
	if err := st.Load(ctx, &r); err != nil {
		t.Fatal(err)
	}
}

func TestNotADict(t *testing.T) {
	ctx := context.Background()
	clk := &clock{time.Unix(frozen, 0)}
	st := newStore(t, basic(t, "5.2", nil), clk)
	for _, v := range []any{[]any{int64(1)}, "text", int64(3), nil} {
		tok, err := signing.Dumps(v, signing.WithKey(specSecret), signing.WithSalt(Salt), signing.WithCompress(true),
			signing.WithNow(clk.now))
		if err != nil {
			t.Fatal(err)
		}
		r := djangosession.Record{Key: tok}
		if err := st.Load(ctx, &r); !errors.Is(err, djangosession.ErrNotFound) || !errors.Is(err, ErrNotDict) {
			t.Fatalf("Load(%v) = %v, want ErrNotFound+ErrNotDict", v, err)
		}
	}
}

// TestSHA1 checks Django 3.2's transition rules: a 3.2 target accepts a
// SHA-1 signed cookie (and signs with SHA-1 under
// DEFAULT_HASHING_ALGORITHM="sha1"); 4.0+ rejects it.
func TestSHA1(t *testing.T) {
	ctx := context.Background()
	clk := &clock{time.Unix(frozen, 0)}
	sha1Tok, err := signing.Dumps(dictOf("a", int64(1)), signing.WithKey(specSecret), signing.WithSalt(Salt),
		signing.WithCompress(true), signing.WithAlgorithm("sha1"), signing.WithNow(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	st32 := newStore(t, basic(t, "3.2", nil), clk)
	r := djangosession.Record{Key: sha1Tok}
	if err := st32.Load(ctx, &r); err != nil {
		t.Fatalf("3.2 rejects a SHA-1 cookie: %v", err)
	}
	st42 := newStore(t, basic(t, "4.2", nil), clk)
	r = djangosession.Record{Key: sha1Tok}
	if err := st42.Load(ctx, &r); !errors.Is(err, djangosession.ErrNotFound) {
		t.Fatalf("4.2 accepts a SHA-1 cookie: %v", err)
	}
	st32sha1 := newStore(t, basic(t, "3.2", map[string]any{"DEFAULT_HASHING_ALGORITHM": "sha1"}), clk)
	got, err := st32sha1.Encode(dictOf("a", int64(1)))
	if err != nil {
		t.Fatal(err)
	}
	if got != sha1Tok {
		t.Fatalf("3.2 sha1 mode wrote %s, want %s", got, sha1Tok)
	}
}

// TestFallbackKeys: a cookie signed with a SECRET_KEY_FALLBACKS key loads on
// 4.1+ targets, and not on 3.2 (which ignores the setting); re-saving signs
// with SECRET_KEY.
func TestFallbackKeys(t *testing.T) {
	ctx := context.Background()
	clk := &clock{time.Unix(frozen, 0)}
	old, err := New(basic(t, "5.2", map[string]any{"SECRET_KEY": oldSecret}), WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := old.Encode(dictOf("a", int64(1)))
	if err != nil {
		t.Fatal(err)
	}
	// The vectors' value for this case.
	if tok != "eyJhIjoxfQ:1r31eq:vgAuFLFJ1HNXQ6c951wax1HmEJkCc5M0jbnPfpdobH0" {
		t.Fatalf("old-key cookie %s", tok)
	}
	fb := map[string]any{"SECRET_KEY_FALLBACKS": []string{"unrelated", oldSecret}}
	for _, v := range []string{"4.2", "5.2", "6.0"} {
		st := newStore(t, basic(t, v, fb), clk)
		r := djangosession.Record{Key: tok}
		if err := st.Load(ctx, &r); err != nil {
			t.Fatalf("%s: fallback key not accepted: %v", v, err)
		}
		if err := st.Save(ctx, &r, false); err != nil {
			t.Fatal(err)
		}
		if r.Key != "eyJhIjoxfQ:1r31eq:VplhdrUFi_Fm_9wAMUYIHMZLeCyz4tNA7t1-6ly1DeY" {
			t.Fatalf("%s: re-save not signed with SECRET_KEY: %s", v, r.Key)
		}
	}
	st := newStore(t, basic(t, "3.2", fb), clk)
	r := djangosession.Record{Key: tok}
	if err := st.Load(ctx, &r); !errors.Is(err, djangosession.ErrNotFound) {
		t.Fatalf("3.2 accepted a fallback-key cookie: %v", err)
	}
}

// TestExpiryNotEnforced: _session_expiry inside the cookie does not limit
// validity (Django quirk); SESSION_COOKIE_AGE does, to the second.
func TestExpiryNotEnforced(t *testing.T) {
	ctx := context.Background()
	clk := &clock{time.Unix(frozen, 0)}
	st := newStore(t, basic(t, "5.2", map[string]any{"SESSION_COOKIE_AGE": 100}), clk)
	tok, err := st.Encode(dictOf("_session_expiry", "2000-01-01T00:00:00+00:00", "n", int64(1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at time.Time
		ok bool
	}{
		{time.Unix(frozen+100, 0), true},
		{time.Unix(frozen+100, 999_999_999), false}, // time.time() - ts > max_age
		{time.Unix(frozen+101, 0), false},
		{time.Unix(frozen-50, 0), true}, // a timestamp in the future passes, as in Django
	} {
		clk.t = c.at
		r := djangosession.Record{Key: tok}
		err := st.Load(ctx, &r)
		if (err == nil) != c.ok {
			t.Fatalf("at %v: %v, want ok=%v", c.at, err, c.ok)
		}
	}
}

func TestStoreContract(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, basic(t, "5.2", nil), &clock{time.Unix(frozen, 0)})
	if !st.KeyFromData() {
		t.Fatal("KeyFromData false")
	}
	r := djangosession.Record{Key: "whatever", Data: nil}
	if err := st.Save(ctx, &r, true); err != nil || r.Key != "e30:1r31eq:SvhpCalRDw0QXjcnCMWw5LH-nAsdXCkveVWF3B1wMvk" {
		t.Fatalf("Save(nil data) = %q, %v", r.Key, err)
	}
	if err := st.ClearExpired(ctx); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := st.Load(cctx, &r); !errors.Is(err, context.Canceled) {
		t.Fatalf("Load with a cancelled context: %v", err)
	}
	// A 100 KB session encodes like any other (the size check is separate).
	big := dictOf("blob", randomText(100_000))
	r = djangosession.Record{Data: big}
	if err := st.Save(ctx, &r, false); err != nil {
		t.Fatal(err)
	}
	if len(r.Key) < 100_000 {
		t.Fatalf("cookie of %d bytes", len(r.Key))
	}
	r2 := djangosession.Record{Key: r.Key}
	if err := st.Load(ctx, &r2); err != nil || !pyvalue.Equal(r2.Data, big) {
		t.Fatalf("big cookie: %v", err)
	}
}

// randomText is incompressible-ish ASCII.
func randomText(n int) string {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte('!' + x%90)
	}
	return string(b)
}

func TestCheckSize(t *testing.T) {
	attrs := []string{"expires=Tue, 28 Nov 2023 22:13:20 GMT", "HttpOnly", "Max-Age=1209600", "Path=/", "SameSite=Lax"}
	fixed := len("sessionid") + 1
	for _, a := range attrs {
		fixed += 2 + len(a)
	}
	fits := strings.Repeat("v", MaxCookieSize-fixed)
	if err := CheckSize("sessionid", fits, attrs...); err != nil {
		t.Fatalf("exactly %d bytes refused: %v", MaxCookieSize, err)
	}
	err := CheckSize("sessionid", fits+"v", attrs...)
	var tl *CookieTooLargeError
	if !errors.Is(err, ErrCookieTooLarge) || !errors.As(err, &tl) || tl.Size != MaxCookieSize+1 || tl.Name != "sessionid" {
		t.Fatalf("CheckSize over the limit = %v", err)
	}
	if !strings.Contains(err.Error(), "4097 bytes") {
		t.Fatalf("message %q", err)
	}
	// A real 100 KB session cookie is flagged.
	st := newStore(t, basic(t, "5.2", nil), &clock{time.Unix(frozen, 0)})
	v, err := st.Encode(dictOf("blob", randomText(5000)))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSize("sessionid", v, attrs...); !errors.Is(err, ErrCookieTooLarge) {
		t.Fatalf("%d-byte cookie passed", len(v))
	}
}
