// Package signing is a byte-exact Go port of Django's django.core.signing and
// the parts of django.utils.crypto that signing builds on.
//
// Everything a Django project signs with its SECRET_KEY can be produced and
// verified here: session data (signing.dumps with compression), signed
// cookies (get_cookie_signer), password-reset style tokens (Signer and
// TimestampSigner). Output is identical to Django's for every input, except
// that compressed payloads are produced by a different (equally valid) deflate
// implementation (klauspost/compress): Django accepts them and decodes the
// same value, but the bytes differ from CPython's zlib, and for payloads
// that compress only marginally the "keep it if it saves two bytes" decision
// can differ (about 2% of small random values, none of the session-shaped
// ones measured). Decompression uses this package's own whole-buffer
// inflater, which reports errors with zlib's texts and stops at
// Options.MaxPayloadSize.
//
// # Wire format
//
//	Signer          value SEP signature
//	TimestampSigner value SEP b62(unix seconds) SEP signature
//	SignObject      ["."] b64(serialized payload, zlib-compressed if ".")
//
// The signature is b64(HMAC-H(K, signed_part)) with K = H(salt + "signer" +
// key), H the configured hash (sha256 unless told otherwise), and b64 the
// URL-safe alphabet without padding.
//
// # Mapping from Django
//
//	Django                                    Go
//	Signer(key=, salt=, sep=, algorithm=,     NewSigner(Options{Key, Salt, Sep,
//	       fallback_keys=)                      Algorithm, FallbackKeys})
//	TimestampSigner(...)                      NewTimestampSigner(Options{...})
//	DEFAULT_HASHING_ALGORITHM (3.2)           Options.Algorithm
//	3.2's legacy SHA-1 acceptance             Options.AcceptSHA1
//	signer.unsign(s, max_age=...)             UnsignMaxAge / UnsignMaxAgeSeconds
//	sign_object / unsign_object               SignObject / UnsignObject
//	dumps / loads                             Dumps / Loads with Option values
//	get_cookie_signer(salt=name+salt)         NewCookieSigner
//	BadSignature                              ErrBadSignature (*BadSignatureError)
//	SignatureExpired                          ErrExpired (*ExpiredError)
//	JSONDecodeError, zlib.error, binascii     ErrMalformed (*MalformedError)
//	salted_hmac / constant_time_compare       SaltedHMAC / ConstantTimeCompare
//	b62_encode / b62_decode / b64_*           B62Encode / B62Decode / B64*
//
// Go has no settings module: the key is never implicit. Django falls back to
// settings.SECRET_KEY when key is empty; here an empty Options.Key is an error
// (ErrEmptyKey), and SECRET_KEY_FALLBACKS must be passed as
// Options.FallbackKeys.
//
// Keys, salts and values are Go strings holding the exact bytes Django hashes:
// a Python str is its UTF-8 encoding, Python bytes are used as they are.
package signing
