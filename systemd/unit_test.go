package systemd

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"leverance/internal/noonzone"
	"leverance/internal/sshdtest"
	"leverance/receipt"
)

// execStart returns the unit's ExecStart as arguments.
func execStart(t *testing.T) []string {
	f, err := os.Open("leverance.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "ExecStart="); ok {
			return strings.Fields(v)
		}
	}
	t.Fatal("no ExecStart in leverance.service")
	return nil
}

// TestRunLikeTheUnit runs the binary the way leverance.service and
// leverance.socket do: its ExecStart, the SFTP socket handed over by
// systemd-socket-activate, NOTIFY_SOCKET, WATCHDOG_USEC and the receipts key
// as a credential ($CREDENTIALS_DIRECTORY, as the LoadCredential= drop-in
// of docs/operations.md hands it over); then SIGHUP and SIGTERM.
func TestRunLikeTheUnit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	activate := requireTool(t, "systemd-socket-activate")
	dir := t.TempDir()
	bin := filepath.Join(dir, "leverance")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/leverance").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	// The receipts signing key as systemd's LoadCredential= hands it over.
	creds := filepath.Join(dir, "credentials")
	os.Mkdir(creds, 0o700)
	skey, vkey, err := receipt.GenerateKey("leverance-unit-test")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(creds, "receipts.key"), []byte(skey+"\n"), 0o400)

	// A vendor that fetches over the built-in server.
	signer := sshdtest.Ed25519Key(t, filepath.Join(dir, "vendor_key"))
	ak := filepath.Join(dir, "kmd-opera.pub")
	os.WriteFile(ak, ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644)

	// The daemon reads the real clock: its configuration is in a zone where
	// it is about noon (package noonzone), so that the all-day window's 23:58
	// deadline and midnight are hours away whatever the time of day.
	zone, err := noonzone.At(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	cfgPath := filepath.Join(dir, "leverance.toml")
	cfg := `state_dir = "` + state + `"
timezone = "` + zone.String() + `"
[calendar]
delivery_days = "all-days"
[product.daglige-beskeder]
release = "00:00"
deadline = "23:58"
cutoff = "23:59"
[sftp_server]
listen = ""
[http]
listen = ""
[[vendor]]
name = "kmd-opera"
municipalities = ["*"]
products = ["daglige-beskeder"]
  [vendor.outbox]
  kind = "local"
  authorized_keys = "` + ak + `"
`
	os.WriteFile(cfgPath, []byte(cfg), 0o640)

	notifyPath := filepath.Join(dir, "notify.sock")
	nl, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := nl.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()

	port := sshdtest.FreePort(t)
	args := execStart(t)
	for i, a := range args {
		args[i] = strings.NewReplacer("/usr/bin/leverance", bin, "/etc/leverance/leverance.toml", cfgPath).Replace(a)
	}
	addr := "127.0.0.1:" + itoa(port)
	cmd := exec.Command(activate, append([]string{"-l", addr,
		"-E", "NOTIFY_SOCKET=" + notifyPath, "-E", "WATCHDOG_USEC=400000", "-E", "CREDENTIALS_DIRECTORY=" + creds}, args...)...)
	var logs strings.Builder
	cmd.Stderr = &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})

	expect := func(want string, within time.Duration) {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case m := <-msgs:
				if strings.Contains(m, want) {
					return
				}
			case <-deadline:
				t.Fatalf("no %s within %v; log:\n%s", want, within, logs.String())
			}
		}
	}
	// Like a socket unit, systemd-socket-activate starts the service on the
	// first connection.
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		trigger, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			trigger.Close()
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("systemd-socket-activate does not listen: %v", err)
		}
	}
	expect("READY=1", 20*time.Second)
	expect("WATCHDOG=1", 2*time.Second)
	expect("WATCHDOG=1", 2*time.Second)

	// An extract for yesterday is published at once (all-day windows).
	now := time.Now().In(zone)
	yesterday := time.Date(now.Year(), now.Month(), now.Day()-1, 12, 0, 0, 0, zone).Format("20060102")
	today := now.Format("20060102")
	data, err := os.ReadFile("../testdata/basic/registreringer_20160121.csv")
	if err != nil {
		t.Fatal(err)
	}
	inbox := filepath.Join(state, "inbox")
	os.WriteFile(filepath.Join(inbox, ".x.tmp"), data, 0o640)
	os.Rename(filepath.Join(inbox, ".x.tmp"), filepath.Join(inbox, "registreringer_"+yesterday+".csv"))
	name := "daglige-beskeder_" + today + ".csv"
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(state, "outbox", "kmd-opera", name+".sha256")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not published; log:\n%s", name, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The vendor fetches it through the socket systemd handed over.
	conn, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "kmd-opera", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("sftp on the activated socket: %v\n%s", err, logs.String())
	}
	c, err := sftp.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat("/" + name); err != nil {
		t.Fatalf("the vendor does not see %s: %v", name, err)
	}
	c.Close()
	conn.Close()

	cmd.Process.Signal(syscall.SIGHUP)
	expect("RELOADING=1", 5*time.Second)
	expect("READY=1", 5*time.Second)
	cmd.Process.Signal(syscall.SIGTERM)
	expect("STOPPING=1", 5*time.Second)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no clean stop within 30 s")
	}
	if !strings.Contains(logs.String(), "daemon stopped") {
		t.Errorf("stop not logged:\n%s", logs.String())
	}

	// The receipts were signed with the credential, and no key was made.
	if _, err := os.Stat(filepath.Join(state, "keys", "receipts.key")); err == nil {
		t.Error("a signing key was created although the credential was given")
	}
	v, err := receipt.Verify(filepath.Join(state, "receipts"), vkey)
	if err != nil || !v.OK() || v.Records < 3 {
		t.Fatalf("receipts with the credential's key: %+v %v", v, err)
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
