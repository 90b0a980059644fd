package sftpserver

import (
	"log/slog"

	"golang.org/x/crypto/ssh"
)

// halfCloser is a session channel as pkg/sftp sees it: its Close sends EOF
// only, so that the session can still send exit-status before closing the
// channel for good (endSession).
type halfCloser struct{ ssh.Channel }

func (h halfCloser) Close() error { return h.CloseWrite() }

// endSession ends a session channel as OpenSSH's sshd does: exit-status 0,
// EOF, close. Clients such as OpenSSH scp report "exit status -1" and exit
// 1 when the channel closes without an exit-status.
func endSession(ch ssh.Channel) {
	ch.SendRequest("exit-status", false, []byte{0, 0, 0, 0})
	ch.CloseWrite()
	ch.Close()
}

// refuseRequest answers a session request other than the sftp subsystem
// with a failure. Clients probe (rclone runs exec "md5sum", "sha1sum",
// "echo"; others ask for a pty or env), so these are logged quietly: each
// at DEBUG, and the first refusal of a connection once at INFO.
func (c *conn) refuseRequest(req *ssh.Request, log *slog.Logger) {
	req.Reply(false, nil)
	log.Debug("session request refused", "request", printable(req.Type))
	switch req.Type {
	case "exec", "shell", "subsystem", "pty-req", "x11-req", "auth-agent-req@openssh.com":
	default:
		return // env (OpenSSH sends LANG), window-change, ...: DEBUG only
	}
	if c.probed.CompareAndSwap(false, true) {
		log.Info("session request refused: only the sftp subsystem is served (further refusals on this connection at DEBUG)",
			"request", req.Type)
	}
}
