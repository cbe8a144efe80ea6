package main

import (
	"github.com/djsession/djsession/pickle_compat"
	"github.com/djsession/djsession/pyvalue"
)

// unpickle reads a pickled payload for inspect. pickle_compat never
// executes anything and bounds memory, so an untrusted token is safe here.
func unpickle(p []byte) (any, error) { return pickle_compat.Loads(p) }

// objectAsPlain returns the plain value a Python program sees when it
// treats o as its base type: a dict subclass (OrderedDict) as a dict, a str
// subclass (SafeString) as a str. ok is false for other objects.
func objectAsPlain(o *pyvalue.Object) (any, bool) {
	if o.DictItems != nil || o.IsOrderedDict() {
		return o.Dict(), true
	}
	if o.Module == "django.utils.safestring" && len(o.Args) == 1 {
		if s, ok := o.Args[0].(string); ok {
			return s, true
		}
	}
	return nil, false
}
