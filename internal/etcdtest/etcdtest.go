// Package etcdtest starts a real etcd (Debian's etcd-server) for tests, on
// 127.0.0.1 ports, with a temporary data directory.
package etcdtest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"leverance/internal/sshdtest"
)

// Server is a running (or stopped) single-member etcd.
type Server struct {
	t        testing.TB
	bin      string
	dir      string
	client   int
	peer     int
	cmd      *exec.Cmd
	Endpoint string // http://127.0.0.1:port
}

// Start starts etcd, skipping the test when it is not installed (failing
// it under LEVERANCE_TEST_DISALLOW_SKIP), and stops it at cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := sshdtest.RequireTool(t, "etcd")
	s := &Server{t: t, bin: bin, dir: t.TempDir(), client: sshdtest.FreePort(t), peer: sshdtest.FreePort(t)}
	s.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", s.client)
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server again after Stop, on the same ports and data.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	peer := fmt.Sprintf("http://127.0.0.1:%d", s.peer)
	logf, err := os.OpenFile(filepath.Join(s.dir, "etcd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, "--name", "t", "--data-dir", filepath.Join(s.dir, "data"),
		"--listen-client-urls", s.Endpoint, "--advertise-client-urls", s.Endpoint,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "t="+peer, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start etcd: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.Endpoint + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	s.t.Fatalf("etcd did not become healthy within 20 s; log:\n%s", s.Log())
}

// Stop stops the server (SIGKILL: as a machine that dies) and waits.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	s.cmd = nil
}

// Log returns what etcd printed.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "etcd.log"))
	return strings.TrimSpace(string(b))
}
