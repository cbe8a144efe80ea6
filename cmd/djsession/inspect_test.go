package main

import (
	"strings"
	"testing"
)

func inspect(t *testing.T, argv []string, stdin string) string {
	t.Helper()
	var out, errb strings.Builder
	if rc := run(t.Context(), argv, strings.NewReader(stdin), &out, &errb); rc != exitOK {
		t.Fatalf("%v: rc %d %s %s", argv, rc, out.String(), errb.String())
	}
	return out.String()
}

func TestInspect(t *testing.T) {
	vcfg := `{"SECRET_KEY":"` + vectorKey + `"}`
	tests := []struct {
		name  string
		argv  []string
		stdin string
		want  []string
	}{
		{"django dumps, no key", []string{"inspect", "ImhlbGxvIg:1r31eq:KZpP1Kxk4ze4iBRTvIFdMJFlvkoenQvz23aX8fsWYcE"}, "",
			[]string{"2023-11-14 22:13:20 UTC", "HMAC-SHA256", "compressed:  no", "JSONSerializer", "not checked", `payload:     "hello"`}},
		{"verified with the key", []string{"--config", vcfg, "inspect", "ImhlbGxvIg:1r31eq:KZpP1Kxk4ze4iBRTvIFdMJFlvkoenQvz23aX8fsWYcE"}, "",
			[]string{`verified:    yes: SECRET_KEY, HMAC-SHA256, salt "django.core.signing"`}},
		{"wrong key", []string{"--config", `{"SECRET_KEY":"nope"}`, "inspect", "ImhlbGxvIg:1r31eq:KZpP1Kxk4ze4iBRTvIFdMJFlvkoenQvz23aX8fsWYcE"}, "",
			[]string{"verified:    NO"}},
		{"compressed, key from stdin", []string{"--config", vcfg, "inspect", "-"},
			`{"key":".eJwFwcERACAIwLCF-rCiILN47r-GyZVJsNgkxaFxoDgxcOHGxMKD_T7vhAml:1r31eq:TIfgKSuUHQq1tHVpNEDhhySoDi3Ae_AlP1TML8mI08w"}`,
			[]string{"compressed:  yes", "[1, 2, 3, 4, 5, 6, 7, 8,", "verified:    yes"}},
		{"session_data with a fallback key", []string{"--config", `{"SECRET_KEY":"new","SECRET_KEY_FALLBACKS":["` + vectorKey + `"]}`, "inspect",
			"eyJmb28iOiJiYXIiLCJuIjoxfQ:1r31eq:Ba-jsv1DmYmzprCnPI2Nvn8JRJl3mt9W99wjRAsAD9Q"}, "",
			[]string{`SECRET_KEY_FALLBACKS[0]`, `django.contrib.sessions.SessionStore`, "Django ≥ 4.1 accepts it", `"foo": "bar"`}},
		{"signed cookie", []string{"--config", vcfg, "inspect", "eyJhIjoxfQ:1r31eq:VplhdrUFi_Fm_9wAMUYIHMZLeCyz4tNA7t1-6ly1DeY"}, "",
			[]string{"signed_cookies", `"a": 1`}},
		{"sha1", []string{"--config", vcfg, "inspect", "ImhlbGxvIg:1r31eq:m-yF-dZwTXNbvSjo1O4wemx30h8"}, "",
			[]string{"HMAC-SHA1", "only Django 3.2"}},
		{"pickled cookie", []string{"inspect", "gAWVCgAAAAAAAAB9lIwBYZRLAXMu:1r31eq:gO6KzifHpOzzRKvHzqhqPRiAxeohNydx4cYRny0yNM4"}, "",
			[]string{"PickleSerializer (pickle protocol 5)", `"a": 1`}},
		{"legacy", []string{"--config", vcfg, "inspect", "NWQ3MDg0MzZmZGFlN2M1M2ZkMWU4OWE2MTBiZWZmZTZiNmFiNzc3YTp7ImEiOjF9"}, "",
			[]string{"legacy session format", "5d708436fdae7c53fd1e89a610beffe6b6ab777a", "verified:    yes", `"a": 1`}},
		{"plain signer", []string{"--config", vcfg, "inspect", "hello:4EKCil7y9Cv4maFFptWJR-mgzOLFmpA82AkhhnOCfUY"}, "",
			[]string{"Signer value without timestamp", "verified:    yes"}},
		{"garbage", []string{"inspect", "not-a-token"}, "", []string{"not recognised"}},
		{"zlib bomb marker on garbage", []string{"inspect", ".AAAA:1r31eq:sig"}, "", []string{"cannot be decoded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := inspect(t, tt.argv, tt.stdin)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func FuzzAnalyzeToken(f *testing.F) {
	for _, s := range []string{"ImhlbGxvIg:1r31eq:KZpP1Kxk4ze4iBRTvIFdMJFlvkoenQvz23aX8fsWYcE",
		".eJwFwcERACAIwLCF-rCiILN47r-GyZVJsNgkxaFxoDgxcOHGxMKD_T7vhAml:1r31eq:TIfgKSuUHQq1tHVpNEDhhySoDi3Ae_AlP1TML8mI08w",
		"gAWVCgAAAAAAAAB9lIwBYZRLAXMu:1r31eq:gO6KzifHpOzzRKvHzqhqPRiAxeohNydx4cYRny0yNM4",
		"NWQ3MDg0MzZmZGFlN2M1M2ZkMWU4OWE2MTBiZWZmZTZiNmFiNzc3YTp7ImEiOjF9", "a:b", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		r := analyzeToken(tok)
		var b strings.Builder
		writeReport(&b, r, nil, r.signedAt())
	})
}
