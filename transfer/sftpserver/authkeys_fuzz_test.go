package sftpserver_test

import (
	"crypto/ed25519"
	"net/netip"
	"strings"
	"testing"
	"time"

	"leverance/transfer/sftpserver"
)

// FuzzParseAuthorizedKeys: any text is parsed without a panic; every line
// is accepted, refused with a reason, or skipped as blank or comment; a
// refusal names file and line; and the matching of an accepted key's
// from= never panics.
func FuzzParseAuthorizedKeys(f *testing.F) {
	key := authLine(f, "", ed25519.PublicKey(make([]byte, 32)))
	for _, opts := range []string{"", "restrict", `from="10.0.0.0/8,!10.1.2.3,192.168.*"`, `expiry-time="20991231Z"`,
		`command="x"`, `cert-authority`, `from="\"quoted\""`, `FROM="::1/128"`, `no-touch-required,pty`, `x=`} {
		f.Add(strings.TrimSpace(opts + " " + key))
	}
	f.Add("# comment\n\nssh-ed25519 AAAA\n")
	f.Fuzz(func(t *testing.T, text string) {
		keys, refused, warnings := sftpserver.ParseAuthorizedKeys("ak", []byte(text))
		lines := strings.Count(text, "\n") + 1
		if len(keys)+len(refused) > lines {
			t.Fatalf("%d keys and %d refusals from %d lines", len(keys), len(refused), lines)
		}
		for _, p := range append(refused, warnings...) {
			if p.Line < 1 || p.Line > lines || p.Reason == "" || !strings.HasPrefix(p.String(), "ak:") {
				t.Fatalf("problem %+v", p)
			}
		}
		for _, k := range keys {
			if k.Key == nil || k.Line < 1 || k.Line > lines {
				t.Fatalf("key %+v", k)
			}
			for _, a := range []string{"127.0.0.1", "::1", "10.1.2.3"} {
				k.Allows(netip.MustParseAddr(a), time.Unix(0, 0))
			}
		}
	})
}
