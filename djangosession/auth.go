package djangosession

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"

	"github.com/djsession/djsession/signing"
)

// The session keys of django.contrib.auth.
const (
	SessionKeyUserID  = "_auth_user_id"      // auth.SESSION_KEY
	SessionKeyBackend = "_auth_user_backend" // auth.BACKEND_SESSION_KEY
	SessionKeyHash    = "_auth_user_hash"    // auth.HASH_SESSION_KEY
)

// ModelBackend is the dotted path of Django's default authentication
// backend, the default AUTHENTICATION_BACKENDS.
const ModelBackend = "django.contrib.auth.backends.ModelBackend"

// AuthHashSalt is the key salt of AbstractBaseUser.get_session_auth_hash.
const AuthHashSalt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"

// SessionAuthHash is user.get_session_auth_hash() for a user whose password
// field is passwordHash: the hex HMAC of the field with SECRET_KEY, SHA-256
// (on 3.2, DEFAULT_HASHING_ALGORITHM). Changing the password field changes
// it, which logs the user out everywhere.
func SessionAuthHash(s *Settings, passwordHash string) string {
	return authHash(passwordHash, s.SecretKey, s.HashingAlgorithm())
}

// SessionAuthFallbackHashes is get_session_auth_fallback_hash(): the hash
// made with each SECRET_KEY_FALLBACKS key (Django ≥ 4.1; none for 3.2).
func SessionAuthFallbackHashes(s *Settings, passwordHash string) []string {
	fb := s.FallbackKeys()
	out := make([]string, 0, len(fb))
	for _, k := range fb {
		out = append(out, authHash(passwordHash, k, "sha256"))
	}
	return out
}

// LegacySessionAuthHash is 3.2's _legacy_get_session_auth_hash: the SHA-1
// hash sessions from Django < 3.1 carry, which 3.2 still accepts.
func LegacySessionAuthHash(s *Settings, passwordHash string) string {
	return authHash(passwordHash, s.SecretKey, "sha1")
}

func authHash(password, secret, algorithm string) string {
	// algorithm is sha1 or sha256 (Settings.HashingAlgorithm), which never
	// fail.
	h, _ := signing.SaltedHMACHex(AuthHashSalt, password, secret, algorithm)
	return h
}

// UserID returns the logged-in user's primary key as text
// (_auth_user_id; an int stored by an old Django is formatted), and false
// when the session has no user.
func UserID(ctx context.Context, s *Session) (string, bool, error) {
	v, ok, err := s.Get(ctx, SessionKeyUserID)
	if err != nil || !ok {
		return "", false, err
	}
	id, ok := pkText(v)
	return id, ok, nil
}

func pkText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case *big.Int:
		return x.String(), true
	}
	return "", false
}

// samePK compares a stored _auth_user_id with a user's pk as Django does
// after the pk field's to_python: integer text compares as a number ("042"
// is 42), anything else as text.
func samePK(stored any, pk string) bool {
	s, ok := pkText(stored)
	if !ok {
		return false
	}
	if s == pk {
		return true
	}
	a, ok1 := new(big.Int).SetString(s, 10)
	b, ok2 := new(big.Int).SetString(pk, 10)
	return ok1 && ok2 && a.Cmp(b) == 0
}

// Login leaves s exactly as django.contrib.auth.login(request, user,
// backend) does for a user with primary key userID and password field
// passwordHash:
//   - a session already holding another user, or this user with another
//     auth hash, is flushed (emptied, record deleted, key dropped);
//   - a session of the same user with the same hash is kept as is;
//   - an anonymous session keeps its data under a new key (cycle_key,
//     which writes the new record at once);
//
// then _auth_user_id, _auth_user_backend (ModelBackend when backend is
// "") and _auth_user_hash are set. Like Django it does not save: call Save
// (the middleware's job). CSRF token rotation is not done (it only touches
// the session with CSRF_USE_SESSIONS).
func Login(ctx context.Context, s *Session, userID, passwordHash, backend string) error {
	if backend == "" {
		backend = ModelBackend
	}
	hash := SessionAuthHash(s.m.settings, passwordHash)
	stored, ok, err := s.Get(ctx, SessionKeyUserID)
	if err != nil {
		return err
	}
	if ok {
		sh, _, err := s.Get(ctx, SessionKeyHash)
		if err != nil {
			return err
		}
		shs, _ := sh.(string)
		if !samePK(stored, userID) || !signing.ConstantTimeCompare(shs, hash) {
			if err := s.Flush(ctx); err != nil {
				return err
			}
		}
	} else if err := s.CycleKey(ctx); err != nil {
		return err
	}
	for _, kv := range [...][2]string{{SessionKeyUserID, userID}, {SessionKeyBackend, backend}, {SessionKeyHash, hash}} {
		if err := s.Set(ctx, kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// Logout is django.contrib.auth.logout(): the session is flushed.
func Logout(ctx context.Context, s *Session) error { return s.Flush(ctx) }

// UpdateSessionAuthHash is update_session_auth_hash(request, user), called
// after user userID changed their password field to passwordHash, to keep
// the current session logged in: the key is cycled, and when the session is
// that user's (request.user == user) the new hash is stored.
func UpdateSessionAuthHash(ctx context.Context, s *Session, userID, passwordHash string) error {
	if err := s.CycleKey(ctx); err != nil {
		return err
	}
	stored, ok, err := s.Get(ctx, SessionKeyUserID)
	if err != nil {
		return err
	}
	if ok && samePK(stored, userID) {
		return s.Set(ctx, SessionKeyHash, SessionAuthHash(s.m.settings, passwordHash))
	}
	return nil
}

// AuthResult is the outcome of VerifyAuth, what get_user(request) decided.
type AuthResult struct {
	// Accepted: get_user returns the user (the session is logged in).
	Accepted bool
	// UserID and Backend are the session's _auth_user_id and
	// _auth_user_backend as read (before any flush).
	UserID, Backend string
	// Rotated: only a SECRET_KEY_FALLBACKS key verified the hash, so the
	// key was cycled and the hash rewritten with SECRET_KEY (≥ 4.1).
	Rotated bool
	// Flushed: the hash did not verify; the session was flushed.
	Flushed bool
	// KeyAfter is the session key afterwards ("" after a flush).
	KeyAfter string
}

// ErrUserNotFound: a PasswordHashLookup found no (active) user.
var ErrUserNotFound = errors.New("djangosession: user not found")

// PasswordHashLookup finds the password field of a user, as the
// authentication backend's get_user does.
type PasswordHashLookup interface {
	// PasswordHash returns the password field of the user with primary key
	// userID, or ErrUserNotFound (wrapped or not) when no user may log in
	// (absent, or inactive for ModelBackend).
	PasswordHash(ctx context.Context, userID string) (string, error)
}

// StaticPasswordHash is a PasswordHashLookup that knows one password field
// for every user (a caller that already loaded the user).
type StaticPasswordHash string

// PasswordHash returns the hash itself.
func (h StaticPasswordHash) PasswordHash(context.Context, string) (string, error) {
	return string(h), nil
}

// VerifyAuth is django.contrib.auth.get_user(request) for a session whose
// user has the password field passwordHash (VerifyAuthLookup with that
// one answer).
func VerifyAuth(ctx context.Context, s *Session, passwordHash string) (AuthResult, error) {
	return VerifyAuthLookup(ctx, s, StaticPasswordHash(passwordHash))
}

// VerifyAuthLookup is django.contrib.auth.get_user(request): it reads
// _auth_user_id and _auth_user_backend (a session without them, or with a
// backend outside AUTHENTICATION_BACKENDS, is anonymous and left alone),
// looks the user up (not found: anonymous, left alone), and compares
// _auth_user_hash with the user's current hash in constant time:
//
//	stored hash                 3.2                     4.1+
//	current hash                accepted                accepted
//	SHA-1 hash (pre-3.1)        accepted, kept          flushed
//	made with a fallback key    flushed                 accepted, key cycled, hash rewritten
//	other, empty or missing     flushed                 flushed
//
// As in Django the session is changed but not saved (a cycle writes the new
// record at once; the rewritten hash needs a Save).
func VerifyAuthLookup(ctx context.Context, s *Session, users PasswordHashLookup) (AuthResult, error) {
	var res AuthResult
	rawID, okID, err := s.Get(ctx, SessionKeyUserID)
	if err != nil {
		return res, err
	}
	rawBackend, okBackend, err := s.Get(ctx, SessionKeyBackend)
	if err != nil {
		return res, err
	}
	res.KeyAfter = s.Key()
	if !okID || !okBackend {
		return res, nil
	}
	res.UserID, _ = pkText(rawID)
	res.Backend, _ = rawBackend.(string)
	if !s.m.settings.authBackendAllowed(res.Backend) {
		return res, nil
	}
	password, err := users.PasswordHash(ctx, res.UserID)
	if errors.Is(err, ErrUserNotFound) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("djangosession: user lookup: %w", err)
	}
	rawHash, _, err := s.Get(ctx, SessionKeyHash)
	if err != nil {
		return res, err
	}
	stored, _ := rawHash.(string)
	st := s.m.settings
	current := SessionAuthHash(st, password)
	verified := stored != "" && signing.ConstantTimeCompare(stored, current)
	switch {
	case verified:
		res.Accepted = true
	case stored == "":
		// Falls through to flush.
	case !st.Version().AtLeast(4, 0):
		verified = signing.ConstantTimeCompare(stored, LegacySessionAuthHash(st, password))
		res.Accepted = verified
	default:
		for _, fb := range SessionAuthFallbackHashes(st, password) {
			if signing.ConstantTimeCompare(stored, fb) {
				if err := s.CycleKey(ctx); err != nil {
					return res, err
				}
				if err := s.Set(ctx, SessionKeyHash, current); err != nil {
					return res, err
				}
				res.Accepted, res.Rotated = true, true
				break
			}
		}
	}
	if !res.Accepted {
		if err := s.Flush(ctx); err != nil {
			return res, err
		}
		res.Flushed = true
	}
	res.KeyAfter = s.Key()
	return res, nil
}

// authBackendAllowed reports whether backend is in AUTHENTICATION_BACKENDS
// (default: ModelBackend only).
func (s *Settings) authBackendAllowed(backend string) bool {
	list := s.AuthenticationBackends
	if len(list) == 0 {
		return backend == ModelBackend
	}
	for _, b := range list {
		if b == backend {
			return true
		}
	}
	return false
}
