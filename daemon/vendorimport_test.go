package daemon

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"leverance/internal/sshdtest"
	"leverance/receipt"
)

var vendorImport = regexp.MustCompile("(?s)<!-- run: vendor-import -->\n```sh\n(.*?)```")

// TestVendorImportScript runs the import script of docs/vendors.md, as it
// stands there, with OpenSSH's sftp against the built-in server, pinning
// the host keys strictly: the good file is fetched, checked, moved to done/
// and deleted on the server (recorded hentet and slettet); a file whose
// .sha256 does not match is left on the server and makes the script exit
// 1; the signed checkpoint is kept.
func TestVendorImportScript(t *testing.T) {
	sftpBin := sshdtest.RequireTool(t, "sftp")
	doc, err := os.ReadFile(filepath.Join("..", "docs", "vendors.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := vendorImport.FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/vendors.md has no <!-- run: vendor-import --> sh block")
	}
	b := startBuiltin(t)
	outbox := filepath.Join(b.h.dir, "outbox", "kmd-opera")
	// A damaged file with a .sha256 that does not match it.
	bad := "daglige-beskeder_20160120.csv"
	os.WriteFile(filepath.Join(outbox, bad), []byte("cpr;x\nSLUT;0\n"), 0o640)
	os.WriteFile(filepath.Join(outbox, bad+".sha256"), []byte(strings.Repeat("0", 64)+"  "+bad+"\n"), 0o640)
	// The signed checkpoint a publication copies beside the files (this
	// harness's sink is not a log).
	l, err := receipt.OpenLog(t.TempDir(), testSigningKey(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	cp, _ := l.Checkpoint()
	os.WriteFile(filepath.Join(outbox, "checkpoint.txt"), cp, 0o640)

	work := t.TempDir()
	script := filepath.Join(work, "import.sh")
	os.WriteFile(script, m[1], 0o755)
	kh := filepath.Join(work, "known_hosts")
	sshdtest.WriteKnownHosts(t, kh, b.svc.lns[0].Addr().String(), b.svc.srv.HostKeys()...)
	dest := filepath.Join(work, "import")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", script)
	cmd.Env = append(os.Environ(), "HOME="+work, "PATH="+filepath.Dir(sftpBin)+":"+os.Getenv("PATH"),
		"LEVERANCE_HOST=127.0.0.1", "LEVERANCE_PORT="+portOf(b.svc.lns[0].Addr().String()), "LEVERANCE_VENDOR=kmd-opera",
		"LEVERANCE_KEY="+filepath.Join(b.keys, "kmd-opera"), "LEVERANCE_KNOWN_HOSTS="+kh, "LEVERANCE_DEST="+dest)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out.String(), bad+" failed its check") {
		t.Fatalf("the script: %v, want exit 1 naming the bad file\n%s", err, out.String())
	}
	good := "daglige-beskeder_20160121.csv"
	done, _ := filepath.Glob(filepath.Join(dest, "done", "*"))
	cps, _ := filepath.Glob(filepath.Join(dest, "checkpoints", "checkpoint-*.txt"))
	if len(done) != 2 || filepath.Base(done[0]) != good || len(cps) != 1 {
		t.Fatalf("done/ %q, checkpoints %q\n%s", done, cps, out.String())
	}
	left, _ := filepath.Glob(filepath.Join(outbox, "*"))
	var names []string
	for _, p := range left {
		names = append(names, filepath.Base(p))
	}
	if strings.Join(names, " ") != "checkpoint.txt "+bad+" "+bad+".sha256" {
		t.Errorf("left on the server: %q", names)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(vendorDeletes(b.h.sink)) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if d := vendorDeletes(b.h.sink); strings.Join(d, " ") != good+" "+good+".sha256" {
		t.Errorf("slettet receipts of the vendor's deletes: %q", d)
	}
	fetched := false
	for _, r := range b.h.sink.events(receipt.Hentet) {
		fetched = fetched || r.File == good && r.Complete != nil && *r.Complete
	}
	if !fetched {
		t.Errorf("no complete hentet receipt for %s: %+v", good, b.h.sink.events(receipt.Hentet))
	}
}

func vendorDeletes(s *memSink) []string {
	var files []string
	for _, r := range s.events(receipt.Slettet) {
		if r.Reason == "vendor" {
			files = append(files, r.File)
		}
	}
	return files
}

func portOf(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

func testSigningKey(t *testing.T) string {
	skey, _, err := receipt.GenerateKey("leverance")
	if err != nil {
		t.Fatal(err)
	}
	return skey
}
