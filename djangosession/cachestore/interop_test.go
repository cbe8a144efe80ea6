package cachestore

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/internal/testenv"
	"github.com/djsession/djsession/pyvalue"
)

func rawJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := pyvalue.MarshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// interopData returns a session dict with awkward values (non-ASCII, big
// ints, floats, nesting).
func interopData(i int) *pyvalue.Dict {
	d := pyvalue.NewDict(5)
	d.Set("i", int64(i))
	d.Set("s", fmt.Sprintf("caf\u00e9 \u4e2d %d \U0001F600", i))
	d.Set("f", 1.5+float64(i))
	d.Set("l", []any{int64(1), "two", nil, true})
	n := pyvalue.NewDict(1)
	n.Set("deep", []any{pyvalue.NewDict(0)})
	d.Set("n", n)
	return d
}

// TestDjangoInteropMemcached pairs the engine with Django 3.2's cache
// engine on PyMemcacheCache and PyLibMCCache, with one and with three
// servers: Django writes → Go reads, Go writes → Django reads, Go modifies
// → Django reads, Django deletes → Go misses; every item must sit on the
// server the Python client chose.
func TestDjangoInteropMemcached(t *testing.T) {
	peer.Require(t)
	servers := []string{testenv.Memcached(t), testenv.Memcached(t), testenv.Memcached(t)}
	ctx := context.Background()
	total := 0
	for _, backend := range []string{BackendPyMemcache, BackendPyLibMC} {
		for _, n := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/%d", backend[strings.LastIndex(backend, ".")+1:], n), func(t *testing.T) {
				caches := map[string]any{"default": map[string]any{"BACKEND": backend, "LOCATION": strings.Join(servers[:n], ";")}}
				cfg := map[string]any{"SECRET_KEY": "interop", "TARGET_DJANGO_VERSION": "3.2", "SESSION_ENGINE": djangosession.EngineCache, "CACHES": caches}
				s := testSettings(t, caches, map[string]any{"TARGET_DJANGO_VERSION": "3.2"})
				st := newStore(t, s)
				mc := st.Cache().(*Memcached)
				dj := peer.Django(t).Start(t, cfg)
				onServer := func(key string) {
					t.Helper()
					stored := mc.MakeKey(KeyPrefix + key)
					i, _ := mc.Server(stored)
					for j := 0; j < n; j++ {
						if _, _, _, ok := testenv.MemcachedMetaGet(t, servers[j], stored); ok != (i == j) {
							t.Fatalf("key %s: on server %d = %v, Go picks %d", key, j, ok, i)
						}
					}
				}
				const rounds = 12
				// Django writes → Go reads.
				for i := 0; i < rounds; i++ {
					data := interopData(i)
					res := dj.Do(t, peer.Call{Sub: "write", Stdin: []byte(`{"data":` + string(rawJSON(t, data)) + `,"expiry":600}`)}).OK(t)
					key := res.Str(t, "session_key")
					onServer(key)
					r := &djangosession.Record{Key: key}
					if err := st.Load(ctx, r); err != nil {
						t.Fatalf("Go load of Django's session: %v", err)
					}
					data.Set(djangosession.ExpiryKey, int64(600))
					if !pyvalue.Equal(r.Data, data) {
						t.Fatalf("Go read %v\nDjango wrote %v", r.Data, data)
					}
					total++
				}
				// Go writes → Django reads; Go modifies → Django reads;
				// Django deletes → Go misses.
				m, _ := djangosession.NewManager(st, s)
				for i := 0; i < rounds; i++ {
					data := interopData(100 + i)
					sess := m.Session("")
					sess.Update(ctx, data)
					if err := sess.Save(ctx); err != nil {
						t.Fatal(err)
					}
					key := sess.Key()
					onServer(key)
					res := dj.Do(t, peer.Call{Sub: "read", Args: []string{key}}).OK(t)
					if !res.Bool(t, "exists") || !pyvalue.Equal(res.Dict(t, "data"), data) {
						t.Fatalf("Django read %s\nGo wrote %v", res, data)
					}
					sess.Set(ctx, "go", "modified")
					if err := sess.Save(ctx); err != nil {
						t.Fatal(err)
					}
					res = dj.Do(t, peer.Call{Sub: "read", Args: []string{key}}).OK(t)
					if v, _ := res.Dict(t, "data").Get("go"); v != "modified" {
						t.Fatalf("Django did not see Go's modification: %s", res)
					}
					dj.Do(t, peer.Call{Sub: "delete", Args: []string{key}}).OK(t)
					if err := st.Load(ctx, &djangosession.Record{Key: key}); err == nil {
						t.Fatal("Go still loads a session Django deleted")
					}
					total++
				}
			})
		}
	}
	t.Logf("%d interop sessions", total)
}

// redisPy runs a Python script with redis-py that emulates Django 4.0+'s
// RedisCache byte layout (Django 3.2, the peer, has no RedisCache):
// RedisSerializer pickles with HIGHEST_PROTOCOL except exact ints.
const redisPy = `
import json, pickle, sys, redis
cmd = json.load(sys.stdin)
r = redis.Redis.from_url(cmd["url"])
out = []
for op in cmd["ops"]:
    if op["op"] == "write":
        r.set(op["key"], pickle.dumps(op["data"], pickle.HIGHEST_PROTOCOL), ex=op["ttl"])
        out.append(None)
    else:
        v = r.get(op["key"])
        if v is None:
            out.append({"found": False})
        else:
            out.append({"found": True, "data": pickle.loads(v), "ttl": r.ttl(op["key"])})
print(json.dumps(out))
`

// TestRedisInteropPython: redis-py + pickle writing as RedisCache does →
// Go reads, and Go writes → Python reads with RedisSerializer's loads.
func TestRedisInteropPython(t *testing.T) {
	peer.Require(t)
	addr, db := testenv.Redis(t)
	ctx := context.Background()
	url := fmt.Sprintf("redis://%s/%d", addr, db)
	s := testSettings(t, map[string]any{"default": map[string]any{"BACKEND": BackendRedis, "LOCATION": url}}, map[string]any{"TARGET_DJANGO_VERSION": "4.2"})
	st := newStore(t, s)
	var ops []map[string]any
	var want []*pyvalue.Dict
	for i := 0; i < 20; i++ {
		d := interopData(i)
		want = append(want, d)
		ops = append(ops, map[string]any{"op": "write", "key": ":1:django.contrib.sessions.cachepy" + fmt.Sprint(1000000+i), "data": json.RawMessage(rawJSON(t, d)), "ttl": 500})
	}
	runPy := func(ops []map[string]any) []json.RawMessage {
		t.Helper()
		in, _ := json.Marshal(map[string]any{"url": url, "ops": ops})
		cmd := exec.Command(peer.Python, "-c", redisPy)
		cmd.Stdin = strings.NewReader(string(in))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		var res []json.RawMessage
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return res
	}
	runPy(ops)
	for i, d := range want {
		r := &djangosession.Record{Key: "py" + fmt.Sprint(1000000+i)}
		if err := st.Load(ctx, r); err != nil || !pyvalue.Equal(r.Data, d) {
			t.Fatalf("Go read %v (%v), Python wrote %v", r.Data, err, d)
		}
	}
	// Go writes → Python reads.
	ops = ops[:0]
	for i, d := range want {
		k := "go" + fmt.Sprint(1000000+i)
		if err := st.Save(ctx, &djangosession.Record{Key: k, Data: d, ExpiryAge: 700}, true); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, map[string]any{"op": "read", "key": ":1:django.contrib.sessions.cache" + k})
	}
	for i, raw := range runPy(ops) {
		v, err := pyvalue.UnmarshalJSONText(raw)
		if err != nil {
			t.Fatal(err)
		}
		res := v.(*pyvalue.Dict)
		found, _ := res.Get("found")
		data, _ := res.Get("data")
		ttl, _ := res.Get("ttl")
		if found != true || !pyvalue.Equal(data, want[i]) {
			t.Fatalf("Python read %v, Go wrote %v", res, want[i])
		}
		if n, _ := ttl.(int64); n < 695 || n > 700 {
			t.Errorf("ttl %v", ttl)
		}
	}
}
