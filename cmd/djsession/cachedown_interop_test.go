package main

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cachestore"
	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/internal/testenv"
	"github.com/djsession/djsession/pyvalue"
)

// TestInteropCacheDown stops the cache server (memcached with either
// client, and Redis from 4.0) under the cache and cached_db engines and
// compares the CLI with real Django 3.2, 4.2 and 5.2, call by call.
// cached_db: a new session cannot be saved; a stored one loads from the
// database (the refill into the dead cache fails with pylibmc and Redis,
// and is skipped by pymemcache, whose get has just failed); an update
// writes the row and then fails, or goes through where pymemcache skips
// the cache or (5.1+) Django only logs. cache: nothing loads, nothing
// saves. Django runs one process per call, as the CLI does, so that
// neither side remembers the dead server between calls.
func TestInteropCacheDown(t *testing.T) {
	for _, version := range peer.Versions() {
		for _, engine := range []string{djangosession.EngineCachedDB, djangosession.EngineCache} {
			for _, backend := range []string{cachestore.BackendPyMemcache, cachestore.BackendPyLibMC, cachestore.BackendRedis} {
				if backend == cachestore.BackendRedis && version < "4.0" {
					continue // no RedisCache before 4.0
				}
				name := version + "/" + engine[strings.LastIndex(engine, ".")+1:] + "/" + backend[strings.LastIndex(backend, ".")+1:]
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					cacheDown(t, version, engine, backend)
				})
			}
		}
	}
}

func cacheDown(t *testing.T, version, engine, backend string) {
	dj := peer.DjangoAt(t, version)
	var addr string
	var kill func()
	if backend == cachestore.BackendRedis {
		addr, kill = testenv.KillableRedis(t)
		addr = "redis://" + addr + "/0"
	} else {
		addr, kill = testenv.KillableMemcached(t)
	}
	cfg := map[string]any{"SECRET_KEY": testSecret, "TARGET_DJANGO_VERSION": version, "USE_TZ": true,
		"SESSION_ENGINE": engine,
		"DATABASES":      map[string]any{"default": map[string]any{"ENGINE": djangoSQLite, "NAME": filepath.Join(t.TempDir(), "db.sqlite3")}},
		"CACHES":         map[string]any{"default": map[string]any{"BACKEND": backend, "LOCATION": addr}}}
	goSide := side{"go", func(sub string, args []string, stdin any) peer.Result {
		return goRun(t, cfg, sub, args, stdin)
	}}
	djSide := side{dj.Name(), func(sub string, args []string, stdin any) peer.Result {
		if d, ok := stdin.(*pyvalue.Dict); ok {
			stdin = []byte(mustJSON(t, d))
		}
		return dj.Run(t, cfg, sub, args, stdin)
	}}
	sides := []side{goSide, djSide}
	must(t, goSide, "migrate", nil, nil)
	// Two sessions from each side: twins, one for each side to update.
	var keys [2][2]string
	for i, s := range sides {
		for j := range keys[i] {
			keys[i][j] = str(t, must(t, s, "write", nil, obj("data", obj("by", s.name))), "session_key")
		}
	}
	kill()

	// same runs one call on both sides (one key each) and requires the same
	// exit code and, on success, the same fields (ages and dates aside,
	// which count from each side's own "now").
	same := func(what, sub string, args [2][]string, stdin *pyvalue.Dict) [2]peer.Result {
		t.Helper()
		var rs [2]peer.Result
		for i, s := range sides {
			rs[i] = s.do(sub, args[i], stdin)
		}
		if rs[0].RC != rs[1].RC {
			t.Fatalf("%s with the cache down: go rc %d %s / %s rc %d %s", what, rs[0].RC, rs[0].Stdout, djSide.name, rs[1].RC, rs[1].Stdout)
		}
		if rs[0].RC == 0 {
			for _, k := range []string{"exists", "data", "ok"} {
				g, gok := parse(t, rs[0]).Get(k)
				d, dok := parse(t, rs[1]).Get(k)
				if gok != dok || gok && mustJSON(t, g) != mustJSON(t, d) {
					t.Fatalf("%s with the cache down: go %s / %s %s", what, rs[0].Stdout, djSide.name, rs[1].Stdout)
				}
			}
		}
		return rs
	}
	if rs := same("a new session", "write", [2][]string{}, obj("data", obj("x", int64(1)))); rs[0].RC == 0 {
		t.Fatalf("a new session was saved with the cache down: %s", rs[0].Stdout)
	}
	for i, k := range keys {
		rs := same("reading "+sides[i].name+"'s session", "read", [2][]string{{k[0]}, {k[1]}}, nil)
		if rs[0].RC == 0 && get(t, parse(t, rs[0]), "exists") != (engine == djangosession.EngineCachedDB) {
			t.Fatalf("%s's session lost with the cache down: %s", sides[i].name, rs[0].Stdout)
		}
	}
	// Each side updates its twin of each side's session: the same exit code,
	// and the same rows afterwards, read by both through the db engine on
	// the same database.
	for i, k := range keys {
		same("updating "+sides[i].name+"'s session", "modify", [2][]string{{k[0]}, {k[1]}}, obj("set", obj("upd", int64(i))))
	}
	if engine != djangosession.EngineCachedDB {
		return
	}
	dbCfg := maps.Clone(cfg)
	dbCfg["SESSION_ENGINE"] = "django.contrib.sessions.backends.db"
	for i, k := range keys {
		var rows []string
		for _, key := range k {
			for _, r := range []peer.Result{goRun(t, dbCfg, "read", []string{key}, nil), dj.Run(t, dbCfg, "read", []string{key}, nil)} {
				if r.RC != 0 {
					t.Fatalf("db read: rc %d %s", r.RC, r.Stdout)
				}
				rows = append(rows, mustJSON(t, get(t, parse(t, r), "data")))
			}
		}
		if rows[0] != rows[1] || rows[2] != rows[3] || rows[0] != rows[2] {
			t.Fatalf("the rows of %s's sessions after go and %s updated one each: %q", sides[i].name, djSide.name, rows)
		}
	}
}
