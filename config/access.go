package config

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// Account is the user the daemon runs as (the unit's User=, created by
// sysusers): its uid and every gid it holds.
type Account struct {
	Name string
	UID  uint32
	GIDs []uint32 // the primary group first
}

// LookupAccount finds a user and its groups in the system's user database.
func LookupAccount(name string) (*Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	a := &Account{Name: name, UID: uint32(uid)}
	gids, err := u.GroupIds()
	if err != nil {
		gids = nil // the primary group still counts
	}
	for _, g := range append([]string{u.Gid}, gids...) {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			a.GIDs = append(a.GIDs, uint32(n))
		}
	}
	return a, nil
}

// Access bits, as in a file's mode for its owner.
const (
	accessRead  = 4
	accessWrite = 2
	accessExec  = 1
)

// CheckAccess checks every file the daemon reads, and the state directory
// it writes, as the account would see them: owner, group and mode bits of
// the file and of every directory above it (search permission). It is meant
// for check-config run as root, where the process itself could read
// anything. ACLs and capabilities are not looked at: the packaged
// installation uses neither.
func (c *Config) CheckAccess(a *Account) error {
	v := &validator{}
	if c.Path != "" {
		canAccess(v, a, "(configuration file)", c.Path, accessRead)
	}
	for _, f := range c.vendorFiles() {
		canAccess(v, a, f.key, f.path, accessRead)
	}
	if c.Receipts.SigningKey != "" {
		canAccess(v, a, "receipts.signing_key", c.Resolve(c.Receipts.SigningKey), accessRead)
	}
	if _, err := os.Stat(c.StateDir); err == nil {
		canAccess(v, a, "state_dir", c.StateDir, accessRead|accessWrite|accessExec)
		if _, err := os.Stat(c.Layout().Inbox()); err == nil {
			canAccess(v, a, "state_dir", c.Layout().Inbox(), accessRead|accessWrite|accessExec)
		}
	}
	if len(v.problems) > 0 {
		return &Error{File: c.Path, Problems: v.problems}
	}
	return nil
}

// canAccess adds a problem when a cannot reach path (search permission on
// every directory above it) or lacks the want bits on path itself. Missing
// files are CheckFiles' business and are skipped here.
func canAccess(v *validator, a *Account, key, path string, want uint32) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if why := denied(a, dir, accessExec); why != "" {
			v.add(key, fmt.Sprintf("%s: user %s cannot reach it: %s", path, a.Name, why))
			return
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	if why := denied(a, abs, want); why != "" {
		v.add(key, fmt.Sprintf("%s: user %s cannot %s it: %s", path, a.Name, verb(want), why))
	}
}

func verb(want uint32) string {
	if want&accessWrite != 0 {
		return "write in"
	}
	return "read"
}

// denied returns why a lacks the want bits on path ("" when it has them or
// when path cannot be looked at).
func denied(a *Account, path string, want uint32) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	perm := uint32(fi.Mode().Perm())
	var have uint32
	switch {
	case a.UID == 0:
		return ""
	case st.Uid == a.UID:
		have = perm >> 6 & 7
	case a.inGroup(st.Gid):
		have = perm >> 3 & 7
	default:
		have = perm & 7
	}
	if have&want == want {
		return ""
	}
	return fmt.Sprintf("%s is mode %04o, owner %s, group %s", path, perm, owner(st.Uid), group(st.Gid))
}

func (a *Account) inGroup(gid uint32) bool {
	for _, g := range a.GIDs {
		if g == gid {
			return true
		}
	}
	return false
}

func owner(uid uint32) string {
	s := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(s); err == nil {
		return u.Username
	}
	return s
}

func group(gid uint32) string {
	s := strconv.FormatUint(uint64(gid), 10)
	if g, err := user.LookupGroupId(s); err == nil {
		return g.Name
	}
	return s
}
