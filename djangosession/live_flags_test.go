package djangosession

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"github.com/djsession/djsession/internal/peer"
	"github.com/djsession/djsession/pyvalue"
)

// flagsScript runs op sequences on Django 3.2's SessionBase over an
// in-memory store with the db engine's save/create/load/delete logic and
// reports, after every op, the flags and outcome.
const flagsScript = `
import json, sys
from django.conf import settings
settings.configure(SECRET_KEY="flags-secret", USE_TZ=True)
import django
django.setup()
from django.contrib.sessions.backends.base import SessionBase, CreateError, UpdateError

class MemStore(SessionBase):
    rows = {}
    def exists(self, key):
        return key in MemStore.rows
    def create(self):
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return
    def save(self, must_create=False):
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        key = self._get_or_create_session_key()
        if must_create and key in MemStore.rows:
            raise CreateError
        if not must_create and key not in MemStore.rows:
            raise UpdateError
        MemStore.rows[key] = self.encode(data)
    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        MemStore.rows.pop(session_key, None)
    def load(self):
        try:
            return self.decode(MemStore.rows[self.session_key])
        except KeyError:
            self._session_key = None
            return {}

out = []
for trial in json.load(sys.stdin):
    MemStore.rows.clear()
    seed = MemStore()
    seed["a"] = 1
    seed["b"] = "x"
    seed.save()
    key = {"seeded": seed.session_key, "none": None, "unknown": "abcdefgh12"}[trial["start"]]
    s = MemStore(key)
    steps = []
    for op in trial["ops"]:
        name, arg = op[0], op[1] if len(op) > 1 else None
        err, res = None, None
        try:
            if name == "get": res = s.get(arg)
            elif name == "set": s[arg] = 7
            elif name == "del": del s[arg]
            elif name == "pop": res = s.pop(arg, None)
            elif name == "setdefault": res = s.setdefault(arg, 8)
            elif name == "update": s.update({arg: 9} if arg else {})
            elif name == "clear": s.clear()
            elif name == "keys": res = list(s.keys())
            elif name == "contains": res = arg in s
            elif name == "set_expiry": s.set_expiry(arg)
            elif name == "age": res = s.get_expiry_age()
            elif name == "browser_close": res = s.get_expire_at_browser_close()
            elif name == "flush": s.flush()
            elif name == "cycle": s.cycle_key()
            elif name == "save": s.save()
            elif name == "is_empty": res = s.is_empty()
            elif name == "external_delete": MemStore.rows.pop(seed.session_key, None)
        except Exception as e:
            err = type(e).__name__
        steps.append({"accessed": s.accessed, "modified": s.modified, "empty": s.is_empty(),
                      "haskey": s.session_key is not None, "err": err, "res": res})
    out.append({"steps": steps, "final": dict(s._session_cache) if hasattr(s, "_session_cache") else None})
print(json.dumps(out))
`

type flagStep struct {
	Accessed bool   `json:"accessed"`
	Modified bool   `json:"modified"`
	Empty    bool   `json:"empty"`
	HasKey   bool   `json:"haskey"`
	Err      string `json:"err"`
	Res      any    `json:"res"`
}

// TestLiveSessionFlagsDjango32 runs random op sequences through Django 3.2's
// SessionBase and through Session, comparing accessed, modified,
// is_empty(), whether a key is held, errors and results after every op.
func TestLiveSessionFlagsDjango32(t *testing.T) {
	peer.Require(t)
	ops := []string{"get", "set", "del", "pop", "setdefault", "update", "clear", "keys", "contains",
		"set_expiry", "age", "browser_close", "flush", "cycle", "save", "is_empty", "external_delete"}
	keys := []string{"a", "b", "c"}
	r := rand.New(rand.NewPCG(3, 2))
	type trial struct {
		Start string  `json:"start"`
		Ops   [][]any `json:"ops"`
	}
	trials := make([]trial, 600)
	for i := range trials {
		tr := trial{Start: []string{"seeded", "none", "unknown"}[r.IntN(3)]}
		for j, n := 0, 1+r.IntN(6); j < n; j++ {
			op := ops[r.IntN(len(ops))]
			switch op {
			case "get", "set", "del", "pop", "setdefault", "contains":
				tr.Ops = append(tr.Ops, []any{op, keys[r.IntN(len(keys))]})
			case "update":
				if r.IntN(3) == 0 {
					tr.Ops = append(tr.Ops, []any{op, ""})
				} else {
					tr.Ops = append(tr.Ops, []any{op, keys[r.IntN(len(keys))]})
				}
			case "set_expiry":
				tr.Ops = append(tr.Ops, []any{op, []any{nil, 0, 300}[r.IntN(3)]})
			default:
				tr.Ops = append(tr.Ops, []any{op})
			}
		}
		trials[i] = tr
	}
	in, _ := json.Marshal(trials)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, peer.Python, "-c", flagsScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var want []struct {
		Steps []flagStep     `json:"steps"`
		Final map[string]any `json:"final"`
	}
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	seen := map[string]int{}
	for i, tr := range trials {
		e := newTestEnv(t, `{"SECRET_KEY":"flags-secret","USE_TZ":true}`)
		seedKey := e.seed(t)
		key := map[string]string{"seeded": seedKey, "none": "", "unknown": "abcdefgh12"}[tr.Start]
		s := e.m.Session(key)
		for j, op := range tr.Ops {
			var res any
			var err error
			arg := ""
			if len(op) > 1 {
				arg, _ = op[1].(string)
			}
			switch op[0] {
			case "get":
				res, _, err = s.Get(bg, arg)
			case "set":
				err = s.Set(bg, arg, int64(7))
			case "del":
				err = s.Delete(bg, arg)
			case "pop":
				res, _, err = s.Pop(bg, arg)
			case "setdefault":
				res, err = s.SetDefault(bg, arg, int64(8))
			case "update":
				d := pyvalue.NewDict(1)
				if arg != "" {
					d.Set(arg, int64(9))
				}
				err = s.Update(bg, d)
			case "clear":
				s.Clear()
			case "keys":
				var ks []string
				ks, err = s.Keys(bg)
				l := make([]any, len(ks))
				for k, v := range ks {
					l[k] = v
				}
				res = l
			case "contains":
				res, err = s.Has(bg, arg)
			case "set_expiry":
				switch v := op[1].(type) {
				case nil:
					err = s.SetExpiry(bg, nil)
				case int:
					err = s.SetExpiry(bg, v)
				}
			case "age":
				var f float64
				f, err = s.ExpiryAge(bg)
				res = f
			case "browser_close":
				res, err = s.ExpireAtBrowserClose(bg)
			case "flush":
				err = s.Flush(bg)
			case "cycle":
				err = s.CycleKey(bg)
			case "save":
				err = s.Save(bg)
			case "is_empty":
				res = s.IsEmpty()
			case "external_delete":
				delete(e.store.rows, seedKey)
			}
			got := flagStep{Accessed: s.Accessed(), Modified: s.Modified(), Empty: s.IsEmpty(), HasKey: s.Key() != "", Res: jsonish(res)}
			switch {
			case errors.Is(err, ErrKeyNotFound):
				got.Err = "KeyError"
			case errors.Is(err, ErrSessionInterrupted):
				got.Err = "UpdateError"
			case err != nil:
				got.Err = err.Error()
			}
			w := want[i].Steps[j]
			w.Res = jsonish(w.Res)
			seen[w.Err]++
			if w.Modified {
				seen["modified"]++
			}
			if !reflect.DeepEqual(got, w) {
				t.Fatalf("trial %d (%s %v), step %d %v:\n go     %+v\n django %+v", i, tr.Start, tr.Ops, j, op, got, w)
			}
		}
		if want[i].Final != nil {
			d, _ := s.Data(bg)
			b, _ := pyvalue.MarshalJSON(d)
			var gd map[string]any
			_ = json.Unmarshal(b, &gd)
			if fmt.Sprint(gd) != fmt.Sprint(want[i].Final) {
				t.Errorf("trial %d: final data %v, Django %v", i, gd, want[i].Final)
			}
		}
	}
	t.Logf("outcomes over %d trials: %v", len(trials), seen)
	if seen["KeyError"] == 0 || seen["UpdateError"] == 0 || seen["modified"] == 0 {
		t.Errorf("the trials missed an outcome: %v", seen)
	}
}

// jsonish normalises a result for comparison: numbers as float64, lists and
// maps as decoded by encoding/json.
func jsonish(v any) any {
	switch x := v.(type) {
	case nil, bool, string:
		return x
	case int64:
		return float64(x)
	case float64:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}
