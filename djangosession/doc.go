// Package djangosession reads and writes Django's sessions byte for byte, so
// that Go services and a Django project can share logged-in users.
//
// The pieces mirror Django's:
//
//	Django                                   Go
//	settings (SECRET_KEY, SESSION_*, ...)    Settings, LoadSettings, SettingsFromEnv
//	SessionBase.encode / decode              Codec (NewCodec): Encode, Decode, DecodeOrEmpty
//	request.session                          Session (from a Manager or New)
//	session engines (db, file, cache, ...)   Store implementations in sub-packages
//	get_expiry_age / get_expiry_date         ExpiryPolicy, GetExpiryAge, GetExpiryDate
//	auth.login / logout / get_user           Login, Logout, VerifyAuth, VerifyAuthLookup
//	user.get_session_auth_hash()             SessionAuthHash
//
// Settings.TargetDjangoVersion (TARGET_DJANGO_VERSION) names the Django
// release the sessions are shared with (3.2, 4.2, 5.2 or 6.0). Where
// versions differ (signing algorithm and SHA-1 acceptance, fallback keys,
// the pre-3.1 session format, how set_expiry stores a datetime, the auth
// hash checks, PickleSerializer) this package behaves as that version does
// and writes only what it can read; a combination it cannot honour fails
// with ErrUnsupported.
//
// A Session is lazy, as Django's is: nothing is loaded until a value is
// asked for, and the Accessed and Modified flags are set exactly where
// Django sets them, so a middleware can decide as Django's does whether to
// save and send the cookie.
package djangosession
