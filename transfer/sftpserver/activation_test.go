package sftpserver_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"leverance/internal/sshdtest"
	"leverance/transfer/sftpserver"
)

// helperEnv makes the test binary, re-executed by systemd-socket-activate,
// act as a socket-activated server instead of running tests.
const helperEnv = "LEVERANCE_SFTPSERVER_ACTIVATION_HELPER"

// TestHelperProcess is the server side of TestSocketActivation.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	ls, err := sftpserver.Listeners()
	if err != nil || len(ls) != 1 {
		os.Stderr.WriteString("helper: want one socket: " + strconv.Itoa(len(ls)) + " " + errString(err) + "\n")
		os.Exit(3)
	}
	srv, err := sftpserver.New(sftpserver.Config{HostKeyPath: filepath.Join(dir, "hostkey"),
		Vendors: []sftpserver.Vendor{{Name: "v", Dir: filepath.Join(dir, "outbox"), AuthorizedKeysFile: filepath.Join(dir, "id.pub")}}})
	if err != nil {
		os.Stderr.WriteString("helper: " + err.Error() + "\n")
		os.Exit(3)
	}
	srv.Serve(context.Background(), ls[0])
	os.Exit(0)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestSocketActivation(t *testing.T) {
	bin := sshdtest.RequireTool(t, "systemd-socket-activate")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "outbox"), 0o750)
	os.WriteFile(filepath.Join(dir, "outbox", "f.csv"), []byte("activated\n"), 0o640)
	signer := sshdtest.Ed25519Key(t, filepath.Join(dir, "id"))
	// The host key exists before, so the client can pin it.
	hk, err := sftpserver.LoadOrCreateHostKey(filepath.Join(dir, "hostkey"))
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(sshdtest.FreePort(t))
	cmd := exec.Command(bin, "-l", addr, "-E", helperEnv+"="+dir, os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Stderr = testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var c *ssh.Client
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err = ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "v", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: ssh.FixedHostKey(hk.PublicKey()), HostKeyAlgorithms: []string{ssh.KeyAlgoED25519}, Timeout: 5 * time.Second})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer c.Close()
	sc, err := sftp.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	f, err := sc.Open("f.csv")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 100)
	n, _ := f.Read(b)
	f.Close()
	if string(b[:n]) != "activated\n" {
		t.Fatalf("read %q", b[:n])
	}
}

// Listeners without the environment returns nothing.
func TestListenersNotActivated(t *testing.T) {
	t.Setenv("LISTEN_PID", "")
	t.Setenv("LISTEN_FDS", "")
	ls, err := sftpserver.Listeners()
	if err != nil || len(ls) != 0 {
		t.Fatalf("Listeners() = %v, %v", ls, err)
	}
	t.Setenv("LISTEN_PID", "1")
	t.Setenv("LISTEN_FDS", "1")
	if ls, err := sftpserver.Listeners(); err != nil || len(ls) != 0 {
		t.Fatalf("sockets meant for pid 1 taken: %v, %v", ls, err)
	}
}
