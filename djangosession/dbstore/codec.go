package dbstore

import (
	"fmt"

	"github.com/djsession/djsession/djangosession"
)

// defaultCodec is the codec used when no WithCodec option is given:
// Django's SessionStore codec for the settings.
func defaultCodec(s *djangosession.Settings) (Codec, error) {
	c, err := djangosession.NewCodec(s)
	if err != nil {
		return nil, fmt.Errorf("dbstore: %w", err)
	}
	return c, nil
}
