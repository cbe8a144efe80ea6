package cachestore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/testenv"
	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pickle_compat"
	"github.com/djsession/djsession/pyvalue"
)

func testSettings(t *testing.T, caches map[string]any, extra map[string]any) *djangosession.Settings {
	t.Helper()
	cfg := map[string]any{"SECRET_KEY": "cache-test", "SESSION_ENGINE": djangosession.EngineCache, "CACHES": caches}
	for k, v := range extra {
		cfg[k] = v
	}
	b, err := jsonMarshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := djangosession.LoadSettings(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newStore(t *testing.T, s *djangosession.Settings, opts ...Option) *Store {
	t.Helper()
	st, err := New(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func sessionDict(kv ...any) *pyvalue.Dict {
	d := pyvalue.NewDict(len(kv) / 2)
	for i := 0; i+1 < len(kv); i += 2 {
		d.Set(kv[i], kv[i+1])
	}
	return d
}

// TestMemcachedStoreLive runs the engine against a real memcached for both
// client flavors: raw bytes, flags and TTL on the server, the save rules
// (add, update-after-vanish, create collision), odd keys, timeouts.
func TestMemcachedStoreLive(t *testing.T) {
	addr := testenv.Memcached(t)
	ctx := context.Background()
	for _, backend := range []string{BackendPyMemcache, BackendPyLibMC} {
		t.Run(backend[strings.LastIndex(backend, ".")+1:], func(t *testing.T) {
			s := testSettings(t, map[string]any{"sess": map[string]any{"BACKEND": backend, "LOCATION": addr, "KEY_PREFIX": "speca", "VERSION": 7}},
				map[string]any{"SESSION_CACHE_ALIAS": "sess"})
			st := newStore(t, s)
			m, err := djangosession.NewManager(st, s)
			if err != nil {
				t.Fatal(err)
			}
			sess := m.Session("")
			if err := sess.Set(ctx, "x", int64(1)); err != nil {
				t.Fatal(err)
			}
			if err := sess.SetExpiry(ctx, int64(300)); err != nil {
				t.Fatal(err)
			}
			if err := sess.Save(ctx); err != nil {
				t.Fatal(err)
			}
			key := sess.Key()
			stored := "speca:7:django.contrib.sessions.cache" + key
			v, flags, ttl, ok := testenv.MemcachedMetaGet(t, addr, stored)
			if !ok {
				t.Fatalf("nothing stored under %q", stored)
			}
			// DJANGO_FORMATS §4.3's bytes for {"x":1,"_session_expiry":300}.
			if got := fmt.Sprintf("%x", v); got != "80059520000000000000007d94288c0178944b018c0f5f73657373696f6e5f657870697279944d2c01752e" {
				t.Errorf("stored %s", got)
			}
			if flags != 1 || ttl < 298 || ttl > 300 {
				t.Errorf("flags %d ttl %d", flags, ttl)
			}
			// Another session reads it back.
			other := m.Session(key)
			if x, _, err := other.Get(ctx, "x"); err != nil || x != int64(1) {
				t.Fatalf("reload: %v %v", x, err)
			}
			// must_create on a taken key.
			err = st.Save(ctx, &djangosession.Record{Key: key, Data: sessionDict(), ExpiryAge: 10}, true)
			if !errors.Is(err, djangosession.ErrKeyExists) {
				t.Fatalf("add on taken key: %v", err)
			}
			// Update after the entry vanished.
			if err := st.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			other.Set(ctx, "y", int64(2))
			if err := other.Save(ctx); !errors.Is(err, djangosession.ErrSessionInterrupted) {
				t.Fatalf("update after delete: %v", err)
			}
			if _, _, _, ok := testenv.MemcachedMetaGet(t, addr, stored); ok {
				t.Fatal("update resurrected the session")
			}
			// Odd cookie values are misses, never errors.
			for _, odd := range []string{"has space in it", strings.Repeat("a", 300)} {
				r := &djangosession.Record{Key: odd}
				if err := st.Load(ctx, r); !errors.Is(err, djangosession.ErrNotFound) {
					t.Errorf("load %.20q: %v", odd, err)
				}
				if ok, err := st.Exists(ctx, odd); ok || err != nil {
					t.Errorf("exists %.20q: %v %v", odd, ok, err)
				}
			}
			// Timeouts: > 30 days is absolute, 0 and negative expire at once.
			for _, tc := range []struct {
				age    int64
				stored bool
			}{{3456000, true}, {2592000, true}, {0, false}, {-5, false}} {
				k := "ttl" + strconv.FormatInt(tc.age, 10) + "abcdefgh" + strconv.Itoa(len(backend))
				if err := st.Save(ctx, &djangosession.Record{Key: k, Data: sessionDict("a", int64(1)), ExpiryAge: tc.age}, true); err != nil {
					t.Fatal(err)
				}
				_, _, ttl, ok := testenv.MemcachedMetaGet(t, addr, "speca:7:django.contrib.sessions.cache"+k)
				// memcached keeps its own coarse clock: an absolute time may read
				// back a second long.
				if ok != tc.stored || (ok && (ttl > tc.age+1 || ttl < tc.age-3)) {
					t.Errorf("age %d: stored %v ttl %d", tc.age, ok, ttl)
				}
			}
			if err := st.ClearExpired(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMemcachedReadsForeignFlags stores items the way other clients may
// (zlib-compressed pickles, raw) and checks what the engine makes of them.
func TestMemcachedReadsForeignFlags(t *testing.T) {
	addr := testenv.Memcached(t)
	ctx := context.Background()
	m, err := NewMemcached(MemcachedConfig{Flavor: FlavorPyLibMC, Servers: []string{addr}, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st := newStore(t, nil, WithCache(m))
	d := sessionDict("big", strings.Repeat("z", 5000))
	p, _ := pickle_compat.Dumps(d, 5)
	var z strings.Builder
	zw := zlibWriter(&z)
	zw.Write(p)
	zw.Close()
	if ok, err := m.StoreItem(ctx, "set", Item{Key: m.MakeKey(KeyPrefix + "compressed1"), Value: []byte(z.String()), Flags: FlagPickle | FlagCompressed}, 60); !ok || err != nil {
		t.Fatal(ok, err)
	}
	r := &djangosession.Record{Key: "compressed1"}
	if err := st.Load(ctx, r); err != nil || !pyvalue.Equal(r.Data, d) {
		t.Fatalf("compressed: %v %v", r.Data, err)
	}
	// Not a dict, and garbage: misses with a LoadError.
	m.StoreItem(ctx, "set", Item{Key: m.MakeKey(KeyPrefix + "notadict"), Value: []byte("5"), Flags: FlagLong}, 60)
	m.StoreItem(ctx, "set", Item{Key: m.MakeKey(KeyPrefix + "garbage1"), Value: []byte("\x80\x05junk"), Flags: FlagPickle}, 60)
	for _, k := range []string{"notadict", "garbage1"} {
		err := st.Load(ctx, &djangosession.Record{Key: k})
		var le *LoadError
		if !errors.Is(err, djangosession.ErrNotFound) || !errors.As(err, &le) {
			t.Errorf("%s: %v", k, err)
		}
	}
}

// TestMemcachedKilled kills the server mid-test, with both clients, each
// step on a fresh client (as a Django process meets an outage): loads
// become misses (with the outage visible as ErrUnavailable), saves, deletes
// and exists probes fail with ErrUnavailable, and nothing panics.
func TestMemcachedKilled(t *testing.T) {
	for _, backend := range []string{BackendPyMemcache, BackendPyLibMC} {
		t.Run(backend[strings.LastIndex(backend, ".")+1:], func(t *testing.T) {
			addr, kill := testenv.KillableMemcached(t)
			ctx := context.Background()
			s := testSettings(t, map[string]any{"default": map[string]any{"BACKEND": backend, "LOCATION": addr}}, nil)
			m, _ := djangosession.NewManager(newStore(t, s), s)
			sess := m.Session("")
			sess.Set(ctx, "a", "b")
			if err := sess.Save(ctx); err != nil {
				t.Fatal(err)
			}
			key := sess.Key()
			kill()

			err := newStore(t, s).Load(ctx, &djangosession.Record{Key: key})
			if !errors.Is(err, djangosession.ErrNotFound) || !errors.Is(err, djangosession.ErrUnavailable) {
				t.Fatalf("load with the server down: %v", err)
			}
			m, _ = djangosession.NewManager(newStore(t, s), s)
			s2 := m.Session(key)
			if d, err := s2.Data(ctx); err != nil || d.Len() != 0 || s2.Key() != "" {
				t.Fatalf("session load with the server down: %v %v key %q", d, err, s2.Key())
			}
			m, _ = djangosession.NewManager(newStore(t, s), s)
			fresh := m.Session("")
			fresh.Set(ctx, "a", "b")
			if err := fresh.Save(ctx); !errors.Is(err, djangosession.ErrUnavailable) {
				t.Fatalf("save with the server down: %v", err)
			}
			if err := newStore(t, s).Delete(ctx, key); !errors.Is(err, djangosession.ErrUnavailable) {
				t.Fatalf("delete with the server down: %v", err)
			}
			if _, err := newStore(t, s).Exists(ctx, key); !errors.Is(err, djangosession.ErrUnavailable) {
				t.Fatalf("exists with the server down: %v", err)
			}
		})
	}
}

// TestPymemcacheFailureMemory follows pymemcache's HashClient (retry
// attempts 2, retry timeout 1 s, dead timeout 60 s) through an outage on
// a frozen clock: the first failure is an error; calls within the next
// second are quiet misses and "not stored"; each later call retries (an
// error) until the retries are used up; the server then leaves the ring
// (every call fails while no server is left) and comes back after the
// dead timeout. With two servers a dead one's keys go to the other.
func TestPymemcacheFailureMemory(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	// A server that is already down: every call dials and is refused. (On
	// a pooled connection the first failure can be the server's close,
	// which pymemcache raises without counting it.)
	addr, kill := testenv.KillableMemcached(t)
	kill()
	m, err := NewMemcached(MemcachedConfig{Flavor: FlavorPyMemcache, Servers: []string{addr}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	fails := func(step string) {
		t.Helper()
		if _, _, err := m.Get(ctx, "k"); !errors.Is(err, djangosession.ErrUnavailable) {
			t.Fatalf("%s: get: %v, want ErrUnavailable", step, err)
		}
	}
	quiet := func(step string) {
		t.Helper()
		if _, ok, err := m.Get(ctx, "k"); ok || err != nil {
			t.Fatalf("%s: get: %v %v, want a quiet miss", step, ok, err)
		}
		if err := m.Set(ctx, "k", int64(2), 60); err != nil {
			t.Fatalf("%s: set: %v, want quiet", step, err)
		}
		if ok, err := m.Add(ctx, "k", int64(2), 60); ok || err != nil {
			t.Fatalf("%s: add: %v %v, want quietly not stored", step, ok, err)
		}
		if ok, err := m.Delete(ctx, "k"); ok || err != nil {
			t.Fatalf("%s: delete: %v %v, want quiet", step, ok, err)
		}
	}
	fails("first failure")
	quiet("within the retry timeout")
	now = now.Add(1500 * time.Millisecond)
	fails("first retry")
	now = now.Add(500 * time.Millisecond)
	quiet("after the first retry")
	now = now.Add(1500 * time.Millisecond)
	fails("second retry")
	now = now.Add(1500 * time.Millisecond)
	fails("retries used up: removed, this call still tried")
	if _, _, err := m.Get(ctx, "k"); !errors.Is(err, errAllDown) {
		t.Fatalf("no server left: %v", err)
	}
	now = now.Add(61 * time.Second)
	fails("back after the dead timeout, retried")

	// Two servers: once one is dead, its keys go to the other.
	addrA, killA := testenv.KillableMemcached(t)
	addrB := testenv.Memcached(t)
	m2, err := NewMemcached(MemcachedConfig{Flavor: FlavorPyMemcache, Servers: []string{addrA, addrB}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	key := ""
	for i := 0; key == ""; i++ {
		if k := fmt.Sprintf("key%d", i); m2.sel.Pick(m2.MakeKey(k)) == 0 {
			key = k
		}
	}
	killA()
	for i := range 4 { // the first failure and the two retries, then removal
		if err := m2.Set(ctx, key, int64(7), 60); !errors.Is(err, djangosession.ErrUnavailable) {
			t.Fatalf("set %d on the failing server: %v", i, err)
		}
		now = now.Add(1500 * time.Millisecond)
	}
	if err := m2.Set(ctx, key, int64(7), 60); err != nil {
		t.Fatalf("set after the server left the ring: %v", err)
	}
	if v, ok, err := m2.Get(ctx, key); err != nil || !ok || v != int64(7) {
		t.Fatalf("get from the remaining server: %v %v %v", v, ok, err)
	}
	direct, err := NewMemcached(MemcachedConfig{Flavor: FlavorPyLibMC, Servers: []string{addrB}})
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	if _, ok, err := direct.GetItem(ctx, m2.MakeKey(key)); err != nil || !ok {
		t.Fatalf("the key is not on the remaining server: %v %v", ok, err)
	}
}

// TestRedisStoreLive: RedisCache semantics on a real Redis: SET EX / NX,
// timeout 0 deletes, the raw pickle, ints as ASCII, and primary/replica
// routing with two independent servers.
func TestRedisStoreLive(t *testing.T) {
	addr, db := testenv.Redis(t)
	addr2, _ := testenv.Redis(t)
	ctx := context.Background()
	loc := fmt.Sprintf("redis://%s/%d", addr, db)
	s := testSettings(t, map[string]any{"default": map[string]any{"BACKEND": BackendRedis, "LOCATION": loc}}, map[string]any{"TARGET_DJANGO_VERSION": "4.2"})
	st := newStore(t, s)
	rc := st.Cache().(*Redis)
	m, _ := djangosession.NewManager(st, s)
	sess := m.Session("")
	sess.Set(ctx, "x", int64(1))
	sess.SetExpiry(ctx, int64(300))
	if err := sess.Save(ctx); err != nil {
		t.Fatal(err)
	}
	stored := ":1:django.contrib.sessions.cache" + sess.Key()
	raw, ok, err := rc.GetRaw(ctx, stored)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if got := fmt.Sprintf("%x", raw); got != "80059520000000000000007d94288c0178944b018c0f5f73657373696f6e5f657870697279944d2c01752e" {
		t.Errorf("stored %s", got)
	}
	ttl, err := rc.servers[0].do(ctx, "TTL", stored)
	if n, _ := ttl.(int64); err != nil || n < 298 || n > 300 {
		t.Errorf("TTL %v %v", ttl, err)
	}
	if d, err := m.Session(sess.Key()).Data(ctx); err != nil || d.Len() != 2 {
		t.Fatalf("reload %v %v", d, err)
	}
	// Timeout 0: add stores then deletes; set deletes.
	r0 := &djangosession.Record{Key: "zerottl12345", Data: sessionDict(), ExpiryAge: -100}
	if err := st.Save(ctx, r0, true); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.Exists(ctx, "zerottl12345"); ok {
		t.Error("add with timeout 0 left the key")
	}
	if err := st.Save(ctx, &djangosession.Record{Key: sess.Key(), Data: sessionDict(), ExpiryAge: 0}, false); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.Exists(ctx, sess.Key()); ok {
		t.Error("set with timeout 0 left the key")
	}
	// Ints are ASCII, not pickled.
	if err := rc.Set(ctx, "n", int64(42), 60); err != nil {
		t.Fatal(err)
	}
	if raw, _, _ := rc.GetRaw(ctx, ":1:n"); string(raw) != "42" {
		t.Errorf("int stored as %q", raw)
	}
	if v, ok, err := rc.Get(ctx, "n"); v != int64(42) || !ok || err != nil {
		t.Errorf("int read %v %v %v", v, ok, err)
	}

	// Primary + "replica": writes go to the first, reads to the second.
	s2 := testSettings(t, map[string]any{"default": map[string]any{"BACKEND": BackendRedis, "LOCATION": loc + "," + "redis://" + addr2 + "/0"}}, nil)
	st2 := newStore(t, s2)
	r := &djangosession.Record{Key: "replicatest1", Data: sessionDict("a", int64(1)), ExpiryAge: 100}
	if err := st2.Save(ctx, r, true); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := rc.GetRaw(ctx, ":1:django.contrib.sessions.cachereplicatest1"); !ok {
		t.Error("not written to the first server")
	}
	if err := st2.Load(ctx, &djangosession.Record{Key: "replicatest1"}); !errors.Is(err, djangosession.ErrNotFound) {
		t.Errorf("read went to the primary: %v", err)
	}

	// Down: load misses, save fails.
	down := testSettings(t, map[string]any{"default": map[string]any{"BACKEND": BackendRedis, "LOCATION": "redis://127.0.0.1:1/0"}}, nil)
	std := newStore(t, down)
	if err := std.Load(ctx, &djangosession.Record{Key: "whatever1"}); !errors.Is(err, djangosession.ErrNotFound) || !errors.Is(err, djangosession.ErrUnavailable) {
		t.Errorf("down load: %v", err)
	}
	if err := std.Save(ctx, &djangosession.Record{Key: "whatever1", Data: sessionDict(), ExpiryAge: 5}, true); !errors.Is(err, djangosession.ErrUnavailable) {
		t.Errorf("down save: %v", err)
	}
}

// TestOddCookieVectors replays cache_values.json "load with odd cookie
// value" on live servers: the load is a miss and the key is dropped.
func TestOddCookieVectors(t *testing.T) {
	mc := testenv.Memcached(t)
	raddr, db := testenv.Redis(t)
	ctx := context.Background()
	locs := map[string]any{
		"pymemcache": map[string]any{"BACKEND": BackendPyMemcache, "LOCATION": mc},
		"pylibmc":    map[string]any{"BACKEND": BackendPyLibMC, "LOCATION": mc},
		"redis":      map[string]any{"BACKEND": BackendRedis, "LOCATION": fmt.Sprintf("redis://%s/%d", raddr, db)},
	}
	n := 0
	for _, c := range vectors.Select(vectors.Load(t, "cache_values.json"), "cache.SessionStore.load with odd cookie value") {
		loc, ok := locs[c.Str("client_library")]
		if !ok {
			continue
		}
		cookie := c.Str("cookie_value")
		if cookie == "a*300" {
			cookie = strings.Repeat("a", 300)
		}
		s := testSettings(t, map[string]any{"default": loc}, map[string]any{"TARGET_DJANGO_VERSION": c.DjangoVersion()[:3]})
		st := newStore(t, s)
		m, _ := djangosession.NewManager(st, s)
		sess := m.Session(cookie)
		d, err := sess.Data(ctx)
		if err != nil || d.Len() != 0 || sess.Key() != "" {
			t.Errorf("%s: %v %v key %q", c.Name(), d, err, sess.Key())
		}
		if c.Get("session_key_after") != nil || c.Dict("loaded").Len() != 0 {
			t.Fatalf("vector changed: %s", c)
		}
		n++
	}
	if n != 22 {
		t.Fatalf("%d cases", n)
	}
}

// TestCancelledContext: a cancelled context fails the operation with an
// error (no hang, no panic) and the client keeps working afterwards.
func TestCancelledContext(t *testing.T) {
	addr := testenv.Memcached(t)
	raddr, db := testenv.Redis(t)
	for _, c := range []map[string]any{
		{"BACKEND": BackendPyMemcache, "LOCATION": addr},
		{"BACKEND": BackendRedis, "LOCATION": fmt.Sprintf("redis://%s/%d", raddr, db)},
	} {
		st := newStore(t, testSettings(t, map[string]any{"default": c}, nil))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := st.Save(ctx, &djangosession.Record{Key: "cancelled1", Data: sessionDict(), ExpiryAge: 60}, true); err == nil {
			t.Errorf("%v: save with a cancelled context succeeded", c["BACKEND"])
		}
		ctx2, cancel2 := context.WithCancel(context.Background())
		if err := st.Save(ctx2, &djangosession.Record{Key: "cancelled2", Data: sessionDict(), ExpiryAge: 60}, true); err != nil {
			t.Fatal(err)
		}
		cancel2()
		if err := st.Load(context.Background(), &djangosession.Record{Key: "cancelled2"}); err != nil {
			t.Errorf("%v: after cancellation: %v", c["BACKEND"], err)
		}
	}
}
