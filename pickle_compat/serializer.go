package pickle_compat

// Serializer is Django's django.contrib.sessions.serializers.PickleSerializer
// (Django 3.2 and 4.2; removed in 5.0): pickle.dumps(obj,
// pickle.HIGHEST_PROTOCOL) and pickle.loads. It has the method set of
// signing.Serializer.
type Serializer struct {
	// Protocol is the protocol Dumps writes (0: DefaultProtocol, 5, what
	// CPython 3.8+ writes; 4 matches Django running on CPython 3.6/3.7).
	Protocol int
	// Decoder holds the limits Loads applies (zero value: defaults).
	Decoder Decoder
}

// Dumps pickles v.
func (s Serializer) Dumps(v any) ([]byte, error) {
	return (&Encoder{Protocol: s.Protocol}).Dumps(v)
}

// Loads unpickles b.
func (s Serializer) Loads(b []byte) (any, error) {
	return s.Decoder.Loads(b)
}
