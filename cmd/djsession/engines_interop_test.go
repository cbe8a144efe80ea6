package main

import (
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/internal/testenv"
	"github.com/djsession/djsession/pyvalue"
)

// backend is one place sessions live, as a Django config fragment, with a
// way to tell whether a key is still stored (nil: nothing is stored).
type backend struct {
	name   string
	cfg    func(t *testing.T) map[string]any
	stored func(t *testing.T, cfg map[string]any, key string) bool
}

func sqlStored(driver string, dsn func(cfg map[string]any) string) func(t *testing.T, cfg map[string]any, key string) bool {
	return func(t *testing.T, cfg map[string]any, key string) bool {
		t.Helper()
		db, err := sql.Open(driver, dsn(cfg))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		q := "SELECT COUNT(*) FROM django_session WHERE session_key = ?"
		if driver == "pgx" {
			q = strings.Replace(q, "?", "$1", 1)
		}
		if err := db.QueryRow(q, key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
}

func backends() []backend {
	return []backend{
		{name: "sqlite",
			cfg: func(t *testing.T) map[string]any {
				return map[string]any{"DATABASES": map[string]any{"default": map[string]any{
					"ENGINE": djangoSQLite, "NAME": filepath.Join(t.TempDir(), "db.sqlite3")}}}
			},
			stored: sqlStored("sqlite3", func(cfg map[string]any) string {
				return cfg["DATABASES"].(map[string]any)["default"].(map[string]any)["NAME"].(string)
			})},
		{name: "postgresql",
			cfg: func(t *testing.T) map[string]any {
				p := testenv.PostgresParams(t)
				d := p.Django()
				d["DSN"] = p.DSN() // ignored by both sides (unknown key); used by stored()
				return map[string]any{"DATABASES": map[string]any{"default": d}}
			},
			stored: sqlStored("pgx", func(cfg map[string]any) string {
				return cfg["DATABASES"].(map[string]any)["default"].(map[string]any)["DSN"].(string)
			})},
		{name: "mysql",
			cfg: func(t *testing.T) map[string]any {
				p := testenv.MySQLParams(t)
				d := p.Django()
				d["DSN"] = p.DSN()
				return map[string]any{"DATABASES": map[string]any{"default": d}}
			},
			stored: sqlStored("mysql", func(cfg map[string]any) string {
				return cfg["DATABASES"].(map[string]any)["default"].(map[string]any)["DSN"].(string)
			})},
		{name: "file",
			cfg: func(t *testing.T) map[string]any {
				return map[string]any{"SESSION_ENGINE": "django.contrib.sessions.backends.file",
					"SESSION_FILE_PATH": t.TempDir()}
			},
			stored: func(t *testing.T, cfg map[string]any, key string) bool {
				_, err := os.Lstat(filepath.Join(cfg["SESSION_FILE_PATH"].(string), "sessionid"+key))
				return err == nil
			}},
		{name: "signed_cookies",
			cfg: func(t *testing.T) map[string]any {
				return map[string]any{"SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies"}
			}},
	}
}

// side is one implementation in an engine test.
type side struct {
	name string
	do   func(sub string, args []string, stdin any) peer.Result
}

func TestInteropEngines(t *testing.T) {
	peer.Require(t)
	rnd := newRand(t)
	for _, b := range backends() {
		for _, tz := range []struct {
			name   string
			useTZ  bool
			zone   string
			pickle bool
		}{
			{"tz-utc/json", true, "UTC", false},
			{"naive-kathmandu/json", false, "Asia/Kathmandu", false},
			{"tz-chicago/pickle", true, "America/Chicago", true},
			{"naive-kolkata/pickle", false, "Asia/Kolkata", true},
		} {
			if b.stored == nil || b.name == "file" {
				// Time zones matter to these engines only through the
				// expiry arithmetic, which the db runs cover: two variants.
				if tz.name != "naive-kathmandu/json" && tz.name != "tz-chicago/pickle" {
					continue
				}
			}
			g := gen{r: rand.New(rand.NewPCG(rnd.Uint64(), rnd.Uint64())), pickle: tz.pickle}
			t.Run(b.name+"/"+tz.name, func(t *testing.T) {
				if tz.pickle {
					requirePickle(t)
				}
				cfg := b.cfg(t)
				cfg["SECRET_KEY"] = testSecret
				cfg["TARGET_DJANGO_VERSION"] = "3.2"
				cfg["USE_TZ"] = tz.useTZ
				cfg["TIME_ZONE"] = tz.zone
				if tz.pickle {
					cfg["SESSION_SERIALIZER"] = "django.contrib.sessions.serializers.PickleSerializer"
				}
				t.Parallel() // each run has its own database, directory and Django process
				dj := django(t, cfg)
				goSide := side{"go", func(sub string, args []string, stdin any) peer.Result {
					return goRun(t, cfg, sub, args, stdin)
				}}
				djSide := side{"django", func(sub string, args []string, stdin any) peer.Result {
					return djangoDo(t, dj, sub, args, stdin)
				}}
				engineScenario(t, b, cfg, g, goSide, djSide)
			})
		}
	}
}

func must(t *testing.T, s side, sub string, args []string, stdin any) *pyvalue.Dict {
	t.Helper()
	r := s.do(sub, args, stdin)
	if r.RC != 0 {
		t.Fatalf("%s %s %v: rc %d %s\n%s", s.name, sub, args, r.RC, r.Stdout, r.Stderr)
	}
	return parse(t, r)
}

// keyArgs passes long cookie values through stdin ("-").
func keyArgs(key string, extra *pyvalue.Dict) ([]string, *pyvalue.Dict) {
	if extra == nil {
		extra = pyvalue.NewDict(1)
	}
	if len(key) > 200 {
		extra.Set("key", key)
		return []string{"-"}, extra
	}
	return []string{key}, extra
}

type written struct {
	key    string
	data   *pyvalue.Dict // what the session must hold
	writer side
}

// randomExpiry returns the protocol's expiry and the _session_expiry value
// the target release stores for it (nil: none).
func randomExpiry(g gen, cfg map[string]any) (any, any, bool) {
	pickle := cfg["SESSION_SERIALIZER"] != nil
	isoString := !targetBefore(cfg, 4, 1) // 4.1+ stores set_expiry(datetime) as isoformat()
	switch n := g.r.IntN(5); {
	case n == 0:
		return nil, nil, false
	case n == 1:
		return int64(0), int64(0), true
	case n == 2 && (pickle || isoString):
		// An absolute expiry: 3.2 stores the datetime itself (pickle only:
		// its JSON serializer cannot), later releases its isoformat().
		t := time.Now().Add(time.Duration(1+g.r.IntN(100000)) * time.Second).UTC().Truncate(time.Second)
		iso := t.Format("2006-01-02T15:04:05+00:00")
		if isoString {
			// Any offset, and microseconds half of the time: Django keeps
			// the aware datetime's own isoformat(), or without USE_TZ the
			// naive local time's.
			if g.r.IntN(2) == 0 {
				t = t.Add(time.Duration(1+g.r.IntN(999_999)) * time.Microsecond)
			}
			off := []int{0, 330, -480, 345, 60, -210}[g.r.IntN(6)]
			iso = pyISO(t.In(time.FixedZone("", off*60)), true)
			if useTZ(cfg) {
				return iso, iso, true
			}
			loc, err := time.LoadLocation(timeZone(cfg))
			if err != nil {
				panic(err)
			}
			return iso, pyISO(t.In(loc), false), true
		}
		if useTZ(cfg) {
			return iso, pyvalue.DateTime{Year: t.Year(), Month: int(t.Month()), Day: t.Day(), Hour: t.Hour(),
				Minute: t.Minute(), Second: t.Second(), TZ: pyvalue.UTC()}, true
		}
		// Without USE_TZ the app's datetime is naive local time.
		loc, err := time.LoadLocation(timeZone(cfg))
		if err != nil {
			panic(err)
		}
		l := t.In(loc)
		return iso, pyvalue.DateTime{Year: l.Year(), Month: int(l.Month()), Day: l.Day(), Hour: l.Hour(),
			Minute: l.Minute(), Second: l.Second()}, true
	default:
		n := int64(60 + g.r.IntN(1_000_000))
		return n, n, true
	}
}

// pyISO is Python's datetime.isoformat(): microseconds only when there are
// any, the offset (+00:00 for UTC) only for an aware datetime.
func pyISO(t time.Time, aware bool) string {
	layout := "2006-01-02T15:04:05"
	if t.Nanosecond() != 0 {
		layout += ".000000"
	}
	if aware {
		layout += "-07:00"
	}
	return t.Format(layout)
}

// targetBefore reports whether the config's TARGET_DJANGO_VERSION (X.Y) is
// older than major.minor.
func targetBefore(cfg map[string]any, major, minor int) bool {
	var x, y int
	if _, err := fmt.Sscanf(cfg["TARGET_DJANGO_VERSION"].(string), "%d.%d", &x, &y); err != nil {
		panic(err)
	}
	return x < major || x == major && y < minor
}

// useTZ is the config's USE_TZ, or the target's default (True from 5.0).
func useTZ(cfg map[string]any) bool {
	if b, ok := cfg["USE_TZ"].(bool); ok {
		return b
	}
	return !targetBefore(cfg, 5, 0)
}

// timeZone is the config's TIME_ZONE, or Django's default.
func timeZone(cfg map[string]any) string {
	if z, ok := cfg["TIME_ZONE"].(string); ok {
		return z
	}
	return "America/Chicago"
}

func engineScenario(t *testing.T, b backend, cfg map[string]any, g gen, goSide, djSide side) {
	isCookie := b.stored == nil
	isDB := strings.HasPrefix(b.name, "sqlite") || b.name == "postgresql" || b.name == "mysql"
	sides := [2]side{goSide, djSide}
	other := func(s side) side {
		if s.name == "go" {
			return djSide
		}
		return goSide
	}

	if isDB {
		// Go creates the table; Django adopts it (and the reverse is a no-op).
		for _, s := range []side{goSide, djSide, goSide} {
			if d := must(t, s, "migrate", nil, nil); mustJSON(t, d) != `{"ok":true}` {
				t.Fatalf("%s migrate: %s", s.name, mustJSON(t, d))
			}
		}
	}

	const n = 16
	var ws []written
	for i := range n {
		w := sides[i%2]
		data := g.session()
		expiry, stored, hasExpiry := randomExpiry(g, cfg)
		in := obj("data", toTagged(data), "tagged", true)
		if expiry != nil {
			in.Set("expiry", expiry)
		}
		res := must(t, w, "write", nil, in)
		if got := keysOf(res); strings.Join(got, ",") != "session_key,expiry_age,expire_date,expire_ts" {
			t.Fatalf("%s write: keys %v", w.name, got)
		}
		want := data.Clone()
		if hasExpiry {
			want.Set("_session_expiry", stored)
		}
		ws = append(ws, written{str(t, res, "session_key"), want, w})
	}
	checkRead := func(stage string, w written) {
		t.Helper()
		var outs [2]*pyvalue.Dict
		for i, s := range sides {
			args, stdin := keyArgs(w.key, nil)
			outs[i] = must(t, s, "read", args, stdin)
			if got := strings.Join(keysOf(outs[i]), ","); got != "exists,data,expiry_age,expire_date,expire_ts,expire_at_browser_close" &&
				got != "exists,data,expiry_age,expire_ts,expire_date,expire_at_browser_close" {
				t.Fatalf("%s: %s read: keys %s", stage, s.name, got)
			}
			if get(t, outs[i], "exists") != true {
				t.Fatalf("%s: %s cannot read the session %s wrote (%s)", stage, s.name, w.writer.name, mustJSON(t, outs[i]))
			}
			got, err := fromTagged(get(t, outs[i], "data"))
			if err != nil {
				t.Fatal(err)
			}
			if !pyvalue.Equal(got, w.data) {
				t.Fatalf("%s: %s read of %s's session:\n got %s\nwant %s", stage, s.name, w.writer.name,
					mustJSON(t, toTagged(got)), mustJSON(t, toTagged(w.data)))
			}
		}
		gd, dd := outs[0], outs[1]
		if get(t, gd, "expire_at_browser_close") != get(t, dd, "expire_at_browser_close") {
			t.Fatalf("%s: expire_at_browser_close go %s / django %s", stage, mustJSON(t, gd), mustJSON(t, dd))
		}
		// Ages and dates that count from "now" differ by the time between
		// the two reads (seconds on a loaded machine); the rules compared
		// here differ by days or hours when wrong.
		const slack = 30
		ga, da := get(t, gd, "expiry_age"), get(t, dd, "expiry_age")
		if pyvalue.TypeName(ga) != pyvalue.TypeName(da) || math.Abs(toFloat(ga)-toFloat(da)) > slack {
			t.Fatalf("%s: expiry_age go %v / django %v", stage, ga, da)
		}
		gt, dt := toFloat(get(t, gd, "expire_ts")), toFloat(get(t, dd, "expire_ts"))
		if math.Abs(gt-dt) > slack {
			t.Fatalf("%s: expire_ts go %s / django %s", stage, mustJSON(t, gd), mustJSON(t, dd))
		}
		gs, ds := str(t, gd, "expire_date"), str(t, dd, "expire_date")
		if len(gs) < 19 || len(ds) < 19 || gs[:13] != ds[:13] && math.Abs(gt-dt) > slack || strings.Contains(gs[19:], "+") != strings.Contains(ds[19:], "+") {
			t.Fatalf("%s: expire_date go %q / django %q", stage, gs, ds)
		}
	}
	for _, w := range ws {
		checkRead("write", w)
	}
	// Unknown, tampered and hostile keys: nothing there, on both sides.
	tampered := ws[0].key[:len(ws[0].key)-1] + "0"
	if tampered == ws[0].key {
		tampered = ws[0].key[:len(ws[0].key)-1] + "1"
	}
	for _, k := range []string{tampered, "abcdefghijklmnopqrstuvwxyz012345", "../../../../etc/passwd", "sessionid", "e30:1r31eq:SvhpCalRDw0QXjcnCMWw5LH-nAsdXCkveVWF3B1wMvk"} {
		for _, s := range sides {
			args, stdin := keyArgs(k, nil)
			out := must(t, s, "read", args, stdin)
			if get(t, out, "exists") != false || mustJSON(t, get(t, out, "data")) != "{}" {
				t.Fatalf("%s read(%q): %s", s.name, k, mustJSON(t, out))
			}
		}
	}

	// The other side modifies; both read the result.
	for i := range ws {
		w := &ws[i]
		m := other(w.writer)
		set := g.dict(2, 3)
		del := []any{}
		if w.data.Len() > 0 {
			k, _ := w.data.At(g.r.IntN(w.data.Len()))
			if k != "_session_expiry" {
				del = append(del, k)
			}
		}
		del = append(del, "not-there")
		in := obj("set", toTagged(set), "delete", del, "tagged", true)
		args, in := keyArgs(w.key, in)
		res := must(t, m, "modify", args, in)
		for _, k := range del {
			w.data.Delete(k)
		}
		for j := 0; j < set.Len(); j++ {
			k, v := set.At(j)
			w.data.Set(k, v)
		}
		newKey := str(t, res, "session_key")
		if !isCookie && newKey != w.key {
			t.Fatalf("%s modify changed the key %s → %s", m.name, w.key, newKey)
		}
		w.key, w.writer = newKey, m
		checkRead("modify", *w)
	}

	// The other side cycles the key: same data under a new key.
	for i := range ws[:6] {
		w := &ws[i]
		c := other(w.writer)
		args, stdin := keyArgs(w.key, nil)
		res := must(t, c, "cycle", args, stdin)
		old := w.key
		w.key, w.writer = str(t, res, "session_key"), c
		if w.key == old && !isCookie {
			t.Fatalf("%s cycle kept the key", c.name)
		}
		checkRead("cycle", *w)
		for _, s := range sides {
			args, stdin := keyArgs(old, nil)
			out := must(t, s, "read", args, stdin)
			if exists := get(t, out, "exists"); exists != isCookie {
				t.Fatalf("%s reads the key %s cycled away: exists %v", s.name, c.name, exists)
			}
		}
	}

	// Delete from one side: gone for both.
	for i := range ws[6:10] {
		w := ws[6+i]
		d := sides[i%2]
		args, stdin := keyArgs(w.key, nil)
		if out := must(t, d, "delete", args, stdin); mustJSON(t, out) != `{"ok":true}` {
			t.Fatalf("%s delete: %s", d.name, mustJSON(t, out))
		}
		if isCookie {
			continue // a cookie cannot be revoked server-side
		}
		for _, s := range sides {
			args, stdin := keyArgs(w.key, nil)
			if out := must(t, s, "read", args, stdin); get(t, out, "exists") != false {
				t.Fatalf("%s still reads %s, deleted by %s", s.name, w.key, d.name)
			}
		}
		if b.stored(t, cfg, w.key) {
			t.Fatalf("%s delete left %s stored", d.name, w.key)
		}
	}

	// Expired sessions from both sides; clear-expired from each side in
	// turn removes them and keeps the live ones.
	for round, clearer := range sides {
		var expired []string
		for _, w := range sides {
			for range 2 {
				res := must(t, w, "write", nil, obj("data", obj("x", int64(round)), "expiry", int64(-5-round)))
				expired = append(expired, str(t, res, "session_key"))
			}
		}
		if out := must(t, clearer, "clear-expired", nil, nil); mustJSON(t, out) != `{"ok":true}` {
			t.Fatalf("%s clear-expired: %s", clearer.name, mustJSON(t, out))
		}
		if isCookie {
			continue
		}
		for _, k := range expired {
			if b.stored(t, cfg, k) {
				t.Fatalf("%s clear-expired left expired %s", clearer.name, k)
			}
		}
		for _, w := range ws[10:] {
			if !b.stored(t, cfg, w.key) {
				t.Fatalf("%s clear-expired removed live %s", clearer.name, w.key)
			}
		}
	}
	for _, w := range ws[10:] {
		checkRead("after clear-expired", w)
	}
	authScenario(t, cfg, g, goSide, djSide)
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	panic(fmt.Sprintf("not a number: %v", v))
}
