package dbstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/internal/vectors"
	"github.com/djsession/djsession/pyvalue"
)

// dbCase is one case of testdata/vectors/db_rows.json.
type dbCase struct {
	Op            string              `json:"op"`
	Engine        string              `json:"engine"`
	UseTZ         bool                `json:"USE_TZ"`
	TimeZone      string              `json:"TIME_ZONE"`
	DjangoVersion string              `json:"django_version"`
	Now           string              `json:"now"`
	SessionDict   json.RawMessage     `json:"session_dict"`
	SessionKey    string              `json:"session_key"`
	OldKey        string              `json:"old_key"`
	Loaded        json.RawMessage     `json:"loaded"`
	Result        json.RawMessage     `json:"result"`
	SQL           []*string           `json:"sql"`
	DDL           []string            `json:"ddl"`
	RowsAfter     []dbRow             `json:"rows_after"`
	Rows          []dbRow             `json:"rows"`
	Results       map[string]dbResult `json:"results"`
	Columns       [][]any             `json:"columns"`
	Indexes       [][]string          `json:"indexes"`
}

type dbRow struct {
	SessionKey  string `json:"session_key"`
	SessionData string `json:"session_data"`
	Text        string `json:"expire_date_text"`
	Raw         string `json:"expire_date_raw"`
	UTCText     string `json:"expire_date_utc_text"`
	SQLiteType  string `json:"sqlite_typeof"`
}

type dbResult struct {
	Loaded json.RawMessage `json:"loaded"`
	Text   string          `json:"expire_date_text"`
}

// expected returns the row's expire_date as testDB.rows reads it.
func (r dbRow) expected(d Dialect) string {
	switch d {
	case SQLite:
		return r.Raw
	case Postgres:
		return r.UTCText
	}
	return r.Text
}

// group is the cases of one run: engine, USE_TZ, Django version.
type group struct {
	engine, version, zone string
	useTZ                 bool
	cases                 []dbCase
}

func loadGroups(t *testing.T) []*group {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors.Dir(t), "db_rows.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []dbCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var out []*group
	idx := map[string]*group{}
	for _, c := range f.Cases {
		k := fmt.Sprintf("%s/%s/%v", c.Engine, c.DjangoVersion, c.UseTZ)
		g := idx[k]
		if g == nil {
			g = &group{engine: c.Engine, version: c.DjangoVersion, zone: c.TimeZone, useTZ: c.UseTZ}
			idx[k] = g
			out = append(out, g)
		}
		g.cases = append(g.cases, c)
	}
	return out
}

func pyJSON(t *testing.T, raw json.RawMessage) *pyvalue.Dict {
	t.Helper()
	v, err := pyvalue.UnmarshalJSONText(raw)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	d, ok := v.(*pyvalue.Dict)
	if !ok {
		t.Fatalf("%s is not an object", raw)
	}
	return d
}

var (
	reLastLiteral = regexp.MustCompile(`'([^']*)'(?:::timestamp(?:tz)?)?\)?$`)
	reLoadNow     = regexp.MustCompile(`expire_date[` + "`" + `"]? > '([^']*)'`)
	reClearNow    = regexp.MustCompile(`expire_date[` + "`" + `"]? < '([^']*)'`)
	reUpdateExp   = regexp.MustCompile(`expire_date[` + "`" + `"]? = '([^']*)'`)
	reKey         = regexp.MustCompile(`session_key[` + "`" + `"]? = '([^']*)'`)
)

func match(t *testing.T, re *regexp.Regexp, s *string) string {
	t.Helper()
	if s == nil {
		t.Fatalf("no SQL to match %v", re)
	}
	m := re.FindStringSubmatch(*s)
	if m == nil {
		t.Fatalf("%v does not match %s", re, *s)
	}
	return m[1]
}

// lastSQL returns the last statement of c matching prefix.
func lastSQL(c dbCase, prefix string) *string {
	for i := len(c.SQL) - 1; i >= 0; i-- {
		if c.SQL[i] != nil && strings.HasPrefix(*c.SQL[i], prefix) {
			return c.SQL[i]
		}
	}
	return nil
}

// TestVectors replays every case of db_rows.json on the matching real
// database, with Django's frozen clock: the DDL and the schema as stored,
// the text bound for expire_date and "now", the rows after each operation,
// the load/clear boundaries and SQLite's text comparison pitfalls.
func TestVectors(t *testing.T) {
	groups := loadGroups(t)
	if len(groups) == 0 {
		t.Fatal("no cases")
	}
	total := 0
	for _, b := range allBackends {
		t.Run(b.name, func(t *testing.T) {
			tdb := openDB(t, b)
			for _, g := range groups {
				if g.engine != b.dialect.String() {
					continue
				}
				t.Run(fmt.Sprintf("%s/USE_TZ=%v", g.version, g.useTZ), func(t *testing.T) {
					total += replayGroup(t, tdb, g)
				})
			}
		})
	}
	t.Logf("%d vector cases replayed", total)
}

func replayGroup(t *testing.T, tdb *testDB, g *group) int {
	ctx := context.Background()
	q := tdb.dialect.quote
	tdb.exec(t, "DROP TABLE IF EXISTS "+q("django_session"))
	tdb.exec(t, "DROP TABLE IF EXISTS "+q("django_migrations"))
	version := g.version[:strings.LastIndexByte(g.version, '.')]
	s := settings(t, map[string]any{"USE_TZ": g.useTZ, "TIME_ZONE": g.zone, "TARGET_DJANGO_VERSION": version})
	loc, err := s.Location()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	clock := func() time.Time { return now }
	codec, err := djangosession.NewCodec(s, djangosession.WithNow(clock))
	if err != nil {
		t.Fatal(err)
	}
	st, err := New(tdb.db, tdb.dialect, s, WithCodec(codec), WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	setNow := func(c dbCase) {
		t.Helper()
		if c.Now == "" {
			return
		}
		var err error
		if g.useTZ {
			now, err = time.Parse("2006-01-02T15:04:05.999999-07:00", c.Now)
		} else {
			now, err = time.ParseInLocation("2006-01-02T15:04:05.999999", c.Now, loc)
		}
		if err != nil {
			t.Fatalf("now %q: %v", c.Now, err)
		}
	}
	checkRows := func(t *testing.T, want []dbRow) {
		t.Helper()
		got := tdb.rows(t, DefaultTable)
		sort.Slice(want, func(i, j int) bool { return want[i].SessionKey < want[j].SessionKey })
		if len(got) != len(want) {
			t.Fatalf("rows = %+v, want %+v", got, want)
		}
		for i, w := range want {
			g := got[i]
			if g.Key != w.SessionKey || g.Data != w.SessionData || g.Exp != w.expected(tdb.dialect) {
				t.Errorf("row %d = %+v\nwant key=%s data=%s expire=%s", i, g, w.SessionKey, w.SessionData, w.expected(tdb.dialect))
			}
			if w.SQLiteType != "" {
				var typ string
				if err := tdb.db.QueryRow(`SELECT typeof("expire_date") FROM "django_session" WHERE "session_key" = ?`, w.SessionKey).Scan(&typ); err != nil {
					t.Fatal(err)
				}
				if typ != w.SQLiteType {
					t.Errorf("typeof(expire_date) = %s, want %s", typ, w.SQLiteType)
				}
			}
		}
	}
	// expiryOf computes get_expiry_date() for the data as the session
	// layer does before calling Save.
	expiryOf := func(t *testing.T, d *pyvalue.Dict) time.Time {
		t.Helper()
		e, _ := d.Get(djangosession.ExpiryKey)
		exp, err := djangosession.GetExpiryDate(s, e, now)
		if err != nil {
			t.Fatal(err)
		}
		return exp
	}
	create := func(t *testing.T, c dbCase, d *pyvalue.Dict) {
		t.Helper()
		key := c.RowsAfter[0].SessionKey
		exp := expiryOf(t, d)
		if want := match(t, reLastLiteral, lastSQL(c, "INSERT")); st.dateArg(exp) != want {
			t.Errorf("expire_date bound as %q, Django binds %q", st.dateArg(exp), want)
		}
		if ok, err := st.Exists(ctx, key); err != nil || ok {
			t.Fatalf("Exists before create = %v, %v", ok, err)
		}
		if err := st.Save(ctx, &djangosession.Record{Key: key, Data: d, ExpireDate: exp}, true); err != nil {
			t.Fatal(err)
		}
		checkRows(t, c.RowsAfter)
	}

	n := 0
	for _, c := range g.cases {
		setNow(c)
		n++
		t.Run(strings.ReplaceAll(c.Op, " ", "_"), func(t *testing.T) {
			switch c.Op {
			case "meta":
			case "sqlmigrate sessions 0001":
				var want []string
				for _, l := range c.DDL {
					if !strings.HasPrefix(l, "--") && l != "BEGIN;" && l != "COMMIT;" && l != "BEGIN" && l != "COMMIT" {
						want = append(want, strings.TrimSuffix(l, ";"))
					}
				}
				if got := st.DDL(); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("DDL:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				for i := 0; i < 2; i++ { // idempotent
					if err := st.Migrate(ctx); err != nil {
						t.Fatalf("Migrate #%d: %v", i+1, err)
					}
				}
			case "schema as stored by the database":
				checkSchema(t, tdb, c)
			case "save() of a new session (create)":
				create(t, c, pyJSON(t, c.SessionDict))
			case "save() when now has zero microseconds":
				// Django's run started this case on an empty table.
				tdb.exec(t, "DELETE FROM "+q(DefaultTable))
				create(t, c, codec.DecodeOrEmpty(c.RowsAfter[0].SessionData))
			case "load()":
				if want := match(t, reLoadNow, lastSQL(c, "SELECT")); st.dateArg(now) != want {
					t.Errorf("now bound as %q, Django binds %q", st.dateArg(now), want)
				}
				r := &djangosession.Record{Key: c.SessionKey}
				if err := st.Load(ctx, r); err != nil {
					t.Fatal(err)
				}
				if want := pyJSON(t, c.Loaded); !pyvalue.Equal(r.Data, want) {
					t.Errorf("loaded %v, want %v", r.Data, want)
				}
			case "save() of an existing session (update)", "save() after set_expiry(300)":
				d := codec.DecodeOrEmpty(c.RowsAfter[0].SessionData)
				exp := expiryOf(t, d)
				if want := match(t, reUpdateExp, lastSQL(c, "UPDATE")); st.dateArg(exp) != want {
					t.Errorf("expire_date bound as %q, Django binds %q", st.dateArg(exp), want)
				}
				if err := st.Save(ctx, &djangosession.Record{Key: c.SessionKey, Data: d, ExpireDate: exp}, false); err != nil {
					t.Fatal(err)
				}
				checkRows(t, c.RowsAfter)
			case "cycle_key()":
				r := &djangosession.Record{Key: c.OldKey}
				if err := st.Load(ctx, r); err != nil {
					t.Fatal(err)
				}
				newKey := c.RowsAfter[0].SessionKey
				if ok, err := st.Exists(ctx, newKey); err != nil || ok {
					t.Fatalf("Exists(new) = %v, %v", ok, err)
				}
				nr := &djangosession.Record{Key: newKey, Data: r.Data, ExpireDate: expiryOf(t, r.Data)}
				if err := st.Save(ctx, nr, true); err != nil {
					t.Fatal(err)
				}
				if err := st.Delete(ctx, c.OldKey); err != nil {
					t.Fatal(err)
				}
				checkRows(t, c.RowsAfter)
			case "exists()":
				key := match(t, reKey, lastSQL(c, "SELECT"))
				var want bool
				if err := json.Unmarshal(c.Result, &want); err != nil {
					t.Fatal(err)
				}
				if got, err := st.Exists(ctx, key); err != nil || got != want {
					t.Errorf("Exists = %v, %v; want %v", got, err, want)
				}
				if got, err := st.Exists(ctx, key+"x"); err != nil || got {
					t.Errorf("Exists(other key) = %v, %v", got, err)
				}
			case "delete()":
				if err := st.Delete(ctx, c.SessionKey); err != nil {
					t.Fatal(err)
				}
				if err := st.Delete(ctx, c.SessionKey); err != nil { // missing: no error
					t.Fatal(err)
				}
				checkRows(t, c.RowsAfter)
			case "save() when the row was deleted concurrently":
				key := match(t, reKey, lastSQL(c, "UPDATE"))
				d := pyvalue.NewDict(1)
				d.Set("a", int64(1))
				err := st.Save(ctx, &djangosession.Record{Key: key, Data: d, ExpireDate: expiryOf(t, d)}, false)
				if !errors.Is(err, djangosession.ErrSessionInterrupted) {
					t.Fatalf("Save = %v, want ErrSessionInterrupted (%s)", err, c.Result)
				}
				if _, ok := tdb.row(t, DefaultTable, key); ok {
					t.Fatal("the deleted session was resurrected")
				}
			case "load() around expire_date == now":
				for _, r := range c.Rows {
					tdb.insertRaw(t, DefaultTable, r.SessionKey, r.SessionData, r.expected(tdb.dialect))
				}
				checkLoads(t, st, c.Results)
			case "clear_expired()":
				if want := match(t, reClearNow, lastSQL(c, "DELETE")); st.dateArg(now) != want {
					t.Errorf("now bound as %q, Django binds %q", st.dateArg(now), want)
				}
				if err := st.ClearExpired(ctx); err != nil {
					t.Fatal(err)
				}
				checkRows(t, c.RowsAfter)
			case "sqlite: load() of rows whose expire_date TEXT was written in other formats":
				tdb.exec(t, "DELETE FROM "+q(DefaultTable))
				d := pyvalue.NewDict(1)
				d.Set("x", int64(1))
				data, err := codec.Encode(d)
				if err != nil {
					t.Fatal(err)
				}
				for key, r := range c.Results {
					tdb.insertRaw(t, DefaultTable, key, data, r.Text)
				}
				checkLoads(t, st, c.Results)
			default:
				t.Errorf("unhandled op %q", c.Op)
			}
		})
	}
	return n
}

// checkLoads loads every key of results and compares with Django's
// outcome ({} = not found).
func checkLoads(t *testing.T, st *Store, results map[string]dbResult) {
	t.Helper()
	for key, res := range results {
		want := pyJSON(t, res.Loaded)
		r := &djangosession.Record{Key: key}
		err := st.Load(context.Background(), r)
		switch {
		case want.Len() == 0:
			if !errors.Is(err, djangosession.ErrNotFound) {
				t.Errorf("Load(%s) = %v, %v; Django finds nothing", key, r.Data, err)
			}
		case err != nil:
			t.Errorf("Load(%s) = %v; Django loads %v", key, err, want)
		case !pyvalue.Equal(r.Data, want):
			t.Errorf("Load(%s) = %v; Django loads %v", key, r.Data, want)
		}
	}
}

func checkSchema(t *testing.T, tdb *testDB, c dbCase) {
	t.Helper()
	switch tdb.dialect {
	case SQLite:
		rs, err := tdb.db.Query(`SELECT sql FROM sqlite_master WHERE tbl_name = 'django_session' ORDER BY type DESC, sql IS NULL, name`)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var got []string
		for rs.Next() {
			var s sql.NullString
			if err := rs.Scan(&s); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprint(s.String, s.Valid))
		}
		var want []string
		for _, s := range c.SQL {
			if s == nil {
				want = append(want, fmt.Sprint("", false))
			} else {
				want = append(want, fmt.Sprint(*s, true))
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("sqlite_master:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	case MySQL:
		var name, ddl string
		if err := tdb.db.QueryRow("SHOW CREATE TABLE `django_session`").Scan(&name, &ddl); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, s := range c.SQL {
			want = append(want, *s)
		}
		if ddl != strings.Join(want, "\n") {
			t.Errorf("SHOW CREATE TABLE:\n%s\nwant:\n%s", ddl, strings.Join(want, "\n"))
		}
	case Postgres:
		rs, err := tdb.db.Query(`SELECT column_name, data_type, coalesce(character_maximum_length::text, 'null'), is_nullable
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'django_session' ORDER BY ordinal_position`)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rs.Next() {
			var a, b, l, n string
			if err := rs.Scan(&a, &b, &l, &n); err != nil {
				t.Fatal(err)
			}
			got = append(got, strings.Join([]string{a, b, l, n}, "|"))
		}
		rs.Close()
		var want []string
		for _, col := range c.Columns {
			l := "null"
			if col[2] != nil {
				l = fmt.Sprint(col[2])
			}
			want = append(want, strings.Join([]string{col[0].(string), col[1].(string), l, col[3].(string)}, "|"))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("columns:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		rs, err = tdb.db.Query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'django_session' ORDER BY indexname`)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var schema string
		if err := tdb.db.QueryRow("SELECT current_schema()").Scan(&schema); err != nil {
			t.Fatal(err)
		}
		got = nil
		for rs.Next() {
			var a, b string
			if err := rs.Scan(&a, &b); err != nil {
				t.Fatal(err)
			}
			// Django's run used the public schema; ours is the test's own.
			b = strings.Replace(b, " ON "+schema+".", " ON public.", 1)
			got = append(got, a+"|"+b)
		}
		want = nil
		for _, ix := range c.Indexes {
			want = append(want, ix[0]+"|"+ix[1])
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("indexes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
