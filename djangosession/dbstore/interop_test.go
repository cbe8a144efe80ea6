package dbstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
)

// randValue returns a random JSON-representable Python value.
func randValue(r *rand.Rand, depth int) any {
	n := 9
	if depth > 2 {
		n = 6 // scalars only
	}
	switch r.IntN(n) {
	case 0:
		return randString(r)
	case 1:
		return r.Int64N(1<<40) - 1<<39
	case 2:
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(20)-10))
	case 3:
		return r.IntN(2) == 0
	case 4:
		return nil
	case 5:
		b := new(big.Int).Lsh(big.NewInt(1), uint(64+r.IntN(64)))
		return b.Add(b, big.NewInt(r.Int64()))
	case 6, 7:
		l := make([]any, r.IntN(4))
		for i := range l {
			l[i] = randValue(r, depth+1)
		}
		return l
	default:
		return randDict(r, depth+1)
	}
}

var alphabet = []rune("abcXYZ019 _-:.'\"\\/\u00e9\u00df\u4e2d\U0001F600\u2603\n\t<>&")

func randString(r *rand.Rand) string {
	rs := make([]rune, r.IntN(12))
	for i := range rs {
		rs[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(rs)
}

func randDict(r *rand.Rand, depth int) *pyvalue.Dict {
	n := r.IntN(5)
	d := pyvalue.NewDict(n)
	for i := 0; i < n; i++ {
		d.Set(fmt.Sprintf("k%d%s", i, randString(r)), randValue(r, depth))
	}
	return d
}

func copyDict(d *pyvalue.Dict) *pyvalue.Dict {
	out := pyvalue.NewDict(d.Len())
	for _, k := range d.Keys() {
		v, _ := d.Get(k)
		out.Set(k, v)
	}
	return out
}

func rawJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := pyvalue.MarshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type interopConfig struct {
	useTZ  bool
	zone   string
	pickle bool // PickleSerializer: Django 3.2 can then store set_expiry(datetime)
}

var interopConfigs = []interopConfig{
	{true, "America/Chicago", false},
	{true, "Asia/Kathmandu", true},
	{false, "America/Chicago", true},
	{false, "Asia/Kathmandu", false},
}

// TestDjangoInterop pairs the Go store with real Django 3.2 on the same
// database, for every backend, USE_TZ on and off, in a UTC-6 zone and the
// +05:45 zone: Go creates the table and Django uses it, each side reads what
// the other wrote, Go modifies what Django wrote, expiry (relative, expired,
// browser close) agrees, and clear-expired from either side removes exactly
// the expired rows.
func TestDjangoInterop(t *testing.T) {
	peer.Require(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	n := 30
	if testing.Short() {
		n = 10
	}
	cases := 0
	for _, b := range allBackends {
		t.Run(b.name, func(t *testing.T) {
			tdb := openDB(t, b)
			for ci, ic := range interopConfigs {
				t.Run(fmt.Sprintf("USE_TZ=%v/%s/pickle=%v", ic.useTZ, ic.zone, ic.pickle), func(t *testing.T) {
					r := rand.New(rand.NewPCG(seed, uint64(ci)))
					tdb.exec(t, "DROP TABLE IF EXISTS "+tdb.dialect.quote(DefaultTable))
					tdb.exec(t, "DROP TABLE IF EXISTS "+tdb.dialect.quote("django_migrations"))
					cases += interop(t, tdb, ic, r, n)
				})
			}
		})
	}
	t.Logf("%d interop cases", cases)
}

func interop(t *testing.T, tdb *testDB, ic interopConfig, r *rand.Rand, n int) int {
	ctx := context.Background()
	cfg := map[string]any{
		"SECRET_KEY":            "interop-secret-" + tdb.name,
		"TARGET_DJANGO_VERSION": "3.2",
		"SESSION_ENGINE":        "django.contrib.sessions.backends.db",
		"DATABASES":             map[string]any{"default": tdb.django},
		"USE_TZ":                ic.useTZ,
		"TIME_ZONE":             ic.zone,
	}
	if ic.pickle {
		cfg["SESSION_SERIALIZER"] = "django.contrib.sessions.serializers.PickleSerializer"
	}
	s := settings(t, cfg)
	loc, err := s.Location()
	if err != nil {
		t.Fatal(err)
	}
	rowLoc := rowLocation(ic, loc)
	// Go creates the table; Django then uses it.
	st := newStore(t, tdb, s)
	dj := startPeer(t, cfg, ic.zone)
	cases := 0

	expiries := []any{nil, int64(300 + r.IntN(2000000)), int64(0), int64(-10)}

	// Django writes -> Go reads.
	for i := 0; i < n; i++ {
		data := randDict(r, 0)
		exp := expiries[i%len(expiries)]
		res := dj.Do(t, peer.Call{Sub: "write", Stdin: []byte(`{"data":` + string(rawJSON(t, data)) + `,"expiry":` + string(rawJSON(t, exp)) + `}`)}).OK(t)
		key := res.Str(t, "session_key")
		want := copyDict(data)
		if exp != nil {
			want.Set(djangosession.ExpiryKey, exp)
		}
		rec := &djangosession.Record{Key: key}
		err := st.Load(ctx, rec)
		if exp == int64(-10) {
			if !errors.Is(err, djangosession.ErrNotFound) {
				t.Fatalf("Go loaded a session Django wrote expired: %v %v", rec.Data, err)
			}
		} else {
			if err != nil {
				t.Fatalf("Go Load of Django's session: %v", err)
			}
			if !pyvalue.Equal(rec.Data, want) {
				t.Fatalf("Go loaded %v\nDjango wrote %v", rec.Data, want)
			}
		}
		row, ok := tdb.row(t, DefaultTable, key)
		if !ok {
			t.Fatal("no row")
		}
		// expire_ts is get_expiry_date() computed again after the save,
		// so a relative expiry has moved on by the time of that call.
		got := storedInstant(t, tdb, row.Exp, rowLoc)
		if wantUS := int64(math.Round(res.Float(t, "expire_ts") * 1e6)); absI(got.UnixMicro()-wantUS) > 10e6 || got.UnixMicro() > wantUS {
			t.Fatalf("row expire_date %s = %v, Django's expire_ts says %v", row.Exp, got, time.UnixMicro(wantUS))
		}
		cases++
	}

	// Go writes -> Django reads.
	for i := 0; i < n; i++ {
		data := randDict(r, 0)
		exp := expiries[i%len(expiries)]
		if exp != nil {
			data.Set(djangosession.ExpiryKey, exp)
		}
		now := time.Now()
		expDate, err := djangosession.GetExpiryDate(s, exp, now)
		if err != nil {
			t.Fatal(err)
		}
		key := newKey(t)
		if err := st.Save(ctx, &djangosession.Record{Key: key, Data: data, ExpireDate: expDate}, true); err != nil {
			t.Fatal(err)
		}
		res := dj.Do(t, peer.Call{Sub: "read", Args: []string{key}}).OK(t)
		if exp == int64(-10) {
			if res.Bool(t, "exists") {
				t.Fatalf("Django loaded a session Go wrote expired: %s", res)
			}
			cases++
			continue
		}
		if !res.Bool(t, "exists") {
			t.Fatalf("Django does not find the session Go wrote (expire_date %v): %s", expDate, res)
		}
		if got := res.Dict(t, "data"); !pyvalue.Equal(got, data) {
			t.Fatalf("Django read %v\nGo wrote %v", got, data)
		}
		if bc := res.Bool(t, "expire_at_browser_close"); bc != (exp == int64(0)) {
			t.Fatalf("expire_at_browser_close = %v for expiry %v", bc, exp)
		}
		wantAge := int64(1209600)
		if e, ok := exp.(int64); ok && e != 0 {
			wantAge = e
		}
		if age := res.Int(t, "expiry_age"); age != wantAge {
			t.Fatalf("Django's expiry_age = %d, want %d", age, wantAge)
		}
		cases++
	}

	// Go modifies -> Django reads.
	for i := 0; i < n/2; i++ {
		data := randDict(r, 0)
		data.Set("keep", "me")
		res := dj.Do(t, peer.Call{Sub: "write", Stdin: []byte(`{"data":` + string(rawJSON(t, data)) + `}`)}).OK(t)
		key := res.Str(t, "session_key")
		rec := &djangosession.Record{Key: key}
		if err := st.Load(ctx, rec); err != nil {
			t.Fatal(err)
		}
		d := rec.Data
		for _, k := range d.Keys() {
			if k != "keep" && r.IntN(2) == 0 {
				d.Delete(k)
			}
		}
		d.Set("go", randValue(r, 1))
		d.Set(djangosession.ExpiryKey, int64(500))
		expDate, err := djangosession.GetExpiryDate(s, int64(500), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		rec.ExpireDate = expDate
		if err := st.Save(ctx, rec, false); err != nil {
			t.Fatal(err)
		}
		res = dj.Do(t, peer.Call{Sub: "read", Args: []string{key}}).OK(t)
		if !res.Bool(t, "exists") || !pyvalue.Equal(res.Dict(t, "data"), d) {
			t.Fatalf("Django read %s after Go's modification to %v", res, d)
		}
		if age := res.Int(t, "expiry_age"); age != 500 {
			t.Fatalf("expiry_age %d, want 500", age)
		}
		cases++
	}

	if ic.pickle {
		absoluteExpiry(t, tdb, st, dj, s, rowLoc)
	}

	// clear-expired from Django removes what Go wrote expired, and vice versa.
	tdb.exec(t, "DELETE FROM "+tdb.dialect.quote(DefaultTable))
	live := map[string]bool{}
	for i := 0; i < 10; i++ {
		key := newKey(t)
		exp := time.Now().Add(-time.Duration(i+2) * time.Second)
		if i%2 == 0 {
			exp = time.Now().Add(time.Duration(i+60) * time.Second)
			live[key] = true
		}
		if !ic.useTZ {
			exp = exp.In(loc)
		}
		if err := st.Save(ctx, &djangosession.Record{Key: key, Data: randDict(r, 0), ExpireDate: exp}, true); err != nil {
			t.Fatal(err)
		}
	}
	dj.Do(t, peer.Call{Sub: "clear-expired"}).OK(t)
	checkKeys(t, tdb, live)
	for i := 0; i < 10; i++ {
		exp := any(int64(-10 - i))
		if i%2 == 0 {
			exp = int64(3600)
		}
		res := dj.Do(t, peer.Call{Sub: "write", Stdin: []byte(`{"data":{"i":` + fmt.Sprint(i) + `},"expiry":` + fmt.Sprint(exp) + `}`)}).OK(t)
		if i%2 == 0 {
			live[res.Str(t, "session_key")] = true
		}
	}
	if cleared, err := st.ClearExpiredCount(ctx); err != nil || cleared != 5 {
		t.Fatalf("Go cleared %d rows (%v), want 5", cleared, err)
	}
	checkKeys(t, tdb, live)
	for key := range live {
		if !dj.Do(t, peer.Call{Sub: "read", Args: []string{key}}).OK(t).Bool(t, "exists") {
			t.Fatalf("live session %s lost", key)
		}
	}
	return cases + 20
}

// startPeer starts the Django peer with the process time zone set to
// TIME_ZONE, as Django's Settings does (os.environ["TZ"] = TIME_ZONE) for a
// project run through manage.py or WSGI. settings.configure(), which the
// peer uses, skips that step, and with USE_TZ=False timezone.now() is the
// process's local time.
func startPeer(t *testing.T, cfg map[string]any, zone string) *peer.Proc {
	t.Helper()
	t.Setenv("TZ", zone)
	return peer.Django(t).Start(t, cfg)
}

// rowLocation is where the naive expire_date text of SQLite/MySQL lives:
// UTC with USE_TZ, TIME_ZONE without.
func rowLocation(ic interopConfig, loc *time.Location) *time.Location {
	if ic.useTZ {
		return time.UTC
	}
	return loc
}

func absI(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func checkKeys(t *testing.T, tdb *testDB, want map[string]bool) {
	t.Helper()
	rows := tdb.rows(t, DefaultTable)
	if len(rows) != len(want) {
		t.Fatalf("%d rows after clear-expired, want %d: %+v", len(rows), len(want), rows)
	}
	for _, r := range rows {
		if !want[r.Key] {
			t.Fatalf("row %s survived clear-expired (expire_date %s)", r.Key, r.Exp)
		}
	}
}

// absoluteExpiry: an absolute expiry (set_expiry(datetime)), which Django
// 3.2 can only store with PickleSerializer, gives the same expire_date
// whichever side wrote it.
func absoluteExpiry(t *testing.T, tdb *testDB, st *Store, dj *peer.Proc, s *djangosession.Settings, rowLoc *time.Location) {
	t.Helper()
	ctx := context.Background()
	at := time.Now().Add(3*time.Hour + 123456*time.Microsecond).Truncate(time.Microsecond).UTC()
	iso := at.Format("2006-01-02T15:04:05.999999-07:00")

	// Django writes, Go reads the row and the data.
	res := dj.Do(t, peer.Call{Sub: "write", Stdin: []byte(`{"data":{"a":1},"expiry":"` + iso + `"}`)}).OK(t)
	key := res.Str(t, "session_key")
	rec := &djangosession.Record{Key: key}
	if err := st.Load(ctx, rec); err != nil {
		t.Fatal(err)
	}
	e, _ := rec.Data.Get(djangosession.ExpiryKey)
	goDate, err := djangosession.GetExpiryDate(s, e, time.Now())
	if err != nil {
		t.Fatalf("expiry %v: %v", e, err)
	}
	if !goDate.Equal(at) {
		t.Fatalf("Go reads the expiry as %v, want %v", goDate, at)
	}
	row, _ := tdb.row(t, DefaultTable, key)
	if got := storedInstant(t, tdb, row.Exp, rowLoc); !got.Equal(at) {
		t.Fatalf("Django stored %s = %v, want %v", row.Exp, got, at)
	}

	// Go writes the same, Django reads it.
	key2 := newKey(t)
	if err := st.Save(ctx, &djangosession.Record{Key: key2, Data: rec.Data, ExpireDate: goDate}, true); err != nil {
		t.Fatal(err)
	}
	row2, _ := tdb.row(t, DefaultTable, key2)
	if row2.Exp != row.Exp {
		t.Fatalf("Go stored expire_date %q, Django %q", row2.Exp, row.Exp)
	}
	res = dj.Do(t, peer.Call{Sub: "read", Args: []string{key2}}).OK(t)
	if !res.Bool(t, "exists") {
		dec := dj.Do(t, peer.Call{Sub: "decode", Stdin: map[string]any{"session_data": row2.Data}})
		t.Fatalf("Django does not read Go's session: %s\nrow %+v\ndecode: %s", res, row2, dec)
	}
	if ts := res.Float(t, "expire_ts"); int64(math.Round(ts*1e6)) != at.UnixMicro() {
		t.Fatalf("Django's expire_ts %v, want %v", ts, at)
	}
	de, err := vectors.Untag(res.Dict(t, "data"))
	if err != nil {
		t.Fatal(err)
	}
	dd := de.(*pyvalue.Dict)
	a, _ := dd.Get("a")
	de2, _ := dd.Get(djangosession.ExpiryKey)
	djDate, err := djangosession.GetExpiryDate(s, de2, time.Now())
	if !pyvalue.Equal(a, int64(1)) || dd.Len() != 2 || err != nil || !djDate.Equal(at) {
		t.Fatalf("Django read %v (expiry %v, %v), want %v", de, djDate, err, rec.Data)
	}
}

// TestGoCreatesTableDjangoMigrates: after Migrate, Django's own plain
// `manage.py migrate` (no --fake-initial) succeeds and finds sessions
// applied, and Django's ORM uses the table.
func TestGoCreatesTableDjangoMigrates(t *testing.T) {
	peer.Require(t)
	for _, b := range []backend{allBackends[0], allBackends[1], allBackends[3]} {
		t.Run(b.name, func(t *testing.T) {
			tdb := openDB(t, b)
			s := settings(t, map[string]any{"USE_TZ": true})
			st := newStore(t, tdb, s)
			key := newKey(t)
			if err := st.Save(context.Background(), &djangosession.Record{Key: key, Data: dict("from", "go"), ExpireDate: time.Now().Add(time.Hour)}, true); err != nil {
				t.Fatal(err)
			}
			script := `
import json, sys, django
from django.conf import settings
settings.configure(DATABASES={"default": json.loads(sys.argv[1])}, USE_TZ=True,
    SECRET_KEY="spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions"])
django.setup()
from django.core.management import call_command
import io
call_command("migrate", interactive=False, verbosity=0, stdout=io.StringIO())
from django.db.migrations.recorder import MigrationRecorder
from django.db import connection
applied = MigrationRecorder(connection).applied_migrations()
assert ("sessions", "0001_initial") in applied, applied
assert ("auth", "0001_initial") in applied, applied
from django.contrib.sessions.models import Session
s = Session.objects.get(session_key=sys.argv[2])
print(json.dumps(s.get_decoded()))
`
			out, err := exec.Command(peer.Python, "-c", script, string(rawJSONAny(t, tdb.django)), key).CombinedOutput()
			if err != nil {
				t.Fatalf("Django migrate after Go's Migrate: %v\n%s", err, out)
			}
			if got := strings.TrimSpace(string(out)); got != `{"from": "go"}` {
				t.Fatalf("Django read %s", got)
			}
		})
	}
}

func rawJSONAny(t *testing.T, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
