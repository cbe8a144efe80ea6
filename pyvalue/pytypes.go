package pyvalue

// The Python standard-library types that occur in sessions and cache values.
// They are plain data: conversion to and from Go's time and math types lives
// beside them, and pickle_compat maps them to the globals CPython writes.

// TZKind says which Python tzinfo object a datetime carries, because the
// pickled form of an equal instant differs between them and a value must be
// written back as it was read.
type TZKind uint8

const (
	// TZUTC is datetime.timezone.utc (Django ≥ 4.0's timezone.now()).
	TZUTC TZKind = iota + 1
	// TZPytzUTC is pytz.UTC (Django 3.2's timezone.now()).
	TZPytzUTC
	// TZFixed is datetime.timezone(timedelta(seconds=Offset)[, Name]).
	TZFixed
	// TZZoneInfo is zoneinfo.ZoneInfo(Name).
	TZZoneInfo
	// TZOpaque is any other tzinfo (pytz zones, dateutil ...), kept as Object.
	TZOpaque
)

// TZInfo is a datetime's or time's tzinfo.
type TZInfo struct {
	Kind TZKind
	// Offset is the UTC offset in microseconds for TZFixed (Python allows
	// sub-second offsets).
	Offset int64
	// Name is the explicit name of a TZFixed zone ("" when none was given) or
	// the key of a TZZoneInfo zone ("Europe/Paris").
	Name string
	// Object is the original object of a TZOpaque tzinfo.
	Object *Object
}

// DateTime is datetime.datetime. TZ is nil for a naive datetime.
type DateTime struct {
	Year, Month, Day     int
	Hour, Minute, Second int
	Microsecond          int
	Fold                 int
	TZ                   *TZInfo
}

// Date is datetime.date.
type Date struct{ Year, Month, Day int }

// Time is datetime.time. TZ is nil for a naive time.
type Time struct {
	Hour, Minute, Second, Microsecond int
	Fold                              int
	TZ                                *TZInfo
}

// TimeDelta is datetime.timedelta, normalised as Python normalises it:
// 0 <= Seconds < 86400 and 0 <= Microseconds < 1000000.
type TimeDelta struct{ Days, Seconds, Microseconds int64 }

// Decimal is decimal.Decimal, held as the text str() gives ("1.50", "NaN", "-0", "1E+2").
type Decimal string

// UUID is uuid.UUID.
type UUID [16]byte

// PythonType implementations give TypeName its answer.

func (DateTime) PythonType() string  { return "datetime" }
func (Date) PythonType() string      { return "date" }
func (Time) PythonType() string      { return "time" }
func (TimeDelta) PythonType() string { return "timedelta" }
func (Decimal) PythonType() string   { return "Decimal" }
func (UUID) PythonType() string      { return "UUID" }
