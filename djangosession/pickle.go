package djangosession

import (
	"fmt"

	"github.com/djsession/djsession/signing"
)

// pickleSerializer returns Django's PickleSerializer.
func pickleSerializer() (signing.Serializer, error) {
	return nil, fmt.Errorf("djangosession: PickleSerializer: pickle support is not built in yet: %w", ErrUnsupported)
}
