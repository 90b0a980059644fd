package sftpserver

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// AuthorizedKey is one accepted line of an authorized_keys file, with the
// options that limit it.
type AuthorizedKey struct {
	Key  ssh.PublicKey
	File string
	Line int
	// From is the from= pattern list (OpenSSH's: wildcards, CIDR, "!" to
	// negate), matched against the client's address; nil allows any.
	From []string
	// Expiry is expiry-time=: from then on the key logs in no more. Zero
	// for none.
	Expiry time.Time
	// NoTouch is no-touch-required (security keys without a touch).
	NoTouch bool
}

// KeyProblem is a refused line, or a warning, of an authorized_keys file.
type KeyProblem struct {
	File   string
	Line   int
	Reason string
}

func (p KeyProblem) String() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Reason)
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason)
}

// Allows reports whether the key may log in from addr at now.
func (k *AuthorizedKey) Allows(addr netip.Addr, now time.Time) (bool, string) {
	if !k.Expiry.IsZero() && !now.Before(k.Expiry) {
		return false, fmt.Sprintf("key expired at %s (%s line %d)", k.Expiry.Format(time.RFC3339), k.File, k.Line)
	}
	if k.From != nil && !matchFrom(k.From, addr) {
		return false, fmt.Sprintf("source address not allowed by from= (%s line %d)", k.File, k.Line)
	}
	return true, ""
}

// The options that need nothing from the server: it serves SFTP only, so
// everything they forbid is forbidden anyway.
var restrictions = map[string]bool{
	"restrict": true, "no-agent-forwarding": true, "no-port-forwarding": true, "no-pty": true,
	"no-user-rc": true, "no-x11-forwarding": true,
}

// The options that grant what this server never gives: accepted, with a
// warning that they grant nothing.
var grants = map[string]bool{
	"agent-forwarding": true, "port-forwarding": true, "pty": true, "user-rc": true, "x11-forwarding": true,
	"permitopen": true, "permitlisten": true, "environment": true, "tunnel": true,
}

// The options that are refused, and why.
var refusedOptions = map[string]string{
	"command":         "command= is not supported: the server runs no commands, and the key would get full SFTP access",
	"cert-authority":  "cert-authority is not supported: the server accepts no certificates",
	"principals":      "principals= is not supported: the server accepts no certificates",
	"verify-required": "verify-required is not supported: the server cannot check user verification",
}

// ParseAuthorizedKeys parses the text of an authorized_keys file named
// file. Lines that are refused (unknown or unsupported options, a bad
// from= or expiry-time=, a key type or size that is not accepted, text
// that is no key) are left out of keys and reported in refused; warnings
// are reported for lines that are accepted.
func ParseAuthorizedKeys(file string, data []byte) (keys []AuthorizedKey, refused, warnings []KeyProblem) {
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, warn, err := parseKeyLine(line)
		if err != nil {
			refused = append(refused, KeyProblem{file, i + 1, err.Error()})
			continue
		}
		for _, w := range warn {
			warnings = append(warnings, KeyProblem{file, i + 1, w})
		}
		k.File, k.Line = file, i+1
		keys = append(keys, k)
	}
	return keys, refused, warnings
}

func parseKeyLine(line []byte) (AuthorizedKey, []string, error) {
	var k AuthorizedKey
	pub, _, opts, rest, err := ssh.ParseAuthorizedKey(line)
	if err != nil || len(bytes.TrimSpace(rest)) != 0 {
		return k, nil, errors.New("not a public key line (options, key type, base64 key, comment)")
	}
	k.Key = pub
	warn, err := checkKeyType(pub)
	if err != nil {
		return k, nil, err
	}
	for _, o := range opts {
		name, value, err := parseOption(o)
		if err != nil {
			return k, nil, err
		}
		w, err := k.apply(name, value)
		if err != nil {
			return k, nil, err
		}
		if w != "" {
			warn = append(warn, w)
		}
	}
	return k, warn, nil
}

// checkKeyType refuses DSA and RSA under 2048 bits, and warns of RSA under
// 3072 bits.
func checkKeyType(pub ssh.PublicKey) ([]string, error) {
	switch pub.Type() {
	case "ssh-dss":
		return nil, errors.New("ssh-dss (DSA) keys are not accepted")
	case ssh.KeyAlgoRSA:
		ck, ok := pub.(ssh.CryptoPublicKey)
		if !ok {
			return nil, errors.New("unreadable RSA key")
		}
		rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("unreadable RSA key")
		}
		switch bits := rk.N.BitLen(); {
		case bits < 2048:
			return nil, fmt.Errorf("RSA key of %d bits refused: at least 2048 (3072 recommended)", bits)
		case bits < 3072:
			return []string{fmt.Sprintf("RSA key of %d bits: accepted, but replace it with one of 3072 bits or ed25519", bits)}, nil
		}
	}
	return nil, nil
}

// apply records one option on k; it returns a warning, or an error that
// refuses the line.
func (k *AuthorizedKey) apply(name, value string) (string, error) {
	switch {
	case restrictions[name]:
		if value != "" {
			return "", fmt.Errorf("option %s takes no value", name)
		}
		return "", nil
	case name == "no-touch-required":
		k.NoTouch = true
		return "", nil
	case grants[name]:
		return fmt.Sprintf("option %s grants nothing here: the server serves SFTP only", name), nil
	case refusedOptions[name] != "":
		return "", errors.New(refusedOptions[name])
	case name == "from":
		pats, err := parseFrom(value)
		if err != nil {
			return "", err
		}
		k.From = pats
		return "", nil
	case name == "expiry-time":
		t, err := parseExpiry(value)
		if err != nil {
			return "", err
		}
		k.Expiry = t
		return "", nil
	}
	return "", fmt.Errorf("unknown option %q", clip(name, 40))
}

// parseOption splits one option as ssh.ParseAuthorizedKey returns it
// (name, or name="value" with \" inside) into its lower-case name and its
// unquoted value.
func parseOption(o string) (name, value string, err error) {
	name, raw, hasValue := strings.Cut(o, "=")
	name = strings.ToLower(name)
	if name == "" || strings.ContainsAny(name, " \t\"") {
		return "", "", fmt.Errorf("malformed option %q", clip(o, 40))
	}
	if !hasValue {
		return name, "", nil
	}
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", "", fmt.Errorf("option %s: the value must be in double quotes", clip(name, 40))
	}
	raw = raw[1 : len(raw)-1]
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) && raw[i+1] == '"' {
			i++
		} else if raw[i] == '"' {
			return "", "", fmt.Errorf("option %s: unescaped quote in the value", clip(name, 40))
		}
		b.WriteByte(raw[i])
	}
	if b.Len() == 0 {
		return "", "", fmt.Errorf("option %s: empty value", clip(name, 40))
	}
	return name, b.String(), nil
}

// parseFrom checks a from= pattern list: comma-separated patterns, each
// an address with * and ? wildcards, or an address/prefix (CIDR), either
// negated by a leading "!". Host names are matched as patterns against the
// address only: the server does not look names up (OpenSSH's UseDNS no).
func parseFrom(v string) ([]string, error) {
	var pats []string
	for _, p := range strings.Split(v, ",") {
		q := strings.TrimPrefix(p, "!")
		if q == "" {
			return nil, errors.New("from=: empty pattern")
		}
		if strings.Contains(q, "/") {
			if _, err := netip.ParsePrefix(q); err != nil {
				return nil, fmt.Errorf("from=: %q is not an address/prefix", clip(q, 50))
			}
		} else if _, err := path.Match(q, ""); err != nil || strings.ContainsAny(q, "[]\\") {
			return nil, fmt.Errorf("from=: bad pattern %q", clip(q, 50))
		}
		pats = append(pats, strings.ToLower(p))
	}
	return pats, nil
}

// matchFrom applies OpenSSH's rule: a matching negated pattern refuses at
// once; otherwise some pattern must match.
func matchFrom(pats []string, addr netip.Addr) bool {
	addr = addr.Unmap()
	s := addr.String()
	ok := false
	for _, p := range pats {
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		var m bool
		if strings.Contains(p, "/") {
			pre, err := netip.ParsePrefix(p)
			m = err == nil && pre.Contains(addr)
		} else {
			m, _ = path.Match(p, s)
		}
		if m && neg {
			return false
		}
		ok = ok || m
	}
	return ok
}

// parseExpiry reads expiry-time=: YYYYMMDD, YYYYMMDDHHMM or
// YYYYMMDDHHMMSS, in the local time zone, or UTC with a trailing Z.
func parseExpiry(v string) (time.Time, error) {
	loc := time.Local
	if strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z") {
		v, loc = v[:len(v)-1], time.UTC
	}
	layouts := map[int]string{8: "20060102", 12: "200601021504", 14: "20060102150405"}
	layout, ok := layouts[len(v)]
	if !ok {
		return time.Time{}, fmt.Errorf("expiry-time=%q: want YYYYMMDD[HHMM[SS]][Z]", clip(v, 20))
	}
	t, err := time.ParseInLocation(layout, v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("expiry-time=%q: want YYYYMMDD[HHMM[SS]][Z]", clip(v, 20))
	}
	return t, nil
}

// ReadAuthorizedKeys reads and parses an authorized_keys file after
// OpenSSH's StrictModes checks: the file must be a regular file owned by
// root or by this process's user, and neither it nor its directory may be
// writable by group or others. A failed check refuses the whole file.
func ReadAuthorizedKeys(file string) (keys []AuthorizedKey, refused, warnings []KeyProblem, err error) {
	if err := strictModes(file); err != nil {
		return nil, nil, nil, err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("authorized_keys: %w", err)
	}
	keys, refused, warnings = ParseAuthorizedKeys(file, data)
	return keys, refused, warnings, nil
}

func strictModes(file string) error {
	real, err := filepath.EvalSymlinks(file)
	if err != nil {
		return fmt.Errorf("authorized_keys: %w", err)
	}
	for _, p := range []string{real, filepath.Dir(real)} {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("authorized_keys: %w", err)
		}
		if p == real && !st.Mode().IsRegular() {
			return fmt.Errorf("authorized_keys %s: not a regular file", file)
		}
		if st.Mode().Perm()&0o022 != 0 {
			return fmt.Errorf("authorized_keys %s: %s is writable by group or others (mode %04o): refused, as sshd's StrictModes refuses it",
				file, p, st.Mode().Perm())
		}
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid != 0 && int(sys.Uid) != os.Geteuid() {
			return fmt.Errorf("authorized_keys %s: %s is owned by uid %d, neither root nor this process's user: refused, as sshd's StrictModes refuses it",
				file, p, sys.Uid)
		}
	}
	return nil
}
