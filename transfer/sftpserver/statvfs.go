package sftpserver

import (
	"os"
	"syscall"

	"github.com/pkg/sftp"
	"golang.org/x/sys/unix"
)

// The flags of statvfs@openssh.com (OpenSSH's PROTOCOL).
const (
	statvfsReadOnly = 0x1
	statvfsNoSUID   = 0x2
)

// StatVFS answers statvfs@openssh.com (which pkg/sftp advertises) for a
// path in the outbox with the figures of the file system that holds it, as
// OpenSSH's sftp-server does (sftp's "df"); the read-only flag is set, as
// the outbox is read-only for a vendor. Hidden names and special files do
// not exist for it; nothing is opened but a directory or regular file, and
// that without blocking.
func (h *handlers) StatVFS(r *sftp.Request) (_ *sftp.StatVFS, err error) {
	defer h.guard(&err)
	p, ok := rel(r.Filepath)
	if !ok {
		return nil, sftp.ErrSSHFxNoSuchFile
	}
	st, err := h.root.Lstat(p)
	if err != nil {
		return nil, mapErr(err)
	}
	if !st.IsDir() && !st.Mode().IsRegular() {
		return nil, sftp.ErrSSHFxNoSuchFile
	}
	f, err := h.root.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, mapErr(err)
	}
	defer f.Close()
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &fs); err != nil {
		return nil, sftp.ErrSSHFxFailure
	}
	return &sftp.StatVFS{
		Bsize: uint64(fs.Bsize), Frsize: uint64(fs.Frsize), Blocks: fs.Blocks, Bfree: fs.Bfree, Bavail: fs.Bavail,
		Files: fs.Files, Ffree: fs.Ffree, Favail: fs.Ffree,
		Fsid:    uint64(uint32(fs.Fsid.Val[0]))<<32 | uint64(uint32(fs.Fsid.Val[1])),
		Flag:    uint64(fs.Flags)&statvfsNoSUID | statvfsReadOnly,
		Namemax: uint64(fs.Namelen),
	}, nil
}
