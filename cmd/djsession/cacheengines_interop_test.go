package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"github.com/djsession/djsession/pyvalue"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cachestore"
	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/internal/testenv"
)

// cacheStored reports whether the session cache holds key (under the
// engine's key prefix).
func cacheStored(prefix string) func(t *testing.T, cfg map[string]any, key string) bool {
	return func(t *testing.T, cfg map[string]any, key string) bool {
		t.Helper()
		b, _ := pyJSON(cfg)
		s, err := djangosession.LoadSettings(b)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cachestore.OpenAlias(s, s.SessionCacheAlias)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ok, err := c.HasKey(context.Background(), prefix+key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
}

// cacheBackends are the cache and cached_db set-ups paired with Django 3.2:
// both memcached clients, one and three servers, a non-default alias and
// KEY_PREFIX/VERSION, and cached_db on SQLite and PostgreSQL.
func cacheBackends() []backend {
	mc := func(t *testing.T, backend string, n int) map[string]any {
		var locs []string
		for range n {
			locs = append(locs, testenv.Memcached(t))
		}
		return map[string]any{"BACKEND": backend, "LOCATION": strings.Join(locs, ";")}
	}
	return []backend{
		{name: "cache/pymemcache-3",
			cfg: func(t *testing.T) map[string]any {
				return map[string]any{"SESSION_ENGINE": djangosession.EngineCache,
					"CACHES": map[string]any{"default": mc(t, cachestore.BackendPyMemcache, 3)}}
			},
			stored: cacheStored("django.contrib.sessions.cache")},
		{name: "cache/pylibmc-3-alias",
			cfg: func(t *testing.T) map[string]any {
				c := mc(t, cachestore.BackendPyLibMC, 3)
				c["KEY_PREFIX"], c["VERSION"] = "pfx", 3
				return map[string]any{"SESSION_ENGINE": djangosession.EngineCache, "SESSION_CACHE_ALIAS": "sessions",
					"CACHES": map[string]any{"default": map[string]any{"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "sessions": c}}
			},
			stored: cacheStored("django.contrib.sessions.cache")},
		{name: "sqlite+cached_db/pylibmc",
			cfg: func(t *testing.T) map[string]any {
				return map[string]any{"SESSION_ENGINE": djangosession.EngineCachedDB,
					"DATABASES": map[string]any{"default": map[string]any{"ENGINE": djangoSQLite, "NAME": filepath.Join(t.TempDir(), "db.sqlite3")}},
					"CACHES":    map[string]any{"default": mc(t, cachestore.BackendPyLibMC, 1)}}
			},
			stored: sqlStored("sqlite3", func(cfg map[string]any) string {
				return cfg["DATABASES"].(map[string]any)["default"].(map[string]any)["NAME"].(string)
			})},
		{name: "postgresql+cached_db/pymemcache",
			cfg: func(t *testing.T) map[string]any {
				p := testenv.PostgresParams(t)
				d := p.Django()
				d["DSN"] = p.DSN()
				return map[string]any{"SESSION_ENGINE": djangosession.EngineCachedDB,
					"DATABASES": map[string]any{"default": d},
					"CACHES":    map[string]any{"default": mc(t, cachestore.BackendPyMemcache, 2)}}
			},
			stored: sqlStored("pgx", func(cfg map[string]any) string {
				return cfg["DATABASES"].(map[string]any)["default"].(map[string]any)["DSN"].(string)
			})},
	}
}

// TestInteropCacheEngines runs the engine scenario (write, read both ways,
// modify, cycle, delete, expired sessions and clear-expired, auth) with the
// CLI and Django 3.2 on the cache and cached_db engines.
func TestInteropCacheEngines(t *testing.T) {
	peer.Require(t)
	rnd := newRand(t)
	for bi, b := range cacheBackends() {
		for vi, v := range []struct {
			name   string
			useTZ  bool
			zone   string
			pickle bool
		}{
			{"tz-chicago/pickle", true, "America/Chicago", true},
			{"naive-kathmandu/json", false, "Asia/Kathmandu", false},
		} {
			// The value types and time zones are the db runs' business: one
			// variant per set-up keeps the suite short.
			if vi != bi%2 {
				continue
			}
			g := gen{r: rand.New(rand.NewPCG(rnd.Uint64(), rnd.Uint64())), pickle: v.pickle}
			t.Run(b.name+"/"+v.name, func(t *testing.T) {
				if v.pickle {
					requirePickle(t)
				}
				cfg := b.cfg(t)
				cfg["SECRET_KEY"] = testSecret
				cfg["TARGET_DJANGO_VERSION"] = "3.2"
				cfg["USE_TZ"] = v.useTZ
				cfg["TIME_ZONE"] = v.zone
				if v.pickle {
					cfg["SESSION_SERIALIZER"] = "django.contrib.sessions.serializers.PickleSerializer"
				}
				t.Parallel()
				dj := django(t, cfg)
				goSide := side{"go", func(sub string, args []string, stdin any) peer.Result {
					return goRun(t, cfg, sub, args, stdin)
				}}
				djSide := side{"django", func(sub string, args []string, stdin any) peer.Result {
					return djangoDo(t, dj, sub, args, stdin)
				}}
				if strings.HasPrefix(b.name, "postgresql+") {
					// engineScenario migrates only the plain db set-ups.
					must(t, goSide, "migrate", nil, nil)
				}
				engineScenario(t, b, cfg, g, goSide, djSide)
			})
		}
	}
}

// TestCacheEngineUnsupported: RedisCache for a 3.2 target, and cache
// backends this build lacks, are "unsupported" (exit 3), like the peer.
func TestCacheEngineUnsupported(t *testing.T) {
	for _, c := range []map[string]any{
		{"BACKEND": cachestore.BackendRedis, "LOCATION": "redis://127.0.0.1:6379/0"},
		{"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
	} {
		cfg := map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": "3.2",
			"SESSION_ENGINE": djangosession.EngineCache, "CACHES": map[string]any{"default": c}}
		if r := goRun(t, cfg, "write", nil, []byte(`{"data":{}}`)); r.RC != peer.ExitUnsupported {
			t.Errorf("%v: rc %d %s", c["BACKEND"], r.RC, r.Stdout)
		}
	}
}

func pyJSON(v any) ([]byte, error)         { return jsonMarshalStd(v) }
func jsonMarshalStd(v any) ([]byte, error) { return json.Marshal(v) }

// redisPeer emulates Django 4.0+'s RedisCache session engine with redis-py
// and pickle (Django 3.2, the peer, has no RedisCache): RedisSerializer
// pickles the dict with HIGHEST_PROTOCOL, SET key value EX timeout.
const redisPeer = `
import json, pickle, sys, redis
cmd = json.load(sys.stdin)
r = redis.Redis.from_url(cmd["url"])
k = ":1:django.contrib.sessions.cache" + cmd["key"]
if cmd["op"] == "write":
    r.set(k, pickle.dumps(cmd["data"], pickle.HIGHEST_PROTOCOL), ex=cmd["ttl"])
    print(json.dumps({"ok": True}))
else:
    v = r.get(k)
    print(json.dumps({"exists": v is not None, "data": pickle.loads(v) if v is not None else {}, "ttl": r.ttl(k)}))
`

// TestCLIRedisCache: the CLI on RedisCache (TARGET_DJANGO_VERSION 4.2)
// writes what RedisCache reads and reads what it writes, with the TTL
// Django sets.
func TestCLIRedisCache(t *testing.T) {
	peer.Require(t)
	addr, db := testenv.Redis(t)
	url := "redis://" + addr + "/" + strconv.Itoa(db)
	cfg := map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": "4.2", "SESSION_ENGINE": djangosession.EngineCache,
		"CACHES": map[string]any{"default": map[string]any{"BACKEND": cachestore.BackendRedis, "LOCATION": url}}}
	py := func(in map[string]any) map[string]any {
		t.Helper()
		in["url"] = url
		b, _ := json.Marshal(in)
		cmd := exec.Command(peer.Python, "-c", redisPeer)
		cmd.Stdin = bytes.NewReader(b)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python: %v %s", err, out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	res := goRun(t, cfg, "write", nil, []byte(`{"data":{"a":1,"s":"é"},"expiry":900}`))
	if res.RC != 0 {
		t.Fatalf("write: %s", res)
	}
	key := res.Str(t, "session_key")
	got := py(map[string]any{"op": "read", "key": key})
	if got["exists"] != true || fmt.Sprint(got["data"]) != "map[_session_expiry:900 a:1 s:é]" {
		t.Fatalf("redis-py read %v", got)
	}
	if ttl := got["ttl"].(float64); ttl < 890 || ttl > 900 {
		t.Fatalf("ttl %v", ttl)
	}
	py(map[string]any{"op": "write", "key": "pysession12345678", "data": map[string]any{"z": []any{1, 2}}, "ttl": 500})
	res = goRun(t, cfg, "read", []string{"pysession12345678"}, nil)
	if res.RC != 0 || !res.Bool(t, "exists") || string(rawJSONOf(t, res.Dict(t, "data"))) != `{"z":[1,2]}` {
		t.Fatalf("CLI read of redis-py's session: %s", res)
	}
	if r := goRun(t, cfg, "delete", []string{key}, nil); r.RC != 0 {
		t.Fatal(r)
	}
	if got := py(map[string]any{"op": "read", "key": key}); got["exists"] != false {
		t.Fatalf("still there after delete: %v", got)
	}
}

func rawJSONOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := pyvalue.MarshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHTTPInteropCache: the CLI's http subcommand and Django 3.2's
// SessionMiddleware share sessions on the cache engine (pylibmc, two
// servers) and cached_db (pymemcache, SQLite): set on one, read and update
// on the other, flush from either.
func TestHTTPInteropCache(t *testing.T) {
	peer.Require(t)
	for _, engine := range []string{"cache", "cached_db"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			cfg := map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": "3.2",
				"SESSION_ENGINE": "django.contrib.sessions.backends." + engine}
			if engine == "cache" {
				cfg["CACHES"] = map[string]any{"default": map[string]any{"BACKEND": cachestore.BackendPyLibMC,
					"LOCATION": []any{testenv.Memcached(t), testenv.Memcached(t)}}}
			} else {
				cfg["CACHES"] = map[string]any{"default": map[string]any{"BACKEND": cachestore.BackendPyMemcache,
					"LOCATION": testenv.Memcached(t)}}
				cfg["DATABASES"] = map[string]any{"default": map[string]any{
					"ENGINE": "django.db.backends.sqlite3", "NAME": filepath.Join(t.TempDir(), "db.sqlite3")}}
				if r := goRun(t, cfg, "migrate", nil, nil); r.RC != exitOK {
					t.Fatalf("migrate: %s", r.Stdout)
				}
			}
			urls := map[string]string{
				"go":     peer.CLI(t).StartHTTP(t, cfg),
				"django": peer.Django(t).StartHTTP(t, cfg),
			}
			for _, p := range peer.Pairs(t) {
				w, r := urls[p[0].Name()], urls[p[1].Name()]
				t.Run(p[0].Name()+"-sets-"+p[1].Name()+"-reads", func(t *testing.T) {
					set := httpGet(t, w, "/set?a=1&b=h%C3%A9llo", "")
					if set.status != 200 || set.cookie == "" {
						t.Fatalf("set: %+v", set)
					}
					got := httpGet(t, r, "/get?k=b", set.cookie)
					if got.body["exists"] != true || got.body["value"] != "héllo" {
						t.Fatalf("get: %+v", got)
					}
					upd := httpGet(t, r, "/set?d=4", set.cookie)
					if upd.cookie != set.cookie {
						t.Fatalf("update: %+v (key was %q)", upd, set.cookie)
					}
					if back := httpGet(t, w, "/get?k=d", set.cookie); back.body["value"] != "4" {
						t.Errorf("read back: %+v", back)
					}
					httpGet(t, r, "/flush", set.cookie)
					for _, base := range []string{w, r} {
						if after := httpGet(t, base, "/get?k=a", set.cookie); after.body["exists"] != false {
							t.Errorf("after flush (%s): %+v", base, after)
						}
					}
				})
			}
		})
	}
}

// TestCachedDBGarbledRow: a row that does not verify reads as not existing
// on both sides, and then, served from the {} Django caches for it, as an
// existing empty session (DJANGO_FORMATS §12: cached_db trusts its cache).
func TestCachedDBGarbledRow(t *testing.T) {
	peer.Require(t)
	mc := testenv.Memcached(t)
	path := filepath.Join(t.TempDir(), "db.sqlite3")
	cfg := map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": "3.2",
		"SESSION_ENGINE": djangosession.EngineCachedDB,
		"DATABASES":      map[string]any{"default": map[string]any{"ENGINE": djangoSQLite, "NAME": path}},
		"CACHES":         map[string]any{"default": map[string]any{"BACKEND": cachestore.BackendPyMemcache, "LOCATION": mc}}}
	if r := goRun(t, cfg, "migrate", nil, nil); r.RC != exitOK {
		t.Fatalf("migrate: %s", r.Stdout)
	}
	dj := django(t, cfg)
	b, _ := json.Marshal(cfg)
	s, err := djangosession.LoadSettings(b)
	if err != nil {
		t.Fatal(err)
	}
	cache, err := cachestore.OpenAlias(s, "default")
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, reader := range []side{
		{"go", func(sub string, args []string, stdin any) peer.Result { return goRun(t, cfg, sub, args, stdin) }},
		{"django", func(sub string, args []string, stdin any) peer.Result { return djangoDo(t, dj, sub, args, stdin) }},
	} {
		key := str(t, must(t, reader, "write", nil, []byte(`{"data":{"a":1}}`)), "session_key")
		if _, err := db.Exec("UPDATE django_session SET session_data = 'garbled' WHERE session_key = ?", key); err != nil {
			t.Fatal(err)
		}
		if _, err := cache.Delete(context.Background(), cacheddbPrefix+key); err != nil {
			t.Fatal(err)
		}
		for i, want := range []bool{false, true} {
			out := must(t, reader, "read", []string{key}, nil)
			if get(t, out, "exists") != want || mustJSON(t, get(t, out, "data")) != "{}" {
				t.Fatalf("%s read %d: %s", reader.name, i, mustJSON(t, out))
			}
		}
	}
}

const cacheddbPrefix = "django.contrib.sessions.cached_db"
