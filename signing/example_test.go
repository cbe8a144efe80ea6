package signing_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/djsession/djsession/pyvalue"
	"github.com/djsession/djsession/signing"
)

// The SECRET_KEY of the Django project; a frozen clock makes the output
// reproducible (omit WithNow in real code).
const secretKey = "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"

var clock = signing.WithNow(func() time.Time { return time.Unix(1700000000, 0) })

func ExampleDumps() {
	v := pyvalue.NewDict(2)
	v.Set("a", int64(1))
	v.Set("b", []any{int64(1), int64(2)})
	token, err := signing.Dumps(v, signing.WithKey(secretKey), clock)
	if err != nil {
		panic(err)
	}
	fmt.Println(token) // identical to Django's signing.dumps({"a": 1, "b": [1, 2]})
	// Output: eyJhIjoxLCJiIjpbMSwyXX0:1r31eq:Y8FWByWZ3N_68pWci-mKKfphs_AkfOOvaIyjmdFoKSE
}

func ExampleLoads() {
	// A token written by Django's signing.dumps("hello").
	token := "ImhlbGxvIg:1r31eq:KZpP1Kxk4ze4iBRTvIFdMJFlvkoenQvz23aX8fsWYcE"
	v, err := signing.Loads(token, signing.WithKey(secretKey))
	fmt.Println(v, err)

	// Older than max_age: the error says by how much.
	later := signing.WithNow(func() time.Time { return time.Unix(1700000101, 0) })
	_, err = signing.Loads(token, signing.WithKey(secretKey), later, signing.WithMaxAge(100*time.Second))
	var expired *signing.ExpiredError
	if errors.As(err, &expired) {
		fmt.Println("expired:", expired.Age, "old; bad signature too:", errors.Is(err, signing.ErrBadSignature))
	}

	// Tampered: ErrBadSignature.
	_, err = signing.Loads("ImhlbGxvIg:1r31eq:AAAA", signing.WithKey(secretKey))
	fmt.Println(errors.Is(err, signing.ErrBadSignature))
	// Output:
	// hello <nil>
	// expired: 1m41s old; bad signature too: true
	// true
}

func ExampleSigner() {
	s, err := signing.NewSigner(signing.Options{Key: secretKey})
	if err != nil {
		panic(err)
	}
	signed := s.Sign("hello")
	fmt.Println(signed)
	v, err := s.Unsign(signed)
	fmt.Println(v, err)
	_, err = s.Unsign("hellO" + signed[5:])
	fmt.Println(err)
	// Output:
	// hello:4EKCil7y9Cv4maFFptWJR-mgzOLFmpA82AkhhnOCfUY
	// hello <nil>
	// signing: bad signature: Signature "4EKCil7y9Cv4maFFptWJR-mgzOLFmpA82AkhhnOCfUY" does not match
}

func ExampleTimestampSigner_UnsignMaxAge() {
	s, _ := signing.NewTimestampSigner(signing.Options{
		Key: secretKey,
		// Django 4.1+ SECRET_KEY_FALLBACKS: still accepted, never used to sign.
		FallbackKeys: []string{"spec-old-secret-key-ZYXWVUTSRQPONMLKJIHGFEDCBA"},
		Now:          func() time.Time { return time.Unix(1700000000, 0) },
	})
	signed := s.Sign("hello")
	fmt.Println(signed)
	v, err := s.UnsignMaxAge(signed, time.Hour)
	fmt.Println(v, err)
	// Output:
	// hello:1r31eq:ORQffQ8Ndcr76ONjxwHAs58P5MqbQDrHKRsHWZKU1FI
	// hello <nil>
}

func ExampleNewCookieSigner() {
	// HttpResponse.set_signed_cookie("mycookie", "hello"): salt = name + salt.
	s, _ := signing.NewCookieSigner(signing.Options{Key: secretKey, Salt: "mycookie",
		Now: func() time.Time { return time.Unix(1700000000, 0) }})
	fmt.Println(s.Sign("hello"))
	// Output: hello:1r31eq:ylGHxjzls1qJIb_lRSAvfPgZB4i4Qxp5BahTapMXuLI
}
