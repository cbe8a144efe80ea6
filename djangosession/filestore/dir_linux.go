//go:build linux

package filestore

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"
	"time"
)

// dir is the session directory, opened once. Every file operation is
// relative to its descriptor (openat, unlinkat, renameat) with names that
// are single path components, so nothing outside the directory is reachable
// whatever a key or a planted symlink says, and a path is never re-resolved.
type dir struct {
	f        *os.File // keeps the descriptor alive; closed by Close
	fd       int
	dev, ino uint64 // identity of the directory, to notice a replaced path
}

// oPath is O_PATH (0x200000 on every Linux architecture Go supports); the
// syscall package does not export it.
const oPath = 0x200000

func openDir(path string) (*dir, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	return &dir{f: os.NewFile(uintptr(fd), path), fd: fd, dev: uint64(st.Dev), ino: uint64(st.Ino)}, nil
}

// samePath reports whether path still names the directory d has open.
// Django resolves SESSION_FILE_PATH as a path on every operation; when the
// directory is replaced (removed and recreated, or rotated away), the
// Store reopens the path so that both keep using the same directory.
func (d *dir) samePath(path string) (bool, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return false, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return uint64(st.Dev) == d.dev && uint64(st.Ino) == d.ino, nil
}

func (d *dir) close() error { return d.f.Close() }

func retryEINTR(f func() error) error {
	for {
		if err := f(); err != syscall.EINTR {
			return err
		}
	}
}

// readRegular reads the regular file name without following a symlink and
// without blocking on a FIFO, returning its content and modification time.
func (d *dir) readRegular(name string) ([]byte, time.Time, error) {
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = syscall.Openat(d.fd, name, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		return err
	})
	runtime.KeepAlive(d)
	if err != nil {
		return nil, time.Time{}, classify("open", name, err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, time.Time{}, &os.PathError{Op: "fstat", Path: name, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, time.Time{}, fmt.Errorf("%w: %s", ErrNotRegular, name)
	}
	mtime := time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
	size := int(st.Size)
	if size < 0 || int64(size) != st.Size {
		size = 0
	}
	// Session files are replaced by rename, never rewritten in place, so
	// the size from fstat is the whole content: stop there without the
	// extra read(2) that would only confirm EOF. A file that is growing
	// anyway (a foreign writer) is read up to EOF.
	buf := make([]byte, size, size+1)
	n := 0
	for {
		if n == len(buf) {
			if n == size && size > 0 {
				break
			}
			buf = append(buf, 0)[:n]
			buf = buf[:cap(buf)]
		}
		var m int
		err := retryEINTR(func() (err error) {
			m, err = syscall.Read(fd, buf[n:])
			return err
		})
		if err != nil {
			return nil, time.Time{}, &os.PathError{Op: "read", Path: name, Err: err}
		}
		if m <= 0 {
			break
		}
		n += m
		if n > size {
			size = -1 // grew past fstat's size: read to EOF
		}
	}
	return buf[:n], mtime, nil
}

// touch is step 1 of Django's save: open the target write-only (creating it
// exclusively when create is set) and close it at once. It never follows a
// symlink and refuses anything but a regular file.
func (d *dir) touch(name string, create bool) error {
	flags := syscall.O_WRONLY | syscall.O_NOFOLLOW | syscall.O_NONBLOCK | syscall.O_CLOEXEC
	if create {
		flags |= syscall.O_CREAT | syscall.O_EXCL
	}
	var fd int
	err := retryEINTR(func() (err error) {
		// The placeholder exists only until the temp file is renamed over
		// it (which leaves mode 0600); Python's os.open would give it
		// 0o777 &^ umask, 0o666 avoids execute bits in the meantime.
		fd, err = syscall.Openat(d.fd, name, flags, 0o666)
		return err
	})
	runtime.KeepAlive(d)
	if err != nil {
		if create && err == syscall.ELOOP {
			err = syscall.EEXIST
		}
		return classify("open", name, err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "fstat", Path: name, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return fmt.Errorf("%w: %s", ErrNotRegular, name)
	}
	return nil
}

// writeTemp creates prefix+8 random characters exclusively with mode 0600 (as
// Python's tempfile.mkstemp), writes data and closes it, returning its name.
func (d *dir) writeTemp(prefix string, data []byte) (string, error) {
	for attempt := 0; attempt < tmpMax; attempt++ {
		name := prefix + randomTempSuffix()
		var fd int
		err := retryEINTR(func() (err error) {
			fd, err = syscall.Openat(d.fd, name, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
			return err
		})
		if err == syscall.EEXIST {
			continue
		}
		if err != nil {
			runtime.KeepAlive(d)
			return "", &os.PathError{Op: "open", Path: name, Err: err}
		}
		werr := writeAll(fd, data)
		cerr := syscall.Close(fd)
		if werr == nil {
			werr = cerr
		}
		if werr != nil {
			syscall.Unlinkat(d.fd, name)
			runtime.KeepAlive(d)
			return "", &os.PathError{Op: "write", Path: name, Err: werr}
		}
		runtime.KeepAlive(d)
		return name, nil
	}
	return "", &os.PathError{Op: "mkstemp", Path: prefix, Err: syscall.EEXIST}
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		var n int
		err := retryEINTR(func() (err error) {
			n, err = syscall.Write(fd, b)
			return err
		})
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b = b[n:]
	}
	return nil
}

// rename atomically replaces newName by oldName (rename(2) replaces a
// symlink itself, never its target).
func (d *dir) rename(oldName, newName string) error {
	err := retryEINTR(func() error { return syscall.Renameat(d.fd, oldName, d.fd, newName) })
	runtime.KeepAlive(d)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldName, New: newName, Err: err}
	}
	return nil
}

// unlink removes a directory entry that is not a directory (unlinkat without
// AT_REMOVEDIR, as Python's os.unlink).
func (d *dir) unlink(name string) error {
	err := retryEINTR(func() error { return syscall.Unlinkat(d.fd, name) })
	runtime.KeepAlive(d)
	if err != nil {
		return classify("unlink", name, err)
	}
	return nil
}

// exists reports whether any directory entry called name is present. It
// uses lstat semantics: a planted symlink counts as present (its name is
// taken) and its target, possibly outside the directory, is never looked at.
func (d *dir) exists(name string) (bool, error) {
	var fd int
	err := retryEINTR(func() (err error) {
		// O_PATH|O_NOFOLLOW opens the entry itself, whatever it is, without
		// reading it or following it.
		fd, err = syscall.Openat(d.fd, name, oPath|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		return err
	})
	runtime.KeepAlive(d)
	if err == nil {
		syscall.Close(fd)
		return true, nil
	}
	if err == syscall.ENOENT || err == syscall.ENOTDIR || err == syscall.ENAMETOOLONG {
		return false, nil
	}
	return false, &os.PathError{Op: "open", Path: name, Err: err}
}

// names lists the directory (a fresh descriptor, so concurrent scans do not
// share a read offset).
func (d *dir) names() ([]string, error) {
	var fd int
	err := retryEINTR(func() (err error) {
		fd, err = syscall.Openat(d.fd, ".", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		return err
	})
	runtime.KeepAlive(d)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: ".", Err: err}
	}
	f := os.NewFile(uintptr(fd), ".")
	defer f.Close()
	return f.Readdirnames(-1)
}

// classify wraps the errno of a failed open/unlink so that callers can tell
// "no usable file here" (ErrNoFile, what Django's FileNotFoundError and the
// other OSErrors it swallows on load mean) from EEXIST and from real I/O
// failures.
func classify(op, name string, errno error) error {
	perr := &os.PathError{Op: op, Path: name, Err: errno}
	switch errno {
	case syscall.ENOENT, syscall.ENOTDIR, syscall.ENAMETOOLONG:
		return fmt.Errorf("%w: %w", errNoFile, perr)
	case syscall.ELOOP, syscall.EISDIR, syscall.ENXIO:
		// ELOOP: a symlink (O_NOFOLLOW). EISDIR: a directory opened for
		// writing. ENXIO: a FIFO without reader opened O_WRONLY|O_NONBLOCK.
		return fmt.Errorf("%w: %w", ErrNotRegular, perr)
	case syscall.EEXIST:
		return fmt.Errorf("%w: %w", errExists, perr)
	}
	return perr
}
