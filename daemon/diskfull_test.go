package daemon

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"leverance/receipt"
	"leverance/synth"
)

// TestDiskFull: the state directory fills up while an extract is staged
// (local faults): a clear error, the extract stays in the inbox,
// nothing half-staged is kept, and once space is back it is accepted and
// published. Needs root to mount a small tmpfs.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	h := newHarness2(t, dir)
	var extract bytes.Buffer
	if err := synth.Generate(&extract, synth.Options{Citizens: 600, Seed: 3, AsOf: mk(2016, 1, 21)}); err != nil {
		t.Fatal(err)
	}
	name := "registreringer_20160121.csv"
	if err := os.WriteFile(filepath.Join(dir, "inbox", name), extract.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	// Fill the disk but for a few KiB.
	filler := filepath.Join(dir, "filler")
	f, _ := os.Create(filler)
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	st, _ := os.Stat(filler)
	os.Truncate(filler, st.Size()-16<<10)

	err := h.e.Accept(name)
	if err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("accept on a full disk: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "inbox", name)); err != nil {
		t.Fatalf("the extract left the inbox: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "staging"))
	if len(ents) != 0 {
		t.Fatalf("half-staged debris: %v", ents)
	}
	if len(h.sink.events(receipt.Modtaget)) != 0 || len(h.sink.events(receipt.Afvist)) != 0 {
		t.Fatal("a failed accept was recorded as accepted or rejected")
	}

	os.Remove(filler) // space is back
	if err := h.e.Accept(name); err != nil {
		t.Fatal(err)
	}
	h.tick(at(2016, 1, 22, 5, 0))
	h.wantSlot("daglig-opdatering/20160122/schultz-fasit", "leveret", Rettidig)
}

// newHarness2 is newHarness on a given state directory.
func newHarness2(t *testing.T, dir string) *harness {
	t.Helper()
	h := newHarness(t, at(2016, 1, 22, 0, 30), "")
	cfg := *h.cfg
	cfg.StateDir = dir
	for i := range cfg.Vendor {
		cfg.Vendor[i].Outbox.Path = filepath.Join("outbox", cfg.Vendor[i].Name)
	}
	h.cfg, h.dir = &cfg, dir
	h.restart()
	return h
}
