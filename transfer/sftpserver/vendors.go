package sftpserver

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// PreparedVendors is a checked set of vendors with their authorized keys,
// made by PrepareVendors and put in force by Server.ApplyVendors: the two
// halves of an all-or-nothing reload.
type PreparedVendors struct {
	vendors map[string]Vendor
	keys    map[string][]AuthorizedKey
	// Warnings are about lines that are accepted (RSA keys under 3072
	// bits, options that grant nothing); ApplyVendors logs them.
	Warnings []KeyProblem
}

// PrepareVendors checks every vendor (name, outbox) and reads and checks
// its authorized_keys file. Any refused line (unknown or unsupported
// option, bad from= or expiry-time=, weak key, not a key) or refused file
// (StrictModes) makes it fail, with an error naming the vendor, the file,
// the line and the reason of each problem: nothing is half applied.
func PrepareVendors(vs []Vendor) (*PreparedVendors, error) {
	p := &PreparedVendors{vendors: make(map[string]Vendor, len(vs)), keys: map[string][]AuthorizedKey{}}
	var problems []string
	for _, v := range vs {
		if !vendorName.MatchString(v.Name) {
			return nil, fmt.Errorf("sftp server: vendor name %q: want [a-z0-9-]+", v.Name)
		}
		if _, dup := p.vendors[v.Name]; dup {
			return nil, fmt.Errorf("sftp server: vendor %s listed twice", v.Name)
		}
		if st, err := os.Stat(v.Dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("sftp server: vendor %s: outbox %s is not a directory", v.Name, v.Dir)
		}
		keys, warnings, probs := vendorKeys(v)
		problems = append(problems, probs...)
		p.Warnings = append(p.Warnings, warnings...)
		p.vendors[v.Name] = v
		p.keys[v.Name] = keys
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("sftp server: %s", strings.Join(problems, "; "))
	}
	return p, nil
}

// CheckAuthorizedKeys checks the authorized_keys files of vs as
// PrepareVendors does, without the outboxes (which the daemon creates at
// its start): for check-config.
func CheckAuthorizedKeys(vs []Vendor) ([]KeyProblem, error) {
	var warnings []KeyProblem
	var problems []string
	for _, v := range vs {
		_, w, p := vendorKeys(v)
		warnings = append(warnings, w...)
		problems = append(problems, p...)
	}
	if len(problems) > 0 {
		return warnings, fmt.Errorf("sftp server: %s", strings.Join(problems, "; "))
	}
	return warnings, nil
}

func vendorKeys(v Vendor) (keys []AuthorizedKey, warnings []KeyProblem, problems []string) {
	keys, refused, warnings, err := ReadAuthorizedKeys(v.AuthorizedKeysFile)
	if err != nil {
		return nil, nil, []string{fmt.Sprintf("vendor %s: %v", v.Name, err)}
	}
	for _, r := range refused {
		problems = append(problems, fmt.Sprintf("vendor %s: %s: line refused", v.Name, r))
	}
	return keys, warnings, problems
}

// SetVendors prepares and applies a set of vendors (PrepareVendors, then
// ApplyVendors).
func (s *Server) SetVendors(vs []Vendor) error {
	p, err := PrepareVendors(vs)
	if err != nil {
		return err
	}
	s.ApplyVendors(p)
	return nil
}

// ApplyVendors puts a prepared set of vendors in force at once: new
// logins use it, and the connections of a vendor that is gone, or of a key
// that was removed from its vendor's authorized_keys (or that no longer
// allows the connection's address), are closed.
func (s *Server) ApplyVendors(p *PreparedVendors) {
	for _, w := range p.Warnings {
		s.log.Warn("authorized_keys: " + w.String())
	}
	s.vendors.Store(&p.vendors)
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.vendor == "" {
			continue
		}
		if ok, why := keyAllowed(p.keys[c.vendor], c.key, c.nc.RemoteAddr(), s.now()); !ok {
			s.log.Info("connection closed: its key is no longer authorized", "vendor", c.vendor,
				"remote", c.nc.RemoteAddr().String(), "key", ssh.FingerprintSHA256(c.key), "reason", why)
			c.nc.Close()
		}
	}
}

// keyAllowed reports whether some line of keys lets key log in from addr.
func keyAllowed(keys []AuthorizedKey, key ssh.PublicKey, addr net.Addr, now time.Time) (bool, string) {
	if key == nil {
		return false, "no key"
	}
	ip := addrOf(addr)
	kb := key.Marshal()
	why := "key not in the vendor's authorized_keys"
	for i := range keys {
		if !bytes.Equal(keys[i].Key.Marshal(), kb) {
			continue
		}
		ok, w := keys[i].Allows(ip, now)
		if ok {
			return true, ""
		}
		why = w
	}
	return false, why
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// authorize is the PublicKeyCallback: the vendor's authorized_keys is
// read again (so that an edited file takes effect at once, as with sshd),
// and the key must be on a line whose options allow this login.
func (s *Server) authorize(vendors map[string]Vendor, meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	v, ok := vendors[meta.User()]
	if !ok {
		return nil, refusal("no such vendor")
	}
	keys, refused, _, err := ReadAuthorizedKeys(v.AuthorizedKeysFile)
	if err != nil {
		s.log.Error("authorized_keys refused", "vendor", v.Name, "err", err)
		return nil, refusal("the vendor's authorized_keys is refused")
	}
	for _, r := range refused {
		s.log.Debug("authorized_keys line refused", "vendor", v.Name, "problem", r.String())
	}
	ok, why := keyAllowed(keys, key, meta.RemoteAddr(), s.now())
	if !ok {
		return nil, refusal(why)
	}
	perms := &ssh.Permissions{Extensions: map[string]string{
		"vendor": v.Name, "key": ssh.FingerprintSHA256(key), "pubkey": string(key.Marshal())}}
	for _, k := range keys {
		if k.NoTouch && bytes.Equal(k.Key.Marshal(), key.Marshal()) {
			perms.Extensions["no-touch-required"] = ""
		}
	}
	return perms, nil
}

// setConnVendor records who a connection logged in as, for ApplyVendors.
func (s *Server) setConnVendor(c *conn, vendor string, pubkey string) {
	k, err := ssh.ParsePublicKey([]byte(pubkey))
	s.mu.Lock()
	defer s.mu.Unlock()
	c.vendor = vendor
	if err == nil {
		c.key = k
	} else {
		c.key = nil
	}
}
