package sftpserver

import (
	"fmt"
	"slices"

	"golang.org/x/crypto/ssh"
)

// Profile names a set of SSH algorithms the server offers
// ([sftp_server] algorithms).
type Profile string

// The algorithm profiles. Compatible is the default.
const (
	// Modern: post-quantum and curve25519 key exchange, AES-GCM, an
	// ed25519 host key. Every OpenSSH since 8.5 and most modern libraries
	// connect; libssh2 (curl, PHP ssh2), paramiko, net-ssh and old Java
	// stacks do not.
	Modern Profile = "modern"
	// Compatible: what OpenSSH 9.x offers by default, without SHA-1.
	Compatible Profile = "compatible"
	// Legacy: Compatible plus ssh-rsa (SHA-1) signatures,
	// diffie-hellman-group14-sha1 and hmac-sha1, for JSch 0.1.5x and
	// Trilead.
	Legacy Profile = "legacy"

	DefaultProfile = Compatible
)

// Profiles lists the profile names, for messages.
var Profiles = []Profile{Modern, Compatible, Legacy}

// ParseProfile checks a profile name; "" is the default.
func ParseProfile(s string) (Profile, error) {
	if s == "" {
		return DefaultProfile, nil
	}
	p := Profile(s)
	if !slices.Contains(Profiles, p) {
		return "", fmt.Errorf("algorithms %q: want modern, compatible or legacy", s)
	}
	return p, nil
}

// LegacyWarning is what is logged at every start, and printed by
// check-config, when the legacy profile is in force.
const LegacyWarning = "sftp_server.algorithms = \"legacy\" accepts SHA-1 signatures (ssh-rsa), " +
	"diffie-hellman-group14-sha1 and hmac-sha1, which are deprecated: use it only while a vendor's client (JSch 0.1.5x, Trilead) needs it"

// Algorithms is what a profile offers, in the server's order of preference.
// curve25519-sha256@libssh.org is added by x/crypto beside
// curve25519-sha256, and strict key exchange (kex-strict-s-v00@openssh.com,
// the Terrapin counter-measure) is always offered by x/crypto's server.
type Algorithms struct {
	KeyExchanges []string
	Ciphers      []string
	MACs         []string
	// HostKeys are the host key types served, and HostKeySigs the
	// signature algorithms offered for them.
	HostKeys    []string
	HostKeySigs []string
	// ClientKeys are the signature algorithms accepted from vendors' keys.
	ClientKeys []string
}

var (
	modernKex  = []string{ssh.KeyExchangeMLKEM768X25519, ssh.KeyExchangeCurve25519}
	compatKex  = append(slices.Clone(modernKex), ssh.KeyExchangeECDHP256, ssh.KeyExchangeECDHP384, ssh.KeyExchangeECDHP521, ssh.KeyExchangeDH16SHA512, ssh.KeyExchangeDH14SHA256)
	modernCiph = []string{ssh.CipherAES128GCM, ssh.CipherAES256GCM}
	// chacha20-poly1305 last: x/crypto has no amd64 assembly for it
	// (though an OpenSSH client, whose preference wins, asks for it first).
	compatCiph = append(slices.Clone(modernCiph), ssh.CipherAES128CTR, ssh.CipherAES192CTR, ssh.CipherAES256CTR, ssh.CipherChaCha20Poly1305)
	modernMACs = []string{ssh.HMACSHA256ETM, ssh.HMACSHA512ETM}
	compatMACs = append(slices.Clone(modernMACs), ssh.HMACSHA256, ssh.HMACSHA512)
	clientKeys = []string{
		ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519,
		ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoSKECDSA256,
		ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
	}
)

// AlgorithmsOf returns what profile p offers.
func AlgorithmsOf(p Profile) Algorithms {
	switch p {
	case Modern:
		return Algorithms{KeyExchanges: modernKex, Ciphers: modernCiph, MACs: modernMACs,
			HostKeys: []string{ssh.KeyAlgoED25519}, HostKeySigs: []string{ssh.KeyAlgoED25519}, ClientKeys: clientKeys}
	case Legacy:
		a := AlgorithmsOf(Compatible)
		a.KeyExchanges = append(slices.Clone(a.KeyExchanges), ssh.InsecureKeyExchangeDH14SHA1)
		// Trilead (both Debian builds) has no HMAC-SHA2 at all.
		a.MACs = append(slices.Clone(a.MACs), ssh.HMACSHA1)
		a.HostKeySigs = append(slices.Clone(a.HostKeySigs), ssh.KeyAlgoRSA)
		a.ClientKeys = append(slices.Clone(a.ClientKeys), ssh.KeyAlgoRSA)
		return a
	default:
		return Algorithms{KeyExchanges: compatKex, Ciphers: compatCiph, MACs: compatMACs,
			HostKeys:    []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoRSA},
			HostKeySigs: []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256},
			ClientKeys:  clientKeys}
	}
}

// hostSigners returns the signers of the host keys the profile serves,
// each limited to the profile's signature algorithms.
func hostSigners(p Profile, keys []HostKey) ([]ssh.Signer, error) {
	a := AlgorithmsOf(p)
	var out []ssh.Signer
	for _, k := range keys {
		t := k.Signer.PublicKey().Type()
		if !slices.Contains(a.HostKeys, t) {
			continue
		}
		var algs []string
		for _, alg := range a.HostKeySigs {
			if sigMatchesKey(alg, t) {
				algs = append(algs, alg)
			}
		}
		as, ok := k.Signer.(ssh.AlgorithmSigner)
		if !ok {
			return nil, fmt.Errorf("sftp server: host key %s cannot choose its signature algorithm", k.Path)
		}
		s, err := ssh.NewSignerWithAlgorithms(as, algs)
		if err != nil {
			return nil, fmt.Errorf("sftp server: host key %s: %w", k.Path, err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("sftp server: no host key for algorithms %q", p)
	}
	return out, nil
}

func sigMatchesKey(alg, keyType string) bool {
	if keyType == ssh.KeyAlgoRSA {
		return alg == ssh.KeyAlgoRSA || alg == ssh.KeyAlgoRSASHA256 || alg == ssh.KeyAlgoRSASHA512
	}
	return alg == keyType
}
