package daemon

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"golang.org/x/crypto/ssh"

	"leverance/config"
	"leverance/internal/sshdtest"
)

// TestReloadAllOrNothing: a reload whose configuration names one bad
// authorized_keys file among good ones changes nothing anywhere — not the
// engine's vendors or windows, not the keys the SFTP server takes — and is
// counted; the same reload with the file mended applies everywhere.
func TestReloadAllOrNothing(t *testing.T) {
	keys := t.TempDir()
	oldKey := sshdtest.Ed25519Key(t, filepath.Join(keys, "old"))
	newKey := sshdtest.Ed25519Key(t, filepath.Join(keys, "new"))
	opera := filepath.Join(keys, "opera.pub")
	writeKeys(t, opera, oldKey)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "leverance.toml")
	vendor := func(name, ak string) string {
		return "\n[[vendor]]\nname = \"" + name + "\"\nmunicipalities = [\"101\"]\nproducts = [\"daglige-beskeder\"]\n" +
			"  [vendor.outbox]\n  kind = \"local\"\n  authorized_keys = \"" + ak + "\"\n"
	}
	head := "state_dir = \"" + dir + "\"\n[sftp_server]\nlisten = \"127.0.0.1:0\"\n[http]\nlisten = \"\"\n"
	write := func(text string) {
		if err := os.WriteFile(cfgPath, []byte(text), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	write(head + vendor("kmd-opera", opera))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := New(Options{Config: cfg, Clock: NewFakeClock(at(2016, 1, 21, 0, 30)), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := newSFTPService(e, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go svc.Run(ctx)
	sup := &supervisor{e: e, sftp: svc.srv, path: cfgPath, log: log, reloaded: func() {}}
	addr := svc.lns[0].Addr().String()

	// The new configuration: kmd-opera's key is replaced, a new vendor and
	// a new window come, and the new vendor's authorized_keys is missing.
	opera2 := filepath.Join(keys, "opera2.pub")
	writeKeys(t, opera2, newKey)
	bad := filepath.Join(keys, "missing.pub")
	write(head + "[product.daglige-beskeder]\nrelease = \"06:00\"\ndeadline = \"08:00\"\ncutoff = \"09:30\"\n" +
		vendor("kmd-opera", opera2) + vendor("kmd-workbase", bad))
	err = sup.reload()
	sup.reported(err)
	if err == nil || !strings.Contains(err.Error(), "missing.pub") {
		t.Fatalf("reload with a missing authorized_keys: %v, want an error naming the file", err)
	}
	if e.Config() != cfg || len(e.view.Load().vendors) != 1 {
		t.Errorf("the engine took part of a refused configuration")
	}
	var m dto.Metric
	if e.metrics.ReloadFailures.Write(&m); m.GetCounter().GetValue() != 1 {
		t.Errorf("reload failures metric %v, want 1", m.GetCounter().GetValue())
	}
	if !canLogIn(addr, "kmd-opera", oldKey) || canLogIn(addr, "kmd-opera", newKey) {
		t.Errorf("the SFTP server took part of a refused configuration")
	}

	writeKeys(t, bad, newKey)
	if err := sup.reload(); err != nil {
		t.Fatalf("the mended configuration: %v", err)
	}
	if e.Config() == cfg || len(e.view.Load().vendors) != 2 {
		t.Errorf("the engine did not take the mended configuration")
	}
	if canLogIn(addr, "kmd-opera", oldKey) || !canLogIn(addr, "kmd-opera", newKey) || !canLogIn(addr, "kmd-workbase", newKey) {
		t.Errorf("the SFTP server did not take the mended configuration")
	}
}

func writeKeys(t *testing.T, path string, keys ...ssh.Signer) {
	t.Helper()
	var b []byte
	for _, k := range keys {
		b = append(b, ssh.MarshalAuthorizedKey(k.PublicKey())...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func canLogIn(addr, user string, key ssh.Signer) bool {
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second})
	if err != nil {
		return false
	}
	c.Close()
	return true
}
