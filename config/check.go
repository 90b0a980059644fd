package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CheckFiles checks what the configuration names on disk, without starting
// anything (docs/operations.md): the state directory's parent exists, key and
// known_hosts files are present and private keys are not readable by
// others, the inbox is not world-writable.
func (c *Config) CheckFiles() error {
	v := &validator{}
	if fi, err := os.Stat(c.StateDir); err == nil {
		if !fi.IsDir() {
			v.add("state_dir", "is not a directory")
		}
		if in, err := os.Stat(c.Layout().Inbox()); err == nil && in.Mode().Perm()&0o002 != 0 {
			v.add("state_dir", "the inbox is world-writable: anyone could place an extract")
		}
	} else if _, err := os.Stat(filepath.Dir(c.StateDir)); err != nil {
		v.add("state_dir", fmt.Sprintf("neither it nor its parent exists: %v", err))
	}
	for _, f := range c.vendorFiles() {
		checkFile(v, f.key, f.path, f.private)
	}
	if len(v.problems) > 0 {
		return &Error{File: c.Path, Problems: v.problems}
	}
	return nil
}

func checkFile(v *validator, key, path string, private bool) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		v.add(key, fmt.Sprintf("%s does not exist", path))
	case err != nil:
		v.add(key, fmt.Sprintf("%s: %v", path, err))
	case !fi.Mode().IsRegular():
		v.add(key, fmt.Sprintf("%s is not a regular file", path))
	case private && fi.Mode().Perm()&0o077 != 0:
		v.add(key, fmt.Sprintf("%s is a private key readable by group or others (mode %04o); chmod 600 it", path, fi.Mode().Perm()))
	case !private && fi.Mode().Perm()&0o002 != 0:
		v.add(key, fmt.Sprintf("%s is world-writable", path))
	}
}

// vendorFile is a file a vendor's outbox names.
type vendorFile struct {
	key, path string
	private   bool // a private key: no access for group or others
}

// vendorFiles lists the files the vendors' outboxes name, with their keys.
func (c *Config) vendorFiles() []vendorFile {
	var fs []vendorFile
	for i, vd := range c.Vendor {
		key := fmt.Sprintf("vendor[%d].outbox", i)
		ob := vd.Outbox
		switch ob.Kind {
		case "local":
			if ob.AuthorizedKeys != "" {
				fs = append(fs, vendorFile{key + ".authorized_keys", ob.AuthorizedKeys, false})
			}
		case "sftp":
			fs = append(fs, vendorFile{key + ".identity", ob.Identity, true}, vendorFile{key + ".known_hosts", ob.KnownHosts, false})
		}
	}
	return fs
}
