package cookiestore

import (
	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/signing"
)

// serializerFor returns the serializer SESSION_SERIALIZER names.
func serializerFor(s *djangosession.Settings) (signing.Serializer, error) {
	return s.Serializer()
}
