package signing

import (
	"time"
)

// Option is an argument of Dumps and Loads, mirroring the keyword arguments
// of Django's signing.dumps and signing.loads.
type Option func(*callConfig)

type callConfig struct {
	opts       Options
	saltSet    bool
	ser        Serializer
	compress   bool
	maxAge     time.Duration // < 0: none
	maxAgeSeen bool
}

// WithKey sets the secret key (Django's key=, normally settings.SECRET_KEY).
// It is required.
func WithKey(key string) Option { return func(c *callConfig) { c.opts.Key = key } }

// WithFallbackKeys sets keys also accepted by Loads (Django's fallback_keys=,
// normally settings.SECRET_KEY_FALLBACKS).
func WithFallbackKeys(keys ...string) Option {
	return func(c *callConfig) { c.opts.FallbackKeys = keys }
}

// WithSalt sets the salt. Without it Dumps and Loads use DefaultDumpsSalt
// ("django.core.signing"); an explicit empty salt means the
// TimestampSigner default salt, as in Django.
func WithSalt(salt string) Option {
	return func(c *callConfig) { c.opts.Salt, c.saltSet = salt, true }
}

// WithSerializer sets the serializer; the default is JSONSerializer{}.
func WithSerializer(s Serializer) Option { return func(c *callConfig) { c.ser = s } }

// WithCompress makes Dumps try zlib compression (Django's compress=True).
func WithCompress(compress bool) Option { return func(c *callConfig) { c.compress = compress } }

// WithMaxAge makes Loads reject values signed more than d ago (Django's
// max_age= as a timedelta). A negative d means no limit.
func WithMaxAge(d time.Duration) Option {
	return func(c *callConfig) { c.maxAge, c.maxAgeSeen = d, true }
}

// WithMaxAgeSeconds is WithMaxAge in seconds (Django's max_age= as an int or
// float). NaN or a negative value means no limit.
func WithMaxAgeSeconds(s float64) Option {
	return func(c *callConfig) { c.maxAge, c.maxAgeSeen = secondsToDuration(s), true }
}

// WithAlgorithm sets the hash algorithm (default DefaultAlgorithm; for Django
// 3.2 its DEFAULT_HASHING_ALGORITHM setting).
func WithAlgorithm(alg string) Option { return func(c *callConfig) { c.opts.Algorithm = alg } }

// WithAcceptSHA1 makes Loads also accept SHA-1 signatures, as Django 3.2
// does (see Options.AcceptSHA1).
func WithAcceptSHA1(accept bool) Option { return func(c *callConfig) { c.opts.AcceptSHA1 = accept } }

// WithNow sets the clock (default time.Now).
func WithNow(now func() time.Time) Option { return func(c *callConfig) { c.opts.Now = now } }

// WithMaxPayloadSize bounds the decompressed payload Loads accepts (default
// DefaultMaxPayloadSize).
func WithMaxPayloadSize(n int) Option { return func(c *callConfig) { c.opts.MaxPayloadSize = n } }

// WithOptions sets every signer field at once; later options override it.
func WithOptions(o Options) Option {
	return func(c *callConfig) { c.opts = o; c.saltSet = o.Salt != "" }
}

func buildCall(opts []Option) (*TimestampSigner, *callConfig, error) {
	c := &callConfig{maxAge: -1}
	for _, o := range opts {
		o(c)
	}
	if !c.saltSet {
		c.opts.Salt = DefaultDumpsSalt
	}
	t, err := NewTimestampSigner(c.opts)
	if err != nil {
		return nil, nil, err
	}
	return t, c, nil
}

// Dumps returns a URL-safe, signed, timestamped text carrying v (Django's
// signing.dumps): TimestampSigner.SignObject with the salt
// "django.core.signing" unless WithSalt says otherwise. WithKey is required.
// Derived keys are cached, so repeated calls with the same key and salt do
// not re-derive them; still, a TimestampSigner built once is the cheapest
// way to sign many values.
func Dumps(v any, opts ...Option) (string, error) {
	t, c, err := buildCall(opts)
	if err != nil {
		return "", err
	}
	return t.SignObject(v, c.ser, c.compress)
}

// Loads verifies a Dumps text and returns the value it carries (Django's
// signing.loads). Errors are those of TimestampSigner.UnsignObjectMaxAge:
// ErrBadSignature, ErrExpired (with WithMaxAge), ErrMalformed and
// ErrTooLarge, plus ErrEmptyKey, ErrInvalidSeparator and ErrUnknownAlgorithm
// for bad options.
func Loads(token string, opts ...Option) (any, error) {
	t, c, err := buildCall(opts)
	if err != nil {
		return nil, err
	}
	return t.UnsignObjectMaxAge(token, c.ser, c.maxAge)
}
