//go:build !linux

package filestore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// dir is the session directory as an os.Root: no name can resolve outside
// it, even through a symlink. On Linux (dir_linux.go) the engine also never
// follows a symlink inside the directory and checks the opened file itself;
// here the regular-file check is an Lstat before the open, which a
// concurrent swap of the entry could race.
type dir struct {
	root *os.Root
}

func openDir(path string) (*dir, error) {
	r, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	return &dir{root: r}, nil
}

func (d *dir) close() error { return d.root.Close() }

// samePath reports whether path still names the directory d has open.
func (d *dir) samePath(path string) (bool, error) {
	a, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	b, err := d.root.Stat(".")
	if err != nil {
		return false, err
	}
	return os.SameFile(a, b), nil
}

func (d *dir) lstatRegular(name string) (fs.FileInfo, error) {
	fi, err := d.root.Lstat(name)
	if err != nil {
		return nil, classifyOS("lstat", name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s", ErrNotRegular, name)
	}
	return fi, nil
}

func (d *dir) readRegular(name string) ([]byte, time.Time, error) {
	if _, err := d.lstatRegular(name); err != nil {
		return nil, time.Time{}, err
	}
	f, err := d.root.Open(name)
	if err != nil {
		return nil, time.Time{}, classifyOS("open", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	if !fi.Mode().IsRegular() {
		return nil, time.Time{}, fmt.Errorf("%w: %s", ErrNotRegular, name)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, time.Time{}, err
	}
	return b, fi.ModTime(), nil
}

func (d *dir) touch(name string, create bool) error {
	flags := os.O_WRONLY
	if create {
		flags |= os.O_CREATE | os.O_EXCL
	} else if _, err := d.lstatRegular(name); err != nil {
		return err
	}
	f, err := d.root.OpenFile(name, flags, 0o666)
	if err != nil {
		return classifyOS("open", name, err)
	}
	return f.Close()
}

func (d *dir) writeTemp(prefix string, data []byte) (string, error) {
	for attempt := 0; attempt < tmpMax; attempt++ {
		name := prefix + randomTempSuffix()
		f, err := d.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, werr := f.Write(data)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			d.root.Remove(name)
			return "", werr
		}
		return name, nil
	}
	return "", &os.PathError{Op: "mkstemp", Path: prefix, Err: fs.ErrExist}
}

func (d *dir) rename(oldName, newName string) error { return d.root.Rename(oldName, newName) }

func (d *dir) unlink(name string) error {
	fi, err := d.root.Lstat(name)
	if err != nil {
		return classifyOS("unlink", name, err)
	}
	if fi.IsDir() {
		// os.unlink refuses directories; Root.Remove would rmdir.
		return &os.PathError{Op: "unlink", Path: name, Err: syscall.EISDIR}
	}
	return classifyOS("unlink", name, d.root.Remove(name))
}

func (d *dir) exists(name string) (bool, error) {
	_, err := d.root.Lstat(name)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}

func (d *dir) names() ([]string, error) {
	f, err := d.root.Open(".")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

func classifyOS(op, name string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", errNoFile, err)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%w: %w", errExists, err)
	}
	return err
}
