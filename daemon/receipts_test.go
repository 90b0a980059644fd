package daemon

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"leverance/config"
	"leverance/receipt"
)

// TestOpenReceiptsKeepsItsKey: the signing key is made at the first start
// only; when the log already has records and the key is not where the
// configuration says (an operator's command run without the service's
// credential), opening fails and makes no second key.
func TestOpenReceiptsKeepsItsKey(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte("state_dir = \""+dir+"\"\n"+vendorsTOML), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := OpenReceipts(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(context.Background(), &receipt.Record{Event: receipt.Modtaget}); err != nil {
		t.Fatal(err)
	}
	lay := cfg.Layout()
	if err := os.Rename(lay.ReceiptsKey(), lay.ReceiptsKey()+".elsewhere"); err != nil {
		t.Fatal(err)
	}
	_, err = OpenReceipts(cfg, log)
	if err == nil || !strings.Contains(err.Error(), "signing_key") {
		t.Fatalf("OpenReceipts without the key of a log with records: %v", err)
	}
	if _, err := os.Stat(lay.ReceiptsKey()); err == nil {
		t.Fatal("a second signing key was made")
	}
	os.Rename(lay.ReceiptsKey()+".elsewhere", lay.ReceiptsKey())
	if _, err := OpenReceipts(cfg, log); err != nil {
		t.Fatalf("with its key back: %v", err)
	}
}
