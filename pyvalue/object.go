package pyvalue

// ObjectKind says how an opaque Object was built by the pickle that held
// it, which is also how it is written back.
type ObjectKind uint8

const (
	// ObjectGlobal is a reference to the global Module.Name itself (a class
	// or function used as a value, e.g. builtins.str inside a lazy string).
	ObjectGlobal ObjectKind = iota
	// ObjectReduce is the result of calling a callable with Args (REDUCE).
	ObjectReduce
	// ObjectNewObj is cls.__new__(cls, *Args) (NEWOBJ, protocol ≥ 2).
	ObjectNewObj
	// ObjectNewObjEx is cls.__new__(cls, *Args, **Kwargs) (NEWOBJ_EX).
	ObjectNewObjEx
)

// Object is a Python object that pyvalue does not model (a model instance, a
// lazy translation string, an unknown class). It is kept as the pickle
// reduction that produced it, never executed, so that Go can read, keep and
// write back what a Python application stored without destroying it.
//
// A reduction is written back in the order CPython's save_reduce uses:
// callable, arguments, REDUCE/NEWOBJ, then ListItems (APPENDS), DictItems
// (SETITEMS) and State (BUILD). Pickles that interleave those operations
// differently are read fine and written back in that canonical order.
//
// collections.OrderedDict (and other dict subclasses reduced with an items
// iterator) are Objects of kind ObjectReduce whose DictItems hold the items;
// Dict returns them, so such a value still reads as a dict.
type Object struct {
	// Module and Name name the global: for ObjectGlobal the global itself,
	// otherwise the callable or class the object was built from (empty when
	// that callable was not a plain global, see Callable).
	Module, Name string
	// Kind is how the object was built.
	Kind ObjectKind
	// Callable is the callable or class when it is not simply the global
	// Module.Name (for example builtins.getattr(zoneinfo.ZoneInfo,
	// "_unpickle")); nil means the global Module.Name.
	Callable *Object
	// Args are the positional arguments of the call or of __new__.
	Args Tuple
	// Kwargs are the keyword arguments of NEWOBJ_EX.
	Kwargs *Dict
	// ListItems are appended to the object after construction (list
	// subclasses); nil when there were none.
	ListItems []any
	// DictItems are set on the object after construction (dict subclasses,
	// OrderedDict); nil when there were none.
	DictItems *Dict
	// State is the BUILD argument (usually the instance __dict__); it is
	// meaningful only when HasState is true (a state of None is legal).
	State    any
	HasState bool
}

// PythonType returns the dotted name of the object's class or callable
// ("django.utils.safestring.SafeString"); for a callable that is not a plain
// global it names the callable's own global.
func (o *Object) PythonType() string {
	if o.Module == "" && o.Name == "" && o.Callable != nil {
		return o.Callable.PythonType()
	}
	if o.Module == "" {
		return o.Name
	}
	return o.Module + "." + o.Name
}

// Is reports whether the object's global is module.name.
func (o *Object) Is(module, name string) bool {
	return o != nil && o.Module == module && o.Name == name
}

// IsOrderedDict reports whether o is a collections.OrderedDict.
func (o *Object) IsOrderedDict() bool {
	return o != nil && o.Kind == ObjectReduce && o.Callable == nil && o.Is("collections", "OrderedDict")
}

// Dict returns the items set on the object after construction: the items of
// an OrderedDict or other dict subclass. It is never nil for such objects and
// an empty dict otherwise.
func (o *Object) Dict() *Dict {
	if o == nil || o.DictItems == nil {
		return NewDict(0)
	}
	return o.DictItems
}

// NewOrderedDict returns a collections.OrderedDict holding d's items (d is
// used, not copied).
func NewOrderedDict(d *Dict) *Object {
	if d == nil {
		d = NewDict(0)
	}
	return &Object{Module: "collections", Name: "OrderedDict", Kind: ObjectReduce, Args: Tuple{}, DictItems: d}
}

// Global returns a reference to the global module.name used as a value.
func Global(module, name string) *Object {
	return &Object{Module: module, Name: name, Kind: ObjectGlobal}
}

// Str returns the text of a str subclass instance kept as an Object, such
// as Django's SafeString (mark_safe), which pickles as
// SafeString.__new__(SafeString, text). Django's JSONSerializer writes such
// a value as a plain JSON string.
func (o *Object) Str() (string, bool) {
	if o == nil || o.Kind != ObjectNewObj || o.Callable != nil || len(o.Args) != 1 || o.HasState && o.State != nil {
		return "", false
	}
	switch {
	case o.Is("django.utils.safestring", "SafeString"), o.Is("django.utils.safestring", "SafeText"),
		o.Is("django.utils.safestring", "SafeData"):
	default:
		return "", false
	}
	s, ok := o.Args[0].(string)
	return s, ok
}
