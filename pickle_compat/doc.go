// Package pickle_compat reads and writes Python pickles as CPython writes
// them, for the values Django keeps in sessions and caches, without ever
// executing anything.
//
// # Reading
//
// Loads and Decoder.Loads accept protocols 0 to 5 (framing, memo, every
// opcode CPython emits, the protocol 0/1 text opcodes) and produce pyvalue
// values (see the pyvalue package documentation). Python types map as
// follows:
//
//	datetime.datetime / date / time / timedelta  pyvalue.DateTime / Date / Time / TimeDelta
//	datetime.timezone(offset[, name])            *pyvalue.TZInfo (TZUTC, or TZFixed)
//	pytz._UTC() (Django 3.2's timezone.now())    *pyvalue.TZInfo{Kind: TZPytzUTC}
//	zoneinfo.ZoneInfo (getattr(ZoneInfo, "_unpickle")(key, 1))
//	                                             *pyvalue.TZInfo{Kind: TZZoneInfo}
//	any other tzinfo (pytz zones ...)            *pyvalue.TZInfo{Kind: TZOpaque, Object: ...}
//	decimal.Decimal                              pyvalue.Decimal (str() form)
//	uuid.UUID                                    pyvalue.UUID (state exactly {"int": n};
//	                                             otherwise an opaque Object)
//	bytes (also protocol-2 _codecs.encode)       pyvalue.Bytes
//	bytearray                                    pyvalue.ByteArray
//	set / frozenset                              *pyvalue.Set
//	collections.OrderedDict                      *pyvalue.Object (ObjectReduce) whose
//	                                             DictItems hold the items; Object.Dict()
//	                                             reads it as a dict, IsOrderedDict tells it apart
//	SafeString, lazy translation strings,
//	model instances, any other object            *pyvalue.Object (opaque)
//
// A timezone or tzinfo that appears on its own (not inside a datetime) is a
// *pyvalue.TZInfo value.
//
// # Safety
//
// A global is never resolved or called: GLOBAL and STACK_GLOBAL produce an
// inert *pyvalue.Object naming it, and REDUCE / NEWOBJ / BUILD either build
// one of the Go values above (for the allow-listed globals) or record the
// reduction in an opaque *pyvalue.Object, which re-pickles to the same
// reduction. os.system, builtins.eval or subprocess.Popen therefore read as
// inert Objects; with Decoder.StrictGlobals they are refused with a
// *GlobalError instead. Length prefixes and frames are checked against the
// remaining input before anything is allocated; memo indices, nesting depth
// and the decoded size are capped by the Decoder fields; recursive
// structures (a container that contains itself) are refused with
// ErrRecursive. Every failure is a typed error wrapping ErrTruncated,
// ErrLimit, ErrMalformed, ErrRecursive, ErrUnsupported or ErrGlobal; the
// decoder never panics (it is fuzzed).
//
// # Writing
//
// Dumps and Encoder.Dumps write protocols 2 to 5 as CPython's C pickler
// does: the same opcodes, framing (a frame per ~64 KiB, none below 4
// bytes, payloads of 64 KiB or more outside frames), MEMOIZE/BINPUT for
// every object CPython memoizes, batches of 1000 for APPENDS, SETITEMS and
// ADDITEMS, Python 2 names for globals below protocol 3, and the reductions
// CPython uses for datetime, Decimal, UUID, sets and bytes.
//
// CPython memoizes by object identity. Go values with an identity
// (*pyvalue.Dict, *pyvalue.Set, *pyvalue.Object, and slices by their backing
// array) are memoized the same way, so a value read from a pickle and
// written back shares exactly what it shared. Go strings have no identity:
// each occurrence is written again, except the strings CPython keeps as
// singletons (the empty string, one-character Latin-1 strings, module names
// and a few interned identifiers), which are shared as CPython shares them.
// That is what CPython writes for a freshly built dict; a Python dict whose
// values are one and the same long str object is written by CPython with a
// memo GET, by this package with a second copy (both read back equal).
package pickle_compat
