package sftpserver

import (
	"errors"
	"io"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// handshakeLog collects what one connection's authentication attempts
// were, so that a refused handshake is logged once, with its reasons.
type handshakeLog struct {
	mu       sync.Mutex
	user     string
	attempts []string // "method: reason", in order, at most maxAttempts
	accepted []string // the signature algorithms accepted from clients
}

const maxAttemptsLogged = 8

func (h *handshakeLog) authLog(meta ssh.ConnMetadata, method string, err error) {
	if err == nil || method == "none" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.user = meta.User()
	if len(h.attempts) < maxAttemptsLogged {
		h.attempts = append(h.attempts, method+": "+h.authReason(err))
	}
}

// authReason is the reason of a refused attempt, in words that hold no
// client-chosen bytes.
func (h *handshakeLog) authReason(err error) string {
	var re refusal
	if errors.As(err, &re) {
		return string(re)
	}
	if errors.Is(err, ssh.ErrNoAuth) {
		return "no method offered"
	}
	// x/crypto: `ssh: algorithm "ssh-rsa" not accepted`.
	if alg, ok := strings.CutPrefix(err.Error(), "ssh: algorithm "); ok && strings.HasSuffix(alg, " not accepted") {
		return "signature algorithm " + clip(strings.TrimSuffix(alg, " not accepted"), 64) +
			" not accepted (accepted: " + strings.Join(h.accepted, ",") + ")"
	}
	return "refused"
}

// refusal is an authentication refusal whose text is ours and safe to log.
type refusal string

func (r refusal) Error() string { return string(r) }

// logRefused logs a handshake that did not end in a login, once, at INFO:
// the source, the user if the client got that far, and why.
func (s *Server) logRefused(remote string, hs *handshakeLog, err error) {
	hs.mu.Lock()
	user, attempts := hs.user, strings.Join(hs.attempts, "; ")
	hs.mu.Unlock()
	args := []any{"remote", remote}
	if user != "" {
		args = append(args, "user", printable(user))
	}
	var ne *ssh.AlgorithmNegotiationError
	var ae *ssh.ServerAuthError
	switch {
	case errors.As(err, &ne):
		args = append(args, "reason", "no common "+ne.What, "client_offered", clip(strings.Join(ne.RequestedAlgorithms, ","), 512),
			"accepted", strings.Join(ne.SupportedAlgorithms, ","), "algorithms", string(s.cfg.Algorithms))
	case errors.As(err, &ae):
		args = append(args, "reason", "authentication failed", "attempts", attempts)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		args = append(args, "reason", "closed by the client before logging in")
		if attempts != "" {
			args = append(args, "attempts", attempts)
		}
	default:
		args = append(args, "reason", clip(err.Error(), 200))
		if attempts != "" {
			args = append(args, "attempts", attempts)
		}
	}
	s.log.Info("ssh handshake refused", args...)
}

// logHostKeys logs the fingerprints of the host keys served (vendors pin
// them) and, for the legacy profile, the warning.
func (s *Server) logHostKeys() {
	for _, k := range s.signers {
		s.log.Info("sftp host key", "type", k.PublicKey().Type(), "fingerprint", ssh.FingerprintSHA256(k.PublicKey()))
	}
	if s.cfg.Algorithms == Legacy {
		s.log.Warn(LegacyWarning)
	}
}

// clip cuts a client-chosen string to n bytes and quotes what is not
// printable.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}
