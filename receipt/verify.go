package receipt

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Finding is one thing wrong with a receipts log. Record is the 1-based
// number of the first record concerned, or 0 when the problem is not one
// record's. Crash marks what a crash between two of an append's write steps
// leaves (a torn last record, its missing hashes or checkpoint): the next
// writer repairs it; every other finding means the log was altered.
type Finding struct {
	Record int64  `json:"record,omitempty"`
	What   string `json:"what"`
	Crash  bool   `json:"crash,omitempty"`
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

	mem      memHashes // every stored hash, recomputed from the records
	verifier note.Verifier
	newest   []byte // the newest kept checkpoint
	newestN  int64  // its size
}

// OK reports whether the log verified.
func (v *Verification) OK() bool { return len(v.Findings) == 0 }

// Altered returns the findings that no crash explains, in the order found.
func (v *Verification) Altered() []Finding {
	var out []Finding
	for _, f := range v.Findings {
		if !f.Crash {
			out = append(out, f)
		}
	}
	return out
}

// TreeHash returns the root of the tree over the first n records as they
// are now (false when n is beyond them).
func (v *Verification) TreeHash(n int64) (tlog.Hash, bool) {
	if n < 0 || n > v.Records {
		return tlog.Hash{}, false
	}
	h, err := tlog.TreeHash(n, &v.mem)
	return h, err == nil
}

func (v *Verification) add(rec int64, crash bool, format string, a ...any) {
	v.Findings = append(v.Findings, Finding{Record: rec, What: fmt.Sprintf(format, a...), Crash: crash})
}

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
// public key vkey (docs/audit.md). It names the first record where the log was
// tampered with. A log that does not exist yet verifies, empty.
func Verify(dir, vkey string) (*Verification, error) {
	verifier, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	v := &Verification{verifier: verifier}
	data, err := os.ReadFile(filepath.Join(dir, RecordsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := v.rehash(data); err != nil {
		return nil, err
	}
	if len(data) > 0 {
		v.checkStored(filepath.Join(dir, HashesFile))
	}
	v.checkKept(filepath.Join(dir, CheckpointsFile))
	v.checkNewest(filepath.Join(dir, CheckpointFile))
	return v, nil
}

// rehash recomputes every stored hash from the records and checks that
// their sequence numbers run 1, 2, 3, ...
func (v *Verification) rehash(data []byte) error {
	if len(data) > 0 && data[len(data)-1] != '\n' {
		v.add(int64(bytes.Count(data, []byte("\n")))+1, true, "the last record is torn (no line end): a crash while writing; the daemon cuts it away at start")
		data = data[:bytes.LastIndexByte(data, '\n')+1]
	}
	lines := splitLines(data)
	v.Records = int64(len(lines))
	for i, line := range lines {
		hs, err := tlog.StoredHashes(int64(i), line, &v.mem)
		if err != nil {
			return err
		}
		v.mem = append(v.mem, hs...)
		seq, err := recordSeq(line)
		if err != nil {
			v.add(int64(i)+1, false, "not a JSON record: %v", err)
		} else if seq != int64(i)+1 {
			v.add(int64(i)+1, false, "has seq %d: records were removed, inserted or reordered", seq)
		}
	}
	return nil
}

// recordSeq returns a record's seq. Records are written with seq first
// ({"seq":N,...}), which is read without decoding the line; any other line
// is decoded.
func recordSeq(line []byte) (int64, error) {
	if rest, ok := bytes.CutPrefix(line, []byte(`{"seq":`)); ok {
		if i := bytes.IndexByte(rest, ','); i > 0 && bytes.Count(rest, []byte(`"seq"`)) == 0 && json.Valid(line) {
			if n, err := strconv.ParseInt(string(rest[:i]), 10, 64); err == nil {
				return n, nil
			}
		}
	}
	var r struct {
		Seq int64 `json:"seq"`
	}
	err := json.Unmarshal(line, &r)
	return r.Seq, err
}

// checkStored compares the stored hashes with the recomputed ones.
func (v *Verification) checkStored(path string) {
	stored, err := os.ReadFile(path)
	if err != nil {
		v.add(0, false, "stored tree hashes unreadable: %v", err)
		return
	}
	for i := int64(0); i < v.Records; i++ {
		lo, hi := tlog.StoredHashIndex(0, i), tlog.StoredHashIndex(0, i+1)
		if hi*tlog.HashSize > int64(len(stored)) {
			// Only the last record's hashes can be missing after a crash.
			v.add(i+1, i+1 == v.Records, "the stored tree hashes end before this record")
			return
		}
		var want []byte
		for _, h := range v.mem[lo:hi] {
			want = append(want, h[:]...)
		}
		if !bytes.Equal(want, stored[lo*tlog.HashSize:hi*tlog.HashSize]) {
			v.add(i+1, false, "does not match the stored tree hash: the record was changed")
			return
		}
	}
}

// check opens a signed checkpoint and checks it against the records.
func (v *Verification) check(msg []byte, what string) (size int64, root tlog.Hash, ok bool) {
	n, err := note.Open(msg, note.VerifierList(v.verifier))
	if err != nil {
		v.add(0, false, "%s: signature does not verify with the public key: %v", what, err)
		return 0, root, false
	}
	origin, size, root, err := ParseCheckpoint(n.Text)
	if err != nil {
		v.add(0, false, "%s: %v", what, err)
		return 0, root, false
	}
	if origin != v.verifier.Name() {
		v.add(0, false, "%s: origin %q is not the key's %q", what, origin, v.verifier.Name())
	}
	if size > v.Records {
		v.add(v.Records+1, false, "%s signs %d records but the log has %d: records were removed", what, size, v.Records)
		return size, root, false
	}
	if h, _ := v.TreeHash(size); h != root {
		v.add(size, false, "%s (size %d) does not match the records: a record up to %d was changed", what, size, size)
		return size, root, false
	}
	return size, root, true
}

// checkKept checks every kept checkpoint, in order.
func (v *Verification) checkKept(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	prev := int64(-1)
	for sc.Scan() {
		var msg string
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			v.add(0, false, "kept checkpoint %d unreadable", v.Checkpoints+1)
			continue
		}
		v.Checkpoints++
		size, _, ok := v.check([]byte(msg), fmt.Sprintf("kept checkpoint %d", v.Checkpoints))
		if size < prev {
			v.add(0, false, "kept checkpoint %d is smaller (%d) than the one before (%d)", v.Checkpoints, size, prev)
		}
		prev = size
		v.newest, v.newestN = []byte(msg), size
		if !ok {
			// Later checkpoints repeat the same finding; one is enough.
			for sc.Scan() {
				v.Checkpoints++
			}
		}
	}
}

// checkNewest checks checkpoint.txt: it must be the newest kept checkpoint
// and cover every record.
func (v *Verification) checkNewest(path string) {
	cp, err := os.ReadFile(path)
	if err != nil {
		if v.Records > 0 {
			v.add(0, false, "no checkpoint: %v", err)
		}
		return
	}
	size, root, ok := v.check(cp, "checkpoint.txt")
	v.Size, v.Root = size, base64.StdEncoding.EncodeToString(root[:])
	if !ok {
		return
	}
	if v.newest != nil && !bytes.Equal(cp, v.newest) {
		// A crash after a checkpoint was kept and before checkpoint.txt
		// was replaced leaves it one record behind the newest kept one.
		crash := v.newestN == size+1 && v.Records == size+1
		v.add(0, crash, "checkpoint.txt (size %d) is not the newest kept checkpoint (size %d): it was replaced by an older one", size, v.newestN)
	}
	if size < v.Records {
		v.add(size+1, size+1 == v.Records, "records %d–%d are not covered by a signed checkpoint", size+1, v.Records)
	}
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
