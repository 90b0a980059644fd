//go:build linux

package daemon_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"leverance/internal/sshdtest"
)

var (
	demoCitizens = regexp.MustCompile(`citizens +300 generated; ([0-9]+) of them have a kontaktgruppe`)
	demoSFTP     = regexp.MustCompile(`Fetch as a vendor: +(sftp .*)`)
	demoFinger   = regexp.MustCompile(`SHA256:[A-Za-z0-9+/]{43}`)
)

// TestDemo runs the demo (scripts/demo.sh, `make run`) as a reader would:
// all three products appear whatever the weekday, the banner explains how
// many of the generated citizens are in the products, prints the host-key
// fingerprints (those `leverance hostkeys` prints), and the sftp command it
// prints passes strict host-key checking and lists the outbox.
func TestDemo(t *testing.T) {
	bin := binary(t)
	sshdtest.RequireTool(t, "sftp")
	sshdtest.RequireTool(t, "ssh-keygen")
	demo := t.TempDir()
	logPath := filepath.Join(demo, "demo.out")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	output := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	cmd := exec.Command("bash", filepath.Join("..", "scripts", "demo.sh"))
	cmd.Env = append(os.Environ(), "HOME="+demo, "BIN="+bin, "DEMO="+demo, "DEMO_CITIZENS=300",
		"DEMO_HTTP=127.0.0.1:"+strconv.Itoa(sshdtest.FreePort(t)), "DEMO_SFTP=127.0.0.1:"+strconv.Itoa(sshdtest.FreePort(t)))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Error("the demo did not stop within 30 s of Ctrl-C")
		}
		if t.Failed() {
			t.Logf("demo output:\n%s", output())
		}
	}()
	outbox := filepath.Join(demo, "state", "outbox")
	want := []string{"kmd-opera/daglige-beskeder_*.csv", "kmd-opera/ugeopdatering_*.csv", "kmd-workbase/ugeopdatering_*.csv",
		"schultz-fasit/daglig-opdatering_*.csv"}
	deadline := time.Now().Add(90 * time.Second)
	for missing := want; len(missing) > 0; {
		missing = missing[:0:0]
		for _, w := range want {
			if m, _ := filepath.Glob(filepath.Join(outbox, w)); len(m) == 0 {
				missing = append(missing, w)
			}
		}
		if len(missing) > 0 && time.Now().After(deadline) {
			t.Fatalf("after 90 s the demo's outboxes lack %q", missing)
		}
		time.Sleep(200 * time.Millisecond)
	}
	banner, _, _ := strings.Cut(output(), "Ctrl-C stops the daemon.")
	if m := demoCitizens.FindStringSubmatch(banner); m == nil || m[1] == "0" {
		t.Errorf("the banner does not say how many of the 300 citizens are in the products")
	} else if n, _ := strconv.Atoi(m[1]); n > 300 {
		t.Errorf("%d of 300 citizens", n)
	}
	keys, err := exec.Command(bin, "hostkeys", "-c", filepath.Join(demo, "leverance.toml")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := demoFinger.FindAllString(banner, -1), demoFinger.FindAllString(string(keys), -1); len(want) != 3 || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the banner's fingerprints %q, hostkeys prints %q", got, want)
	}
	m := demoSFTP.FindStringSubmatch(banner)
	if m == nil {
		t.Fatal("the banner has no sftp command")
	}
	args := append([]string{"-b", "-", "-o", "BatchMode=yes"}, strings.Fields(m[1])[1:]...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sftp := exec.CommandContext(ctx, "sftp", args...)
	sftp.Env = append(os.Environ(), "HOME="+demo)
	sftp.Stdin = strings.NewReader("ls\n")
	listing, err := sftp.CombinedOutput()
	if err != nil || !strings.Contains(string(listing), "ugeopdatering_") || !strings.Contains(string(listing), "daglige-beskeder_") {
		t.Errorf("the banner's sftp command (%s): %v\n%s", m[1], err, listing)
	}
}
