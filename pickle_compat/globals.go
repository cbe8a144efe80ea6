package pickle_compat

//go:generate sh -c "/usr/bin/python3 gen_compat.py > compat_names.go && gofmt -w compat_names.go"

import (
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/djsession/djsession/pyvalue"
)

// allowed lists the globals this package maps to Go values (plus the few
// Django and helper callables that appear in sessions). Nothing is ever
// called: a global only becomes a *pyvalue.Object naming it, and REDUCE /
// NEWOBJ / BUILD on an allowed global build the Go value directly. Other
// globals (os.system, builtins.eval, subprocess.Popen ...) stay inert Objects,
// or are refused when Decoder.StrictGlobals is set.
var allowed = map[modName]bool{
	{"datetime", "datetime"}:                             true,
	{"datetime", "date"}:                                 true,
	{"datetime", "time"}:                                 true,
	{"datetime", "timedelta"}:                            true,
	{"datetime", "timezone"}:                             true,
	{"pytz", "_UTC"}:                                     true,
	{"pytz", "_p"}:                                       true,
	{"zoneinfo", "ZoneInfo"}:                             true,
	{"builtins", "getattr"}:                              true,
	{"decimal", "Decimal"}:                               true,
	{"uuid", "UUID"}:                                     true,
	{"builtins", "set"}:                                  true,
	{"builtins", "frozenset"}:                            true,
	{"builtins", "bytearray"}:                            true,
	{"builtins", "bytes"}:                                true,
	{"builtins", "object"}:                               true,
	{"builtins", "str"}:                                  true,
	{"_codecs", "encode"}:                                true,
	{"copyreg", "_reconstructor"}:                        true,
	{"collections", "OrderedDict"}:                       true,
	{"django.utils.safestring", "SafeString"}:            true,
	{"django.utils.safestring", "SafeText"}:              true,
	{"django.utils.functional", "_lazy_proxy_unpickle"}:  true,
	{"django.utils.translation", "gettext"}:              true,
	{"django.utils.translation", "ngettext"}:             true,
	{"django.utils.translation", "pgettext"}:             true,
	{"django.utils.translation", "npgettext"}:            true,
	{"django.utils.translation", "gettext_lazy"}:         true,
	{"django.utils.translation", "ugettext"}:             true,
	{"django.utils.translation", "ungettext"}:            true,
	{"django.utils.translation.trans_real", "gettext"}:   true,
	{"django.utils.translation.trans_real", "ngettext"}:  true,
	{"django.utils.translation.trans_real", "pgettext"}:  true,
	{"django.utils.translation.trans_real", "npgettext"}: true,
}

// global returns the inert reference to module.name, applying CPython's
// Python 2 name mapping for protocols < 3.
func (u *unpickler) global(module, name string, fix bool) (*pyvalue.Object, error) {
	if fix {
		if m, ok := nameMapping[modName{module, name}]; ok {
			module, name = m.mod, m.name
		} else if m, ok := importMapping[module]; ok {
			module = m
		}
	}
	if module == "" || name == "" {
		return nil, u.errf(ErrMalformed, "empty global name")
	}
	if !utf8.ValidString(module) || !utf8.ValidString(name) {
		return nil, u.errf(ErrMalformed, "global name is not UTF-8")
	}
	if u.strict && !allowed[modName{module, name}] {
		return nil, &GlobalError{Module: module, Name: name}
	}
	if err := u.charge(len(module) + len(name) + 64); err != nil {
		return nil, err
	}
	return &pyvalue.Object{Module: module, Name: name, Kind: pyvalue.ObjectGlobal}, nil
}

func isGlobal(v any, module, name string) bool {
	o, ok := v.(*pyvalue.Object)
	return ok && o.Kind == pyvalue.ObjectGlobal && o.Module == module && o.Name == name
}

// reduce is REDUCE: fn(*args) for the allow-listed types, an opaque Object
// otherwise.
func (u *unpickler) reduce(fnv, argsv any) (any, error) {
	fn, ok := fnv.(*pyvalue.Object)
	if !ok {
		return nil, u.errf(ErrMalformed, "REDUCE: %s object is not callable", typeName(fnv))
	}
	args, ok := argsv.(pyvalue.Tuple)
	if !ok {
		return nil, u.errf(ErrMalformed, "REDUCE: argument list must be a tuple, not %s", typeName(argsv))
	}
	u.containers++
	if fn.Kind == pyvalue.ObjectGlobal {
		v, handled, err := u.callKnown(fn, args)
		if err != nil || handled {
			return v, err
		}
	} else if fn.Kind == pyvalue.ObjectReduce && fn.Callable == nil && fn.Is("builtins", "getattr") &&
		len(fn.Args) == 2 && isGlobal(fn.Args[0], "zoneinfo", "ZoneInfo") && fn.Args[1] == "_unpickle" {
		// ZoneInfo._unpickle(key, from_cache): a cached zone maps to a
		// TZInfo; a no_cache() zone (from_cache=0) stays opaque.
		if len(args) == 2 {
			if key, ok := args[0].(string); ok && args[1] == int64(1) {
				return &pyvalue.TZInfo{Kind: pyvalue.TZZoneInfo, Name: key}, nil
			}
		}
	}
	o := &pyvalue.Object{Kind: pyvalue.ObjectReduce, Args: args}
	if fn.Kind == pyvalue.ObjectGlobal {
		o.Module, o.Name = fn.Module, fn.Name
	} else {
		o.Callable = fn
	}
	return o, nil
}

func (u *unpickler) newObj(clsv, argsv any, kwargs *pyvalue.Dict) (any, error) {
	cls, ok := clsv.(*pyvalue.Object)
	if !ok {
		return nil, u.errf(ErrMalformed, "NEWOBJ class argument isn't a type object")
	}
	args, ok := argsv.(pyvalue.Tuple)
	if !ok {
		return nil, u.errf(ErrMalformed, "NEWOBJ args argument must be a tuple, not %s", typeName(argsv))
	}
	u.containers++
	o := &pyvalue.Object{Kind: pyvalue.ObjectNewObj, Args: args}
	if kwargs != nil {
		o.Kind = pyvalue.ObjectNewObjEx
		o.Kwargs = kwargs
	}
	if cls.Kind == pyvalue.ObjectGlobal {
		o.Module, o.Name = cls.Module, cls.Name
	} else {
		o.Callable = cls
	}
	return o, nil
}

// build is BUILD on the top of the stack. Only opaque Objects take a state;
// a uuid.UUID whose state is exactly {"int": n} becomes a pyvalue.UUID.
func (u *unpickler) build(state any) error {
	t, err := u.top()
	if err != nil {
		return err
	}
	o, ok := t.(*pyvalue.Object)
	if !ok {
		return u.errf(ErrMalformed, "BUILD on %s", typeName(t))
	}
	if o.HasState {
		return u.errf(ErrUnsupported, "second BUILD on one object")
	}
	if state == t {
		return u.errf(ErrRecursive, "object is its own state")
	}
	o.State, o.HasState = state, true
	if !isUUIDShell(o) {
		return nil
	}
	d, ok := state.(*pyvalue.Dict)
	if !ok || d.Len() != 1 {
		return nil
	}
	n, ok := d.Get("int")
	if !ok {
		return nil
	}
	var bi *big.Int
	switch x := n.(type) {
	case int64:
		bi = big.NewInt(x)
	case *big.Int:
		bi = x
	default:
		return nil
	}
	id, ok := pyvalue.UUIDFromInt(new(big.Int).Set(bi))
	if !ok {
		return nil
	}
	// Replace the shell where it is referenced: the stack top and the memo.
	u.stack[len(u.stack)-1] = id
	for i := range u.memo {
		if u.memo[i].v == any(o) {
			u.memo[i].v = id
		}
	}
	for k, v := range u.memoMap {
		if v == any(o) {
			u.memoMap[k] = id
		}
	}
	return nil
}

// isUUIDShell reports an object that is uuid.UUID.__new__(UUID) waiting for
// its state, as protocol ≥ 2 (NEWOBJ) and protocols 0/1
// (copyreg._reconstructor(UUID, object, None)) write it.
func isUUIDShell(o *pyvalue.Object) bool {
	if o.Callable != nil || len(o.ListItems) > 0 || o.DictItems != nil {
		return false
	}
	switch {
	case o.Kind == pyvalue.ObjectNewObj && o.Is("uuid", "UUID") && len(o.Args) == 0:
		return true
	case o.Kind == pyvalue.ObjectReduce && o.Is("copyreg", "_reconstructor") && len(o.Args) == 3:
		return isGlobal(o.Args[0], "uuid", "UUID") && isGlobal(o.Args[1], "builtins", "object") && o.Args[2] == nil
	}
	return false
}

// callKnown builds the Go value for a REDUCE of an allow-listed global.
// handled=false means "keep it opaque".
func (u *unpickler) callKnown(fn *pyvalue.Object, args pyvalue.Tuple) (v any, handled bool, err error) {
	switch fn.Module {
	case "datetime":
		switch fn.Name {
		case "datetime":
			v, err = u.mkDateTime(args)
		case "date":
			v, err = u.mkDate(args)
		case "time":
			v, err = u.mkTime(args)
		case "timedelta":
			v, err = u.mkTimeDelta(args)
		case "timezone":
			v, err = u.mkTimezone(args)
		default:
			return nil, false, nil
		}
		return v, true, err
	case "pytz":
		if fn.Name == "_UTC" && len(args) == 0 {
			return &pyvalue.TZInfo{Kind: pyvalue.TZPytzUTC}, true, nil
		}
	case "decimal":
		if fn.Name == "Decimal" && len(args) == 1 {
			switch x := args[0].(type) {
			case string:
				d, err := pyvalue.ParseDecimal(x)
				if err != nil {
					return nil, true, u.errf(ErrMalformed, "%v", err)
				}
				return d, true, nil
			case int64:
				return pyvalue.Decimal(big.NewInt(x).String()), true, nil
			case *big.Int:
				return pyvalue.Decimal(x.String()), true, nil
			}
		}
	case "uuid":
		if fn.Name == "UUID" && len(args) == 1 {
			if s, ok := args[0].(string); ok {
				id, err := pyvalue.ParseUUID(s)
				if err != nil {
					return nil, true, u.errf(ErrMalformed, "%v", err)
				}
				return id, true, nil
			}
		}
	case "_codecs":
		if fn.Name == "encode" && (len(args) == 1 || len(args) == 2) {
			if b, ok, err := u.encodeStr(args); ok || err != nil {
				return b, true, err
			}
		}
	case "builtins":
		switch fn.Name {
		case "set", "frozenset":
			s := &pyvalue.Set{Frozen: fn.Name == "frozenset"}
			switch {
			case len(args) == 0:
			case len(args) == 1:
				var items []any
				switch x := args[0].(type) {
				case []any:
					items = x
				case pyvalue.Tuple:
					items = x
				case *pyvalue.Set:
					items = x.Items
				default:
					return nil, false, nil
				}
				if err := u.addItems(s, items); err != nil {
					return nil, true, err
				}
			default:
				return nil, false, nil
			}
			u.containers++
			return s, true, nil
		case "bytes", "bytearray":
			var b pyvalue.Bytes
			switch {
			case len(args) == 0:
				b = pyvalue.Bytes{}
			case len(args) == 1:
				switch x := args[0].(type) {
				case pyvalue.Bytes:
					b = append(pyvalue.Bytes{}, x...)
				case pyvalue.ByteArray:
					b = append(pyvalue.Bytes{}, x...)
				default:
					return nil, false, nil
				}
			case len(args) == 2:
				var ok bool
				b, ok, err = u.encodeStr(args)
				if err != nil {
					return nil, true, err
				}
				if !ok {
					return nil, false, nil
				}
			default:
				return nil, false, nil
			}
			if fn.Name == "bytearray" {
				return pyvalue.ByteArray(b), true, nil
			}
			return b, true, nil
		}
	case "collections":
		if fn.Name == "OrderedDict" && len(args) == 0 {
			u.containers++
			return pyvalue.NewOrderedDict(pyvalue.NewDict(0)), true, nil
		}
	}
	return nil, false, nil
}

// encodeStr is str.encode(encoding) for the encodings pickle uses to carry
// bytes in protocols < 3 (latin-1), plus UTF-8 and ASCII.
func (u *unpickler) encodeStr(args pyvalue.Tuple) (pyvalue.Bytes, bool, error) {
	s, ok := args[0].(string)
	if !ok {
		return nil, false, nil
	}
	enc := "utf-8"
	if len(args) == 2 {
		if enc, ok = args[1].(string); !ok {
			return nil, false, nil
		}
	}
	switch strings.ReplaceAll(strings.ToLower(enc), "_", "-") {
	case "latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1", "8859", "cp819", "latin":
		out := make(pyvalue.Bytes, 0, len(s))
		for _, r := range s {
			if r > 0xFF {
				return nil, true, u.errf(ErrMalformed, "'latin-1' codec can't encode character %U", r)
			}
			out = append(out, byte(r))
		}
		return out, true, nil
	case "utf-8", "utf8", "u8":
		if !isUTF8(s) {
			return nil, true, u.errf(ErrMalformed, "'utf-8' codec can't encode surrogates")
		}
		return pyvalue.Bytes(s), true, nil
	case "ascii", "us-ascii":
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return nil, true, u.errf(ErrMalformed, "'ascii' codec can't encode character")
			}
		}
		return pyvalue.Bytes(s), true, nil
	}
	return nil, false, nil
}

func isUTF8(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == 0xED && s[i+1] >= 0xA0 {
			return false
		}
	}
	return true
}

// state returns the bytes of a datetime-family pickle state: bytes, or a
// str whose code points are the bytes (the Python 2 compatible form).
func stateBytes(v any) ([]byte, bool) {
	switch x := v.(type) {
	case pyvalue.Bytes:
		return x, true
	case string:
		out := make([]byte, 0, len(x))
		for _, r := range x {
			if r > 0xFF {
				return nil, false
			}
			out = append(out, byte(r))
		}
		return out, true
	}
	return nil, false
}

func (u *unpickler) tzArg(v any) (*pyvalue.TZInfo, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case *pyvalue.TZInfo:
		return x, nil
	case *pyvalue.Object:
		return &pyvalue.TZInfo{Kind: pyvalue.TZOpaque, Object: x}, nil
	}
	return nil, u.errf(ErrMalformed, "bad tzinfo state arg")
}

func intArgs(args pyvalue.Tuple, n int) ([]int, bool) {
	out := make([]int, 0, n)
	for _, a := range args {
		x, ok := a.(int64)
		if !ok || x < -1<<31 || x > 1<<31-1 {
			return nil, false
		}
		out = append(out, int(x))
	}
	return out, true
}

func (u *unpickler) mkDateTime(args pyvalue.Tuple) (any, error) {
	if len(args) >= 1 && len(args) <= 2 {
		if st, ok := stateBytes(args[0]); ok && len(st) == 10 && st[2]&0x7F >= 1 && st[2]&0x7F <= 12 {
			d := pyvalue.DateTime{
				Year: int(st[0])<<8 | int(st[1]), Month: int(st[2] & 0x7F), Day: int(st[3]),
				Hour: int(st[4]), Minute: int(st[5]), Second: int(st[6]),
				Microsecond: int(st[7])<<16 | int(st[8])<<8 | int(st[9]),
			}
			if st[2]&0x80 != 0 {
				d.Fold = 1
			}
			if len(args) == 2 {
				tz, err := u.tzArg(args[1])
				if err != nil {
					return nil, err
				}
				d.TZ = tz
			}
			return d, nil
		}
	}
	// datetime(year, month, day[, hour[, minute[, second[, microsecond[, tzinfo]]]]])
	var tz *pyvalue.TZInfo
	if len(args) == 8 {
		var err error
		if tz, err = u.tzArg(args[7]); err != nil {
			return nil, err
		}
		args = args[:7]
	}
	n, ok := intArgs(args, 7)
	if !ok || len(n) < 3 {
		return nil, u.errf(ErrMalformed, "bad datetime arguments")
	}
	n = append(n, 0, 0, 0, 0)
	d := pyvalue.DateTime{Year: n[0], Month: n[1], Day: n[2], Hour: n[3], Minute: n[4], Second: n[5], Microsecond: n[6], TZ: tz}
	if !validDate(d.Year, d.Month, d.Day) || !validTime(d.Hour, d.Minute, d.Second, d.Microsecond) {
		return nil, u.errf(ErrMalformed, "datetime argument out of range")
	}
	return d, nil
}

func (u *unpickler) mkDate(args pyvalue.Tuple) (any, error) {
	if len(args) == 1 {
		if st, ok := stateBytes(args[0]); ok && len(st) == 4 && st[2] >= 1 && st[2] <= 12 {
			return pyvalue.Date{Year: int(st[0])<<8 | int(st[1]), Month: int(st[2]), Day: int(st[3])}, nil
		}
	}
	n, ok := intArgs(args, 3)
	if !ok || len(n) != 3 || !validDate(n[0], n[1], n[2]) {
		return nil, u.errf(ErrMalformed, "bad date arguments")
	}
	return pyvalue.Date{Year: n[0], Month: n[1], Day: n[2]}, nil
}

func (u *unpickler) mkTime(args pyvalue.Tuple) (any, error) {
	if len(args) >= 1 && len(args) <= 2 {
		if st, ok := stateBytes(args[0]); ok && len(st) == 6 && st[0]&0x7F < 24 {
			t := pyvalue.Time{
				Hour: int(st[0] & 0x7F), Minute: int(st[1]), Second: int(st[2]),
				Microsecond: int(st[3])<<16 | int(st[4])<<8 | int(st[5]),
			}
			if st[0]&0x80 != 0 {
				t.Fold = 1
			}
			if len(args) == 2 {
				tz, err := u.tzArg(args[1])
				if err != nil {
					return nil, err
				}
				t.TZ = tz
			}
			return t, nil
		}
	}
	var tz *pyvalue.TZInfo
	if len(args) == 5 {
		var err error
		if tz, err = u.tzArg(args[4]); err != nil {
			return nil, err
		}
		args = args[:4]
	}
	n, ok := intArgs(args, 4)
	if !ok {
		return nil, u.errf(ErrMalformed, "bad time arguments")
	}
	n = append(n, 0, 0, 0, 0)
	if !validTime(n[0], n[1], n[2], n[3]) {
		return nil, u.errf(ErrMalformed, "time argument out of range")
	}
	return pyvalue.Time{Hour: n[0], Minute: n[1], Second: n[2], Microsecond: n[3], TZ: tz}, nil
}

// maxTimedeltaDays is timedelta.max.days.
const maxTimedeltaDays = 999999999

func (u *unpickler) mkTimeDelta(args pyvalue.Tuple) (any, error) {
	if len(args) > 3 {
		return nil, u.errf(ErrMalformed, "bad timedelta arguments")
	}
	var p [3]int64
	for i, a := range args {
		x, ok := a.(int64)
		if !ok || x > 1<<53 || x < -(1<<53) {
			return nil, u.errf(ErrMalformed, "unsupported timedelta argument %s", typeName(a))
		}
		p[i] = x
	}
	td := pyvalue.NewTimeDelta(p[0], p[1], p[2])
	if td.Days > maxTimedeltaDays || td.Days < -maxTimedeltaDays {
		return nil, u.errf(ErrMalformed, "days=%d; must have magnitude <= %d", td.Days, maxTimedeltaDays)
	}
	return td, nil
}

func (u *unpickler) mkTimezone(args pyvalue.Tuple) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, u.errf(ErrMalformed, "bad timezone arguments")
	}
	td, ok := args[0].(pyvalue.TimeDelta)
	if !ok {
		return nil, u.errf(ErrMalformed, "timezone offset must be a timedelta")
	}
	off := td.Days*86400e6 + td.Seconds*1e6 + td.Microseconds
	if off <= -86400e6 || off >= 86400e6 {
		return nil, u.errf(ErrMalformed, "offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24)")
	}
	if len(args) == 2 {
		name, ok := args[1].(string)
		if !ok {
			return nil, u.errf(ErrMalformed, "timezone name must be str")
		}
		return &pyvalue.TZInfo{Kind: pyvalue.TZFixed, Offset: off, Name: name}, nil
	}
	return pyvalue.FixedZone(off, ""), nil
}

func validDate(y, m, d int) bool {
	if y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 {
		return false
	}
	dim := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		dim = 29
	}
	return d <= dim
}

func validTime(h, m, s, us int) bool {
	return h >= 0 && h < 24 && m >= 0 && m < 60 && s >= 0 && s < 60 && us >= 0 && us < 1000000
}
