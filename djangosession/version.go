package djangosession

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a Django release as major.minor ("4.2"). Patch levels do not
// change any session format and are ignored.
type Version struct {
	Major, Minor int
}

// The newest Django release, targeted when TARGET_DJANGO_VERSION is not set,
// and the oldest this package can target.
const (
	NewestMajor, NewestMinor = 6, 0
	OldestMajor, OldestMinor = 3, 2
)

// NewestVersion returns the Django release targeted when
// TARGET_DJANGO_VERSION is not set (6.0).
func NewestVersion() Version { return Version{NewestMajor, NewestMinor} }

// OldestVersion returns the oldest Django release this package can target
// (3.2).
func OldestVersion() Version { return Version{OldestMajor, OldestMinor} }

// ParseVersion parses "3.2", "4.2.30" or "6.0" (a patch level is accepted and
// dropped).
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, fmt.Errorf("djangosession: invalid TARGET_DJANGO_VERSION %q (want e.g. \"4.2\")", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || p == "" || (len(p) > 1 && p[0] == '+') {
			return Version{}, fmt.Errorf("djangosession: invalid TARGET_DJANGO_VERSION %q (want e.g. \"4.2\")", s)
		}
		n[i] = v
	}
	return Version{n[0], n[1]}, nil
}

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// String returns "major.minor".
func (v Version) String() string {
	return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor)
}

// The per-version rules of DJANGO_FORMATS.md §8, named so that callers read
// as the spec does.

// HasFallbackKeys reports whether SECRET_KEY_FALLBACKS exists (4.1+).
func (v Version) HasFallbackKeys() bool { return v.AtLeast(4, 1) }

// AcceptsSHA1 reports whether signatures made with SHA-1 are always accepted
// and DEFAULT_HASHING_ALGORITHM exists (3.1/3.2 only).
func (v Version) AcceptsSHA1() bool { return !v.AtLeast(4, 0) }

// ReadsLegacySessions reports whether the pre-3.1 session format is decoded
// (3.1/3.2 only).
func (v Version) ReadsLegacySessions() bool { return !v.AtLeast(4, 0) }

// HasPickleSerializer reports whether PickleSerializer exists (removed in 5.0).
func (v Version) HasPickleSerializer() bool { return !v.AtLeast(5, 0) }

// StoresExpiryAsISO reports whether set_expiry(datetime) stores isoformat()
// text (4.1+) rather than the datetime object (3.2).
func (v Version) StoresExpiryAsISO() bool { return v.AtLeast(4, 1) }

// DefaultUseTZ is the default of USE_TZ in global_settings: False before 5.0,
// True from 5.0.
func (v Version) DefaultUseTZ() bool { return v.AtLeast(5, 0) }
