package sftpserver

import (
	"io"
	"log/slog"
	"time"

	"golang.org/x/crypto/ssh"
)

// halfCloser is a session channel as pkg/sftp sees it: its Close sends EOF
// only, so that the session can still send exit-status before closing the
// channel for good (end). Its writes and its closing are serialized:
// pkg/sftp's packet manager may still be sending its last packet when
// Serve has returned, and x/crypto's channel does not synchronize Write
// with CloseWrite (the race detector caught it in TestClientMatrix/lftp).
type halfCloser struct {
	ssh.Channel
	sem    chan struct{} // a lock that end can give up on
	closed bool          // EOF sent: nothing more is written
}

func newHalfCloser(ch ssh.Channel) *halfCloser {
	return &halfCloser{Channel: ch, sem: make(chan struct{}, 1)}
}

func (h *halfCloser) Write(p []byte) (int, error) {
	h.sem <- struct{}{}
	defer func() { <-h.sem }()
	if h.closed {
		return 0, io.ErrClosedPipe
	}
	return h.Channel.Write(p)
}

func (h *halfCloser) Close() error {
	h.sem <- struct{}{}
	defer func() { <-h.sem }()
	return h.closeWrite()
}

// closeWrite sends EOF once; called holding h.sem.
func (h *halfCloser) closeWrite() error {
	if h.closed {
		return nil
	}
	h.closed = true
	return h.Channel.CloseWrite()
}

// endWait is how long end waits for a write in progress (one blocked on a
// client that reads no more) before it closes without exit-status.
const endWait = time.Second

// end ends the session channel as OpenSSH's sshd does: exit-status 0, EOF,
// close. Clients such as OpenSSH scp report "exit status -1" and exit 1
// when the channel closes without an exit-status. The close itself needs
// no lock (only EOF races with a write), and it is what ends a write
// blocked on the client.
func (h *halfCloser) end() {
	t := time.NewTimer(endWait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		h.Channel.SendRequest("exit-status", false, []byte{0, 0, 0, 0})
		h.closeWrite()
		<-h.sem
	case <-t.C:
	}
	h.Channel.Close()
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
