package djangosession

import (
	"github.com/djsession/djsession/pickle_compat"
	"github.com/djsession/djsession/signing"
)

// pickleSerializer returns Django's PickleSerializer:
// pickle.dumps(obj, pickle.HIGHEST_PROTOCOL), protocol 5 as written by
// every CPython Django 3.2 and 4.2 run on in practice (3.8+).
func pickleSerializer() (signing.Serializer, error) {
	return pickle_compat.Serializer{Protocol: 5}, nil
}
