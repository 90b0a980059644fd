package receipt

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Finding is one thing wrong with a receipts log. Record is the 1-based
// number of the first record concerned, or 0 when the problem is not one
// record's.
type Finding struct {
	Record int64  `json:"record,omitempty"`
	What   string `json:"what"`
}

func (f Finding) String() string {
	if f.Record > 0 {
		return fmt.Sprintf("record %d: %s", f.Record, f.What)
	}
	return f.What
}

// Verification is the result of Verify.
type Verification struct {
	Records     int64     `json:"records"`
	Checkpoints int       `json:"checkpoints"`
	Size        int64     `json:"checkpoint_size"`
	Root        string    `json:"checkpoint_root"`
	Findings    []Finding `json:"findings"`
}

// OK reports whether the log verified.
func (v *Verification) OK() bool { return len(v.Findings) == 0 }

// memHashes is a HashReader over hashes computed in memory.
type memHashes []tlog.Hash

func (m *memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(*m)) {
			return nil, fmt.Errorf("hash %d not computed", x)
		}
		out[i] = (*m)[x]
	}
	return out, nil
}

// Verify recomputes the tree from the records in dir and checks the stored
// hashes, the newest checkpoint and every kept checkpoint against it with the
// public key vkey (SPEC §7.3). It names the first record where the log was
// tampered with.
func Verify(dir, vkey string) (*Verification, error) {
	verifier, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	v := &Verification{}
	add := func(rec int64, format string, a ...any) {
		v.Findings = append(v.Findings, Finding{Record: rec, What: fmt.Sprintf(format, a...)})
	}
	data, err := os.ReadFile(filepath.Join(dir, RecordsFile))
	if err != nil {
		return nil, err
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		add(int64(bytes.Count(data, []byte("\n")))+1, "the last record is torn (no line end): a crash while writing; the daemon cuts it away at start")
		data = data[:bytes.LastIndexByte(data, '\n')+1]
	}
	lines := splitLines(data)
	v.Records = int64(len(lines))

	// Recompute every stored hash.
	var mem memHashes
	for i, line := range lines {
		hs, err := tlog.StoredHashes(int64(i), line, &mem)
		if err != nil {
			return nil, err
		}
		mem = append(mem, hs...)
		var r struct {
			Seq int64 `json:"seq"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			add(int64(i)+1, "not a JSON record: %v", err)
		} else if r.Seq != int64(i)+1 {
			add(int64(i)+1, "has seq %d: records were removed, inserted or reordered", r.Seq)
		}
	}
	treeHash := func(n int64) tlog.Hash {
		h, err := tlog.TreeHash(n, &mem)
		if err != nil {
			return tlog.Hash{}
		}
		return h
	}

	// The stored hashes must be those of the records.
	if stored, err := os.ReadFile(filepath.Join(dir, HashesFile)); err == nil {
		for i := int64(0); i < v.Records; i++ {
			lo, hi := tlog.StoredHashIndex(0, i), tlog.StoredHashIndex(0, i+1)
			if hi*tlog.HashSize > int64(len(stored)) {
				add(i+1, "the stored tree hashes end before this record")
				break
			}
			var want []byte
			for _, h := range mem[lo:hi] {
				want = append(want, h[:]...)
			}
			if !bytes.Equal(want, stored[lo*tlog.HashSize:hi*tlog.HashSize]) {
				add(i+1, "does not match the stored tree hash: the record was changed")
				break
			}
		}
	} else {
		add(0, "stored tree hashes unreadable: %v", err)
	}

	// Every kept checkpoint must verify and match the records it covers.
	check := func(msg []byte, what string) (size int64, ok bool) {
		n, err := note.Open(msg, note.VerifierList(verifier))
		if err != nil {
			add(0, "%s: signature does not verify with the public key: %v", what, err)
			return 0, false
		}
		origin, size, root, err := ParseCheckpoint(n.Text)
		if err != nil {
			add(0, "%s: %v", what, err)
			return 0, false
		}
		if origin != verifier.Name() {
			add(0, "%s: origin %q is not the key's %q", what, origin, verifier.Name())
		}
		if size > v.Records {
			add(v.Records+1, "%s signs %d records but the log has %d: records were removed", what, size, v.Records)
			return size, false
		}
		if treeHash(size) != root {
			add(size, "%s (size %d) does not match the records: a record up to %d was changed", what, size, size)
			return size, false
		}
		return size, true
	}
	var newestKept []byte
	var prev int64 = -1
	if f, err := os.Open(filepath.Join(dir, CheckpointsFile)); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		firstBad := true
		for sc.Scan() {
			var msg string
			if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
				add(0, "kept checkpoint %d unreadable", v.Checkpoints+1)
				continue
			}
			v.Checkpoints++
			size, ok := check([]byte(msg), fmt.Sprintf("kept checkpoint %d", v.Checkpoints))
			if size < prev {
				add(0, "kept checkpoint %d is smaller (%d) than the one before (%d)", v.Checkpoints, size, prev)
			}
			prev = size
			newestKept = []byte(msg)
			if !ok && firstBad {
				firstBad = false
				// Later checkpoints repeat the same finding; one is enough.
				for sc.Scan() {
					v.Checkpoints++
				}
			}
		}
		f.Close()
	}
	cp, err := os.ReadFile(filepath.Join(dir, CheckpointFile))
	switch {
	case err != nil && v.Records > 0:
		add(0, "no checkpoint: %v", err)
	case err == nil:
		size, ok := check(cp, "checkpoint.txt")
		if n, err := note.Open(cp, note.VerifierList(verifier)); err == nil {
			_, _, root, _ := ParseCheckpoint(n.Text)
			v.Size, v.Root = size, base64.StdEncoding.EncodeToString(root[:])
		}
		if ok && newestKept != nil && !bytes.Equal(cp, newestKept) {
			add(0, "checkpoint.txt (size %d) is not the newest kept checkpoint (size %d): it was replaced by an older one", size, prev)
		}
		if ok && size < v.Records {
			add(size+1, "records %d–%d are not covered by a signed checkpoint", size+1, v.Records)
		}
	}
	return v, nil
}

// Bundle proves one record to someone who has only the public key: the
// record as stored, its inclusion proof and the signed checkpoint.
type Bundle struct {
	Seq        int64    `json:"seq"`
	Record     string   `json:"record"`
	Proof      []string `json:"proof"`
	Checkpoint string   `json:"checkpoint"`
}

// Prove makes the bundle of record seq (1-based) from the log in dir.
func Prove(dir string, seq int64) (*Bundle, error) {
	data, err := os.ReadFile(filepath.Join(dir, RecordsFile))
	if err != nil {
		return nil, err
	}
	lines := splitLines(data[:bytes.LastIndexByte(data, '\n')+1])
	cp, err := os.ReadFile(filepath.Join(dir, CheckpointFile))
	if err != nil {
		return nil, err
	}
	size := checkpointSize(cp)
	if seq < 1 || seq > size || size > int64(len(lines)) {
		return nil, fmt.Errorf("record %d is not covered by the checkpoint (size %d)", seq, size)
	}
	var mem memHashes
	for i := int64(0); i < size; i++ {
		hs, err := tlog.StoredHashes(i, lines[i], &mem)
		if err != nil {
			return nil, err
		}
		mem = append(mem, hs...)
	}
	proof, err := tlog.ProveRecord(size, seq-1, &mem)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Seq: seq, Record: string(lines[seq-1]), Checkpoint: string(cp)}
	for _, h := range proof {
		b.Proof = append(b.Proof, base64.StdEncoding.EncodeToString(h[:]))
	}
	return b, nil
}

// CheckBundle verifies a bundle with the public key alone.
func CheckBundle(b *Bundle, vkey string) (*Record, error) {
	verifier, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	n, err := note.Open([]byte(b.Checkpoint), note.VerifierList(verifier))
	if err != nil {
		return nil, fmt.Errorf("checkpoint signature: %w", err)
	}
	_, size, root, err := ParseCheckpoint(n.Text)
	if err != nil {
		return nil, err
	}
	var proof tlog.RecordProof
	for _, p := range b.Proof {
		h, err := base64.StdEncoding.DecodeString(p)
		if err != nil || len(h) != tlog.HashSize {
			return nil, errors.New("proof: bad hash")
		}
		var x tlog.Hash
		copy(x[:], h)
		proof = append(proof, x)
	}
	if b.Seq < 1 || b.Seq > size {
		return nil, fmt.Errorf("record %d is outside the checkpoint (size %d)", b.Seq, size)
	}
	if err := tlog.CheckRecord(proof, size, root, b.Seq-1, tlog.RecordHash([]byte(b.Record))); err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}
	var r Record
	if err := json.Unmarshal([]byte(b.Record), &r); err != nil {
		return nil, err
	}
	if r.Seq != b.Seq {
		return nil, fmt.Errorf("the record says seq %d, the bundle %d", r.Seq, b.Seq)
	}
	return &r, nil
}
