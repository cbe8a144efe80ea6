package main

import (
	"fmt"
	"strings"

	"github.com/djsession/djsession/djangosession"
	"github.com/djsession/djsession/signing"
)

// Salts under which Django signs the values inspect is shown.
const (
	saltSessionData   = "django.contrib.sessions.SessionStore"
	saltSignedCookies = "django.contrib.sessions.backends.signed_cookies"
	saltSigningDumps  = "django.core.signing"
	saltLegacySession = "django.contrib.sessionsSessionStore"
)

// verification is what inspect found out with the key.
type verification struct {
	ok        bool
	salt      string
	purpose   string
	key       string // "SECRET_KEY" or "SECRET_KEY_FALLBACKS[i]"
	algorithm string
	tried     int
}

func (v *verification) summary() string {
	if !v.ok {
		return fmt.Sprintf("NO: the signature matches none of the %d key/salt/algorithm combinations tried (wrong SECRET_KEY, tampered, or a custom salt)", v.tried)
	}
	var notes []string
	if v.algorithm == "sha1" {
		notes = append(notes, "SHA-1: only Django 3.2 (and older) accepts it")
	}
	if strings.HasPrefix(v.key, "SECRET_KEY_FALLBACKS") {
		notes = append(notes, "a fallback key: Django ≥ 4.1 accepts it, 3.2 does not")
	}
	s := fmt.Sprintf("yes: %s, HMAC-%s, salt %q (%s)", v.key, strings.ToUpper(v.algorithm), v.salt, v.purpose)
	if len(notes) > 0 {
		s += "; " + strings.Join(notes, "; ")
	}
	return s
}

// verify checks r's signature against the configured keys under every salt
// Django uses for such a value.
func verify(s *djangosession.Settings, r *tokenReport) *verification {
	type keyName struct{ key, name string }
	keys := []keyName{{s.SecretKey, "SECRET_KEY"}}
	for i, k := range s.SecretKeyFallbacks {
		keys = append(keys, keyName{k, fmt.Sprintf("SECRET_KEY_FALLBACKS[%d]", i)})
	}
	v := &verification{}
	algorithms := []string{"sha256", "sha1", "sha512"}

	if r.format == "legacy" {
		for _, k := range keys {
			v.tried++
			h, err := signing.SaltedHMACHex(saltLegacySession, string(r.payload), k.key, "sha1")
			if err == nil && signing.ConstantTimeCompare(h, r.legacyHash) {
				return &verification{ok: true, salt: saltLegacySession, purpose: "pre-3.1 session_data",
					key: k.name, algorithm: "sha1", tried: v.tried}
			}
		}
		return v
	}
	type saltUse struct{ salt, purpose string }
	var salts []saltUse
	switch r.format {
	case "signed":
		salts = []saltUse{
			{saltSessionData, "session_data of the db, file, cache and cached_db engines"},
			{saltSignedCookies, "a signed_cookies session cookie"},
			{saltSigningDumps, "signing.dumps with the default salt"},
		}
	case "signer":
		salts = []saltUse{{signing.DefaultSignerSalt, "Signer with the default salt"}}
	default:
		return v
	}
	for _, su := range salts {
		for _, alg := range algorithms {
			for _, k := range keys {
				v.tried++
				signer, err := signing.NewSigner(signing.Options{Key: k.key, Salt: su.salt, Algorithm: alg})
				if err != nil {
					continue
				}
				if _, err := signer.Unsign(r.token); err == nil {
					return &verification{ok: true, salt: su.salt, purpose: su.purpose, key: k.name, algorithm: alg, tried: v.tried}
				}
			}
		}
	}
	return v
}
