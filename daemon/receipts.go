package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"leverance/config"
	"leverance/internal/fsutil"
	"leverance/receipt"
)

// OpenReceipts opens the receipts log of the configuration for appending,
// creating the signing key on first start when none is configured. Before
// anything is appended it verifies the log — records, stored hashes, every
// checkpoint, and that it extends the witness the daemon last wrote — and
// refuses one that was altered with a *receipt.AlteredError naming the
// first bad record (docs/operations.md: what an operator does then). What a
// crash between two write steps left is repaired.
func OpenReceipts(c *config.Config, log *slog.Logger) (*receipt.Log, error) {
	skey, err := signingKey(c, log)
	if err != nil {
		return nil, err
	}
	vkey, err := receipt.VerifierKey(skey)
	if err != nil {
		return nil, err
	}
	lay := c.Layout()
	w, err := receipt.ReadWitness(lay.ReceiptsWitness())
	if err != nil {
		return nil, fmt.Errorf("receipts witness: %w", err)
	}
	if _, err := receipt.CheckWritable(lay.Receipts(), vkey, w); err != nil {
		return nil, err
	}
	return receipt.OpenLog(lay.Receipts(), skey, log.With("component", "receipts"))
}

// signingKey reads the receipts signing key, creating it (and the public
// key beside it) on first start when none is configured.
func signingKey(c *config.Config, log *slog.Logger) (string, error) {
	keyPath := c.SigningKeyPath()
	skey, err := os.ReadFile(keyPath)
	if err == nil {
		return string(skey), nil
	}
	if !errors.Is(err, fs.ErrNotExist) || c.Receipts.SigningKey != "" || keyPath != c.Layout().ReceiptsKey() {
		return "", fmt.Errorf("receipts signing key: %w", err)
	}
	// A key is made only for a log that has none yet: a log with records
	// was signed with a key that must be found (an operator's command run
	// without the service's credential, say), never replaced.
	if st, err := os.Stat(filepath.Join(c.Layout().Receipts(), receipt.RecordsFile)); err == nil && st.Size() > 0 {
		return "", fmt.Errorf("receipts signing key: %s does not exist, but the receipts log in %s has records signed with a key: "+
			"give its path in [receipts] signing_key, or run with the service's credential (CREDENTIALS_DIRECTORY)", keyPath, c.Layout().Receipts())
	}
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o750); err != nil {
		return "", err
	}
	s, v, err := receipt.GenerateKey("leverance")
	if err != nil {
		return "", err
	}
	if err := fsutil.WriteFile(keyPath, []byte(s+"\n"), 0o600); err != nil {
		return "", err
	}
	if err := fsutil.WriteFile(c.PublicKeyPath(), []byte(v+"\n"), 0o644); err != nil {
		return "", err
	}
	log.Warn("created a new receipts signing key; give auditors the public key", "key", keyPath, "public_key", c.PublicKeyPath())
	return s, nil
}

// journal is the daemon's sink: it appends to the receipts log and then
// moves the witness forward, so that a later start can tell a log that
// was rolled back.
type journal struct {
	log     *receipt.Log
	witness string
	warn    func(msg string, args ...any)
}

func (j *journal) Append(ctx context.Context, r *receipt.Record) error {
	if err := j.log.Append(ctx, r); err != nil {
		return err
	}
	// A witness that lags behind is still a true one: a failure here only
	// narrows what the next start can detect.
	if err := receipt.WriteWitness(j.witness, j.log.Head()); err != nil {
		j.warn("receipts witness not updated", "err", err)
	}
	return nil
}

func (j *journal) Checkpoint() ([]byte, error) { return j.log.Checkpoint() }

// tail reads the records appended to a receipts log since the last call:
// the log is read once in full, then only what grows (by the daemon or by
// an operator's command).
type logTail struct {
	path string
	off  int64
	seq  int64
}

func (t *logTail) next() ([]receipt.Record, error) {
	f, err := os.Open(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() < t.off {
		return nil, fmt.Errorf("%s shrank from %d to %d bytes while the daemon ran", t.path, t.off, st.Size())
	}
	if st.Size() == t.off {
		return nil, nil
	}
	data := make([]byte, st.Size()-t.off)
	if _, err := f.ReadAt(data, t.off); err != nil && err != io.EOF {
		return nil, err
	}
	data = data[:bytes.LastIndexByte(data, '\n')+1] // a record being written is read next time
	var out []receipt.Record
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var r receipt.Record
		if err := json.Unmarshal(data[:i], &r); err != nil {
			return out, fmt.Errorf("%s: record %d: %w", receipt.RecordsFile, t.seq+1, err)
		}
		out = append(out, r)
		t.off += int64(i) + 1
		t.seq++
		data = data[i+1:]
	}
	return out, nil
}
