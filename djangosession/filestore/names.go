package filestore

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// validKeyChars is Django's VALID_KEY_CHARS (string.ascii_lowercase +
// string.digits): the only characters a key may have before the file
// engine builds a file name from it.
const validKeyChars = "abcdefghijklmnopqrstuvwxyz0123456789"

// nameMax is the longest file name (one path component) Linux accepts. A
// longer name makes Django's open() fail with ENAMETOOLONG, which its load
// turns into "no session"; refusing it up front gives the same answer
// without a system call.
const nameMax = 255

// minKeyLen is SessionBase._validate_session_key's minimum: shorter keys
// become None before any backend sees them.
const minKeyLen = 8

// ValidKey reports whether key is one the file engine may turn into a file
// name: at least 8 characters, all in [a-z0-9] (Django's VALID_KEY_CHARS),
// and short enough for prefix+key to be a legal file name. Anything else —
// "../etc/passwd", "/abs", "a\x00b", upper case, "_out_" temp names — is
// refused before the file system is touched.
func ValidKey(prefix, key string) bool {
	if len(key) < minKeyLen || len(prefix)+len(key) > nameMax {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// checkPrefix validates SESSION_COOKIE_NAME for use as a file-name prefix.
// Django joins it to the directory unchecked; a name with a slash or a NUL
// would point outside the directory, so it is a configuration error here.
func checkPrefix(prefix string) error {
	if prefix == "" {
		return errors.New("filestore: SESSION_COOKIE_NAME is empty")
	}
	if strings.ContainsAny(prefix, "/\x00") || prefix == "." || prefix == ".." {
		return fmt.Errorf("filestore: SESSION_COOKIE_NAME %q cannot be used as a file name prefix", prefix)
	}
	if len(prefix)+minKeyLen > nameMax {
		return fmt.Errorf("filestore: SESSION_COOKIE_NAME %q is too long for a file name", prefix)
	}
	return nil
}

// tempChars is the alphabet of Python's tempfile._RandomNameSequence.
const tempChars = "abcdefghijklmnopqrstuvwxyz0123456789_"

// tempInfix follows the session file name in the name of a temp file
// (Django: mkstemp(prefix=file_name + "_out_")); tempRandLen random
// characters follow it.
const (
	tempInfix   = "_out_"
	tempRandLen = 8
)

// tmpMax is os.TMP_MAX on Linux: how many names mkstemp tries.
const tmpMax = 10000

// randomTempSuffix returns 8 characters from tempChars, as mkstemp appends to
// its prefix. The "_" in the alphabet is what makes every temp name an
// invalid key, so clear-expired and loads never mistake one for a session;
// the "_out_" infix guarantees it even when the random part has none.
func randomTempSuffix() string {
	var b [tempRandLen]byte
	var r [tempRandLen]byte
	rand.Read(r[:]) // never fails (crypto/rand panics on broken entropy)
	for i := range b {
		// 256 % 37 != 0: a slight bias is harmless for a temp name.
		b[i] = tempChars[int(r[i])%len(tempChars)]
	}
	return string(b[:])
}

// DefaultDir returns the directory Django uses when SESSION_FILE_PATH is
// unset: Python's tempfile.gettempdir(), the first of $TMPDIR, $TEMP, $TMP,
// /tmp, /var/tmp, /usr/tmp and the working directory in which a file can be
// created, as an absolute path.
func DefaultDir() (string, error) {
	var cands []string
	for _, env := range []string{"TMPDIR", "TEMP", "TMP"} {
		if v := os.Getenv(env); v != "" {
			cands = append(cands, v)
		}
	}
	cands = append(cands, "/tmp", "/var/tmp", "/usr/tmp")
	if wd, err := os.Getwd(); err == nil {
		cands = append(cands, wd)
	}
	for _, c := range cands {
		if c != "." {
			if abs, err := filepath.Abs(c); err == nil {
				c = abs
			}
		}
		if usableTempDir(c) {
			return c, nil
		}
	}
	return "", fmt.Errorf("filestore: no usable temporary directory found in %v", cands)
}

// usableTempDir is gettempdir's probe: create, write and remove a file.
func usableTempDir(dir string) bool {
	for i := 0; i < 100; i++ {
		name := filepath.Join(dir, randomTempSuffix())
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return false
		}
		_, werr := f.Write([]byte("blat"))
		f.Close()
		os.Remove(name)
		return werr == nil
	}
	return false
}

// isDir reports whether path is an existing directory (following
// symlinks, as Django's os.path.isdir check does).
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
