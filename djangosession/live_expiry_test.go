package djangosession

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"testing"
	"time"

	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/pyvalue"
)

// expiryScript asks Django 3.2's SessionBase for get_expiry_age and
// get_expiry_date at a given modification time (argv[1]: USE_TZ and
// TIME_ZONE; stdin: a JSON list of cases; stdout: a JSON list of answers).
const expiryScript = `
import datetime, json, sys
from django.conf import settings
cfg = json.loads(sys.argv[1])
settings.configure(SECRET_KEY="x", USE_TZ=cfg["USE_TZ"], TIME_ZONE=cfg["TIME_ZONE"])
import django
django.setup()
from django.contrib.sessions.backends.base import SessionBase
s = SessionBase()
out = []
for c in json.load(sys.stdin):
    mod = datetime.datetime.fromisoformat(c["mod"])
    e = c["expiry"]
    if c.get("dt"):
        e = datetime.datetime.fromisoformat(e)
    r = {}
    for name, f in (("age", s.get_expiry_age), ("date", s.get_expiry_date)):
        try:
            v = f(modification=mod, expiry=e)
            r[name] = v.isoformat() if isinstance(v, datetime.datetime) else v
        except Exception as ex:
            r[name + "_error"] = type(ex).__name__
    out.append(r)
print(json.dumps(out))
`

// TestLiveExpiryDjango32 compares ExpiryPolicy with Django 3.2's helpers on
// random modification times and expiries, USE_TZ on and off, in zones with
// DST and odd offsets: the wall-clock arithmetic of USE_TZ=False included.
func TestLiveExpiryDjango32(t *testing.T) {
	peer.Require(t)
	zones := []string{"America/Chicago", "Asia/Kathmandu", "Australia/Lord_Howe", "Europe/London", "UTC"}
	for zi, zone := range zones {
		for _, useTZ := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/USE_TZ=%v", zone, useTZ), func(t *testing.T) {
				t.Parallel()
				loc := mustLoc(t, zone)
				p := &ExpiryPolicy{Version: Version{3, 2}, UseTZ: useTZ, Location: loc, CookieAge: 1209600}
				r := rand.New(rand.NewPCG(uint64(zi), map[bool]uint64{false: 1, true: 2}[useTZ]))
				type tcase struct {
					Mod    string `json:"mod"`
					Expiry any    `json:"expiry"`
					DT     bool   `json:"dt,omitempty"`
				}
				var cases []tcase
				var mods []time.Time
				var expiries []any
				for i := 0; i < 400; i++ {
					mod := time.Unix(946684800+r.Int64N(30*365*86400), int64(r.IntN(1e6))*1000).In(loc)
					var modText string
					if useTZ {
						modText = pyvalue.DateTimeFromTime(mod.UTC()).ISOFormat()
					} else {
						modText = pyvalue.NaiveDateTimeFromTime(mod).ISOFormat()
					}
					var expiry, goExpiry any
					dt := false
					switch r.IntN(6) {
					case 0:
						expiry, goExpiry = nil, nil
					case 1:
						n := int64(r.IntN(400*86400) - 10*86400)
						expiry, goExpiry = n, n
					case 2:
						f := float64(r.IntN(1e7)) / 8
						expiry, goExpiry = f, f
					case 3:
						expiry, goExpiry = int64(0), int64(0)
					default:
						// An absolute datetime within a year, naive or aware.
						et := mod.Add(time.Duration(r.Int64N(int64(365*24*time.Hour))) - 30*24*time.Hour)
						var d pyvalue.DateTime
						if r.IntN(4) == 0 != useTZ {
							d = pyvalue.DateTimeFromTime(et.UTC())
						} else {
							d = pyvalue.NaiveDateTimeFromTime(et)
						}
						expiry, goExpiry, dt = d.ISOFormat(), d, true
					}
					cases = append(cases, tcase{modText, expiry, dt})
					mods = append(mods, mod)
					expiries = append(expiries, goExpiry)
				}
				in, _ := json.Marshal(cases)
				cfg, _ := json.Marshal(map[string]any{"USE_TZ": useTZ, "TIME_ZONE": zone})
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				cmd := exec.CommandContext(ctx, peer.Python, "-c", expiryScript, string(cfg))
				cmd.Stdin = bytes.NewReader(in)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				cancel()
				if err != nil {
					t.Fatalf("python: %v\n%s", err, stderr.String())
				}
				var answers []map[string]any
				dec := json.NewDecoder(bytes.NewReader(out))
				dec.UseNumber()
				if err := dec.Decode(&answers); err != nil {
					t.Fatal(err)
				}
				errs := 0
				for i, a := range answers {
					age, aerr := p.Age(expiries[i], mods[i])
					if _, ok := a["age_error"]; ok {
						errs++
						if aerr == nil {
							t.Errorf("%s/%v %+v: Django raises %v, Go age %v", zone, useTZ, cases[i], a["age_error"], age)
						}
					} else if want, _ := a["age"].(json.Number).Float64(); aerr != nil || age != want {
						t.Errorf("%s/%v %+v: age %v %v, Django %v", zone, useTZ, cases[i], age, aerr, a["age"])
					}
					d, derr := p.DateTime(expiries[i], mods[i])
					if _, ok := a["date_error"]; ok {
						if derr == nil {
							t.Errorf("%s/%v %+v: Django raises %v, Go date %v", zone, useTZ, cases[i], a["date_error"], d)
						}
					} else if derr != nil || d.ISOFormat() != a["date"] {
						t.Errorf("%s/%v %+v: date %s %v, Django %v", zone, useTZ, cases[i], d.ISOFormat(), derr, a["date"])
					}
				}
				if errs == 0 {
					t.Errorf("%s/%v: no mismatched naive/aware case was exercised", zone, useTZ)
				}
			})
		}
	}
}
