package pyvalue

// Object is a Python object that pyvalue does not model (a model instance, a
// lazy translation string, an unknown class). It is kept as the pickle
// reduction that produced it, never executed, so that Go can read, keep and
// write back what a Python application stored without destroying it.
type Object struct {
	// Module and Name name the global the object was built from.
	Module, Name string
}

// PythonType returns the dotted name of the object's global.
func (o *Object) PythonType() string { return o.Module + "." + o.Name }
