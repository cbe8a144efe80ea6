package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/djangosession/cachestore"
	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/internal/testenv"
)

// laterBackends adds what only Django 4.0+ has to the engines of the 3.2
// tests: RedisCache, for cache and for cached_db (on MySQL).
func laterBackends() []backend {
	redis := func(t *testing.T) map[string]any {
		addr, db := testenv.Redis(t)
		return map[string]any{"BACKEND": cachestore.BackendRedis, "LOCATION": fmt.Sprintf("redis://%s/%d", addr, db)}
	}
	bs := append(backends(), cacheBackends()...)
	return append(bs,
		backend{name: "cache/redis",
			cfg: func(t *testing.T) map[string]any {
				return map[string]any{"SESSION_ENGINE": djangosession.EngineCache,
					"CACHES": map[string]any{"default": redis(t)}}
			},
			stored: cacheStored("django.contrib.sessions.cache")},
		backend{name: "mysql+cached_db/redis",
			cfg: func(t *testing.T) map[string]any {
				p := testenv.MySQLParams(t)
				d := p.Django()
				d["DSN"] = p.DSN()
				return map[string]any{"SESSION_ENGINE": djangosession.EngineCachedDB,
					"DATABASES": map[string]any{"default": d}, "CACHES": map[string]any{"default": redis(t)}}
			},
			stored: sqlStored("mysql", func(cfg map[string]any) string {
				return cfg["DATABASES"].(map[string]any)["default"].(map[string]any)["DSN"].(string)
			})},
	)
}

// TestInteropReleases runs the engine scenario of the 3.2 tests (write and
// read both ways, modify, cycle, delete, expired sessions and
// clear-expired, login and get_user, SHA-1 and fallback-key auth hashes)
// between the CLI and real Django 4.2 and 5.2, TARGET_DJANGO_VERSION set
// to the peer's release, on every engine and cache client. Each set-up
// takes two of the variants in turn: time zones on and off, Django's own
// defaults (USE_TZ is True from 5.0 only) and, before 5.0, PickleSerializer.
func TestInteropReleases(t *testing.T) {
	rnd := newRand(t)
	type variant struct {
		name   string
		useTZ  any // nil: Django's default
		zone   string
		pickle bool
	}
	for _, version := range peer.Versions()[1:] {
		variants := []variant{
			{"tz-utc/json", true, "UTC", false},
			{"naive-kathmandu/json", false, "Asia/Kathmandu", false},
			{"defaults/json", nil, "", false},
		}
		if version < "5.0" {
			variants = append(variants, variant{"tz-chicago/pickle", true, "America/Chicago", true})
		}
		for i, b := range laterBackends() {
			for j := range 2 {
				v := variants[(i+j)%len(variants)]
				g := gen{r: rand.New(rand.NewPCG(rnd.Uint64(), rnd.Uint64())), pickle: v.pickle}
				t.Run(version+"/"+b.name+"/"+v.name, func(t *testing.T) {
					peer.RequireVersion(t, version)
					cfg := b.cfg(t)
					cfg["SECRET_KEY"] = testSecret
					cfg["SECRET_KEY_FALLBACKS"] = []string{"an-older-" + testSecret}
					cfg["TARGET_DJANGO_VERSION"] = version
					if v.useTZ != nil {
						cfg["USE_TZ"] = v.useTZ
					}
					if v.zone != "" {
						cfg["TIME_ZONE"] = v.zone
					}
					if v.pickle {
						requirePickle(t)
						cfg["SESSION_SERIALIZER"] = "django.contrib.sessions.serializers.PickleSerializer"
					}
					t.Parallel()
					dj := django(t, cfg)
					goSide := side{"go", func(sub string, args []string, stdin any) peer.Result {
						return goRun(t, cfg, sub, args, stdin)
					}}
					djSide := side{"django-" + version, func(sub string, args []string, stdin any) peer.Result {
						return djangoDo(t, dj, sub, args, stdin)
					}}
					if strings.Contains(b.name, "+cached_db") && !strings.HasPrefix(b.name, "sqlite") {
						// engineScenario migrates only the plain db set-ups.
						must(t, goSide, "migrate", nil, nil)
					}
					engineScenario(t, b, cfg, g, goSide, djSide)
				})
			}
		}
	}
}
