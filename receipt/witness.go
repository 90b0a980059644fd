package receipt

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"leverance/internal/fsutil"
)

// VerifierKey returns the public verifier key that belongs to a signer key
// (both in golang.org/x/mod/sumdb/note's format), so that a writer can
// verify its own log without a separate public-key file.
func VerifierKey(skey string) (string, error) {
	// PRIVATE+KEY+<name>+<hash>+<base64 of the algorithm byte and the seed>
	parts := strings.SplitN(strings.TrimSpace(skey), "+", 5) // base64 may hold "+"
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("receipts signing key: not a note signer key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("receipts signing key: not an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// Witness is what a writer remembers of its log between runs: how many
// records it had and the tree's root over them. A log that no longer
// extends it was rewritten, even if it verifies on its own (an older
// checkpoint and its records put back).
type Witness struct {
	Size int64  `json:"size"`
	Root string `json:"root"` // base64, as in a checkpoint
}

// ReadWitness reads a witness file; a missing file gives the empty witness,
// which every log extends.
func ReadWitness(path string) (Witness, error) {
	var w Witness
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return w, nil
	}
	if err != nil {
		return w, err
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return w, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// WriteWitness replaces the witness file atomically and durably.
func WriteWitness(path string, w Witness) error {
	data, err := json.Marshal(w)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	return fsutil.WriteFile(path, append(data, '\n'), 0o640)
}

// Extends checks that the verified log still holds the records the witness
// saw, unchanged.
func (v *Verification) Extends(w Witness) *Finding {
	if w.Size == 0 {
		return nil
	}
	if w.Size > v.Records {
		return &Finding{Record: v.Records + 1, What: fmt.Sprintf("the log has %d records but held %d when the daemon last wrote to it: records were removed", v.Records, w.Size)}
	}
	h, _ := v.TreeHash(w.Size)
	if base64.StdEncoding.EncodeToString(h[:]) != w.Root {
		return &Finding{Record: w.Size, What: fmt.Sprintf("the first %d records are not those the daemon last wrote: the log was rewritten", w.Size)}
	}
	return nil
}

// Head returns the size and root of the log's newest signed checkpoint.
func (l *Log) Head() Witness {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Witness{Size: l.n, Root: base64.StdEncoding.EncodeToString(l.root[:])}
}

// AlteredError says that a receipts log does not verify: it was changed
// after it was written. A writer refuses to append to it.
type AlteredError struct {
	Dir   string
	First Finding // the first finding, naming the record where possible
	More  int     // further findings
}

func (e *AlteredError) Error() string {
	s := fmt.Sprintf("receipts log %s does not verify: %s", e.Dir, e.First)
	if e.More > 0 {
		s += fmt.Sprintf(" (and %d more findings; run 'leverance receipts verify')", e.More)
	}
	return s
}

// CheckWritable verifies the log in dir before a writer appends to it: the
// records, stored hashes and checkpoints with the public key vkey, and that
// the log extends the writer's witness. What a crash left is allowed (the
// writer's OpenLog repairs it); anything else is an *AlteredError.
func CheckWritable(dir, vkey string, w Witness) (*Verification, error) {
	v, err := Verify(dir, vkey)
	if err != nil {
		return nil, err
	}
	bad := v.Altered()
	if f := v.Extends(w); f != nil {
		bad = append(bad, *f)
	}
	if len(bad) > 0 {
		return v, &AlteredError{Dir: dir, First: bad[0], More: len(bad) - 1}
	}
	return v, nil
}
