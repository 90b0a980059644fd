package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"leverance/config"
	"leverance/internal/sshdtest"
	"leverance/receipt"
)

// TestPushThroughSshd: the daemon publishes to a vendor's remote SFTP
// server (OpenSSH's sshd), retries when it is down, and delivers exactly
// once when it is back.
func TestPushThroughSshd(t *testing.T) {
	keys := sshdtest.Dir(t)
	signer := sshdtest.Ed25519Key(t, filepath.Join(keys, "id_ed25519"))
	sshd := sshdtest.Start(t, sshdtest.Options{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	kh := filepath.Join(keys, "known_hosts")
	sshdtest.WriteKnownHosts(t, kh, sshd.Addr, sshd.HostKeys...)
	remote := sshdtest.Dir(t)
	sshdtest.MakeWritable(t, remote)

	dir := t.TempDir()
	cfg, err := config.Parse([]byte(`state_dir = "`+dir+`"
[[vendor]]
name = "schultz-fasit"
municipalities = ["147"]
products = ["daglig-opdatering"]
  [vendor.outbox]
  kind = "sftp"
  address = "`+sshd.Addr+`"
  user = "`+sshd.User+`"
  identity = "`+filepath.Join(keys, "id_ed25519")+`"
  known_hosts = "`+kh+`"
  directory = "`+remote+`"
`), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, cfg: cfg, clock: NewFakeClock(at(2016, 1, 21, 0, 30)), sink: &memSink{}}
	h.restart()
	h.drop("registreringer_20160120.csv", "registreringer_20160120.csv")
	h.tick(at(2016, 1, 21, 5, 0))
	h.wantSlot("daglig-opdatering/20160121/schultz-fasit", "leveret", Rettidig)
	want, _ := os.ReadFile(filepath.Join(dir, "staging", "20160120_r1", "schultz-fasit", "daglig-opdatering_20160121.csv"))
	got, err := os.ReadFile(filepath.Join(remote, "daglig-opdatering_20160121.csv"))
	if err != nil || string(got) != string(want) {
		t.Fatalf("remote file: %v", err)
	}
	sum := sha256.Sum256(want)
	if line, _ := os.ReadFile(filepath.Join(remote, "daglig-opdatering_20160121.csv.sha256")); string(line) != hex.EncodeToString(sum[:])+"  daglig-opdatering_20160121.csv\n" {
		t.Fatalf(".sha256 on the server: %q", line)
	}
	lev := h.sink.events(receipt.Leveret)
	if len(lev) != 1 || lev[0].Outbox.Kind != "sftp" || lev[0].Outbox.Host != sshd.Addr || !strings.HasPrefix(lev[0].Outbox.HostKey, "SHA256:") {
		t.Fatalf("leveret receipt %+v", lev)
	}

	// The next day the server is down: the attempt fails as a network error
	// and is retried with backoff; once the server is back it is delivered.
	sshd.Stop()
	h.clock.Set(at(2016, 1, 22, 1, 0))
	h.drop("registreringer_20160121.csv", "registreringer_20160121.csv")
	h.tick(at(2016, 1, 22, 5, 0))
	fejl := h.sink.events(receipt.Fejl)
	if len(fejl) != 1 || fejl[0].ErrorClass != "network" {
		t.Fatalf("fejl receipts %+v", fejl)
	}
	if next := h.tick(at(2016, 1, 22, 5, 0).Add(5 * time.Second)); !next.After(at(2016, 1, 22, 5, 0).Add(5 * time.Second)) {
		t.Fatalf("retried before the backoff: next %v", next)
	}
	if n := len(h.sink.events(receipt.Fejl)); n != 1 {
		t.Fatalf("%d attempts within the backoff", n)
	}
	sshd.Restart()
	h.tick(at(2016, 1, 22, 5, 10))
	h.wantSlot("daglig-opdatering/20160122/schultz-fasit", "leveret", Rettidig) // 05:10, before the 06:00 deadline
	ents, _ := os.ReadDir(remote)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "daglig-opdatering_20160121.csv daglig-opdatering_20160121.csv.sha256 daglig-opdatering_20160122.csv daglig-opdatering_20160122.csv.sha256" {
		t.Fatalf("remote directory: %v", names)
	}
}

// builtin is a daemon with the built-in server on and kmd-opera's product
// published in its outbox; kmd-opera's private key is keys/kmd-opera.
type builtin struct {
	h      *harness
	svc    *sftpService
	keys   string
	signer ssh.Signer
	cancel context.CancelFunc // stops the server
	done   chan error         // Run's result
}

func startBuiltin(t *testing.T) *builtin {
	b := &builtin{keys: t.TempDir()}
	b.signer = sshdtest.Ed25519Key(t, filepath.Join(b.keys, "kmd-opera"))
	ak := filepath.Join(b.keys, "kmd-opera.pub")
	if err := os.WriteFile(ak, ssh.MarshalAuthorizedKey(b.signer.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(`state_dir = "`+dir+`"
[sftp_server]
listen = "127.0.0.1:0"
[[vendor]]
name = "kmd-opera"
municipalities = ["101"]
products = ["daglige-beskeder"]
  [vendor.outbox]
  kind = "local"
  authorized_keys = "`+ak+`"
`), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	b.h = &harness{t: t, dir: dir, cfg: cfg, clock: NewFakeClock(at(2016, 1, 21, 0, 30)), sink: &memSink{}}
	b.h.restart()
	b.h.drop("registreringer_20160120.csv", "registreringer_20160120.csv")
	b.h.tick(at(2016, 1, 21, 7, 0))

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	b.cancel = cancel
	b.svc, err = newSFTPService(b.h.e, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || b.svc == nil || len(b.svc.lns) != 1 {
		t.Fatalf("start: %v %v", b.svc, err)
	}
	b.done = make(chan error, 1)
	go func() { b.done <- b.svc.Run(ctx) }()
	return b
}

// builtinServer is startBuiltin with an SFTP client of kmd-opera's on it.
func builtinServer(t *testing.T) (h *harness, c *sftp.Client, cancel context.CancelFunc, done chan error) {
	b := startBuiltin(t)
	conn, err := ssh.Dial("tcp", b.svc.lns[0].Addr().String(), &ssh.ClientConfig{User: "kmd-opera", Auth: []ssh.AuthMethod{ssh.PublicKeys(b.signer)},
		HostKeyCallback: ssh.FixedHostKey(b.svc.srv.HostKey()), HostKeyAlgorithms: []string{ssh.KeyAlgoED25519}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c, err = sftp.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return b.h, c, b.cancel, b.done
}

// TestBuiltinServerFetch: a vendor fetches its file from the built-in SFTP
// server and the download is recorded as a hentet receipt with the SHA-256
// of what was sent.
func TestBuiltinServerFetch(t *testing.T) {
	h, c, _, _ := builtinServer(t)
	f, err := c.Open("/daglige-beskeder_20160121.csv")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	deadline := time.Now().Add(10 * time.Second)
	for len(h.sink.events(receipt.Hentet)) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := h.sink.events(receipt.Hentet)
	if len(got) != 1 || got[0].Vendor != "kmd-opera" || got[0].File != "daglige-beskeder_20160121.csv" ||
		got[0].SHA256 != hex.EncodeToString(sum[:]) || got[0].Bytes != int64(len(data)) || got[0].Complete == nil || !*got[0].Complete {
		t.Fatalf("hentet receipts %+v", got)
	}
	// The vendor deletes what it fetched: recorded, with vendor, file and size.
	if err := c.Remove("/daglige-beskeder_20160121.csv"); err != nil {
		t.Fatal(err)
	}
	var del []receipt.Record
	for _, r := range h.sink.events(receipt.Slettet) {
		if r.Vendor != "" {
			del = append(del, r)
		}
	}
	if len(del) != 1 || del[0].Vendor != "kmd-opera" || del[0].File != "daglige-beskeder_20160121.csv" ||
		del[0].Reason != "vendor" || del[0].Size != int64(len(data)) {
		t.Fatalf("slettet receipts of the vendor's delete %+v", del)
	}
}

// TestBuiltinServerStopRecordsDownload: a stop while a download is under
// way lets it run for the grace, then cuts it, and its incomplete hentet
// receipt is recorded before the service's Run returns.
func TestBuiltinServerStopRecordsDownload(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 10 s shutdown grace")
	}
	h, c, cancel, done := builtinServer(t)
	f, err := c.Open("/daglige-beskeder_20160121.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the SFTP service did not stop")
	}
	got := h.sink.events(receipt.Hentet)
	if len(got) != 1 || got[0].Complete == nil || *got[0].Complete || got[0].Bytes < 10 || got[0].SHA256 != "" ||
		got[0].Size <= got[0].Bytes {
		t.Fatalf("hentet receipts after the stop: %+v", got)
	}
}
