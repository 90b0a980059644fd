package receipt

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"leverance/internal/fsutil"
)

// Files of the receipts log in its directory (docs/audit.md).
const (
	RecordsFile     = "receipts.jsonl"    // one record per line; record n is line n
	HashesFile      = "receipts.hashes"   // the tree's stored hashes, 32 bytes each, in tlog order
	CheckpointFile  = "checkpoint.txt"    // the newest signed checkpoint
	CheckpointsFile = "checkpoints.jsonl" // every checkpoint ever signed, one JSON string per line
	lockFile        = "receipts.lock"
)

// Log is the append-only, verifiable receipts log: records in a JSON-lines
// file, an RFC 6962 Merkle tree over them (golang.org/x/mod/sumdb/tlog) and a
// checkpoint signed with Ed25519 (golang.org/x/mod/sumdb/note) after every
// append. Appends from several processes (the daemon, an operator's command)
// are serialised with an flock on receipts.lock.
type Log struct {
	dir    string
	signer note.Signer
	log    *slog.Logger
	mu     sync.Mutex
	n      int64     // records, as of the last repair or append
	size   int64     // bytes of the records file then
	root   tlog.Hash // the tree's root over the n records
	// Fence, when set, is called with the lock held right before a record
	// is written; an error writes nothing (a cluster node that no longer
	// leads).
	Fence func(ctx context.Context) error
}

var _ Sink = (*Log)(nil)

// OpenLog opens (creating it if needed) the log in dir, signing with skey (a
// note signer key, see GenerateKey). It repairs what a crash between the
// write steps left: a torn last line is cut away, missing hashes are
// recomputed, a missing checkpoint is signed.
func OpenLog(dir, skey string, log *slog.Logger) (*Log, error) {
	signer, err := note.NewSigner(strings.TrimSpace(skey))
	if err != nil {
		return nil, fmt.Errorf("receipts signing key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	l := &Log{dir: dir, signer: signer, log: log}
	unlock, err := l.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := l.repair(); err != nil {
		return nil, fmt.Errorf("receipts log: %w", err)
	}
	return l, nil
}

// GenerateKey makes a new signing key pair for origin: the private key (keep
// it 0600) and the public verifier key that auditors use.
func GenerateKey(origin string) (skey, vkey string, err error) {
	return note.GenerateKey(rand.Reader, origin)
}

// Origin returns the log's origin line (the key's name).
func (l *Log) Origin() string { return l.signer.Name() }

func (l *Log) path(name string) string { return filepath.Join(l.dir, name) }

func (l *Log) lock() (func(), error) {
	f, err := os.OpenFile(l.path(lockFile), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// repair brings the files to a consistent state and notes the number of
// records. Called with the lock held.
func (l *Log) repair() error {
	n, size, err := l.doRepair()
	l.n, l.size = n, size
	if err != nil {
		return err
	}
	hf, err := os.Open(l.path(HashesFile))
	if err != nil {
		return err
	}
	defer hf.Close()
	l.root, err = tlog.TreeHash(n, hashReader(hf))
	return err
}

func (l *Log) doRepair() (int64, int64, error) {
	f, err := os.OpenFile(l.path(RecordsFile), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return 0, 0, err
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		cut := bytes.LastIndexByte(data, '\n') + 1
		l.log.Warn("receipts log: torn last record cut away", "bytes", len(data)-cut)
		if err := f.Truncate(int64(cut)); err != nil {
			return 0, 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, 0, err
		}
		data = data[:cut]
	}
	lines := splitLines(data)
	n := int64(len(lines))

	hf, err := os.OpenFile(l.path(HashesFile), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return 0, 0, err
	}
	defer hf.Close()
	st, err := hf.Stat()
	if err != nil {
		return 0, 0, err
	}
	want := tlog.StoredHashIndex(0, n) * tlog.HashSize
	have := st.Size() / tlog.HashSize * tlog.HashSize
	if have > want || st.Size() != have {
		if have > want {
			have = want
		}
		if err := hf.Truncate(have); err != nil {
			return 0, 0, err
		}
	}
	// Which record do the stored hashes reach? Recompute from there.
	done := int64(0)
	for done < n && tlog.StoredHashIndex(0, done+1)*tlog.HashSize <= have {
		done++
	}
	if done < n {
		if err := hf.Truncate(tlog.StoredHashIndex(0, done) * tlog.HashSize); err != nil {
			return 0, 0, err
		}
		l.log.Warn("receipts log: recomputing missing tree hashes", "from_record", done+1, "records", n)
		for i := done; i < n; i++ {
			if err := appendHashes(hf, i, lines[i]); err != nil {
				return 0, 0, err
			}
		}
		if err := hf.Sync(); err != nil {
			return 0, 0, err
		}
	}
	if cp, err := os.ReadFile(l.path(CheckpointFile)); err != nil || checkpointSize(cp) != n {
		if n > 0 || err != nil {
			if err := l.sign(hf, n); err != nil {
				return 0, 0, err
			}
		}
	}
	return n, int64(len(data)), nil
}

func splitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		lines = append(lines, data[:i])
		data = data[i+1:]
	}
	return lines
}

// hashReader reads stored hashes from the hashes file.
func hashReader(f *os.File) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if _, err := f.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
				return nil, fmt.Errorf("stored hash %d: %w", x, err)
			}
		}
		return out, nil
	})
}

// appendHashes appends the stored hashes that record i (0-based) adds.
func appendHashes(hf *os.File, i int64, line []byte) error {
	hs, err := tlog.StoredHashes(i, line, hashReader(hf))
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		buf = append(buf, h[:]...)
	}
	_, err = hf.WriteAt(buf, tlog.StoredHashIndex(0, i)*tlog.HashSize)
	return err
}

// FormatCheckpoint is the checkpoint text: origin, size and root hash
// (base64), one per line.
func FormatCheckpoint(origin string, size int64, root tlog.Hash) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
}

// ParseCheckpoint parses a checkpoint's text.
func ParseCheckpoint(text string) (origin string, size int64, root tlog.Hash, err error) {
	parts := strings.Split(text, "\n")
	if len(parts) < 4 || parts[3] != "" {
		return "", 0, root, errors.New("checkpoint: not origin, size and root hash on three lines")
	}
	size, err = strconv.ParseInt(parts[1], 10, 64)
	if err != nil || size < 0 {
		return "", 0, root, errors.New("checkpoint: bad size")
	}
	h, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(h) != tlog.HashSize {
		return "", 0, root, errors.New("checkpoint: bad root hash")
	}
	copy(root[:], h)
	return parts[0], size, root, nil
}

func checkpointSize(signed []byte) int64 {
	n, err := note.Open(signed, note.VerifierList())
	var text string
	if err != nil {
		var unv *note.UnverifiedNoteError
		if !errors.As(err, &unv) {
			return -1
		}
		text = unv.Note.Text
	} else {
		text = n.Text
	}
	_, size, _, perr := ParseCheckpoint(text)
	if perr != nil {
		return -1
	}
	return size
}

// sign signs a checkpoint for the first n records, keeps it, and replaces
// checkpoint.txt atomically.
func (l *Log) sign(hf *os.File, n int64) error {
	root, err := tlog.TreeHash(n, hashReader(hf))
	if err != nil {
		return err
	}
	msg, err := note.Sign(&note.Note{Text: FormatCheckpoint(l.signer.Name(), n, root)}, l.signer)
	if err != nil {
		return err
	}
	l.root = root
	kept, err := json.Marshal(string(msg))
	if err != nil {
		return err
	}
	cf, err := os.OpenFile(l.path(CheckpointsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	_, err = cf.Write(append(kept, '\n'))
	if err == nil {
		err = cf.Sync()
	}
	if cerr := cf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return fsutil.WriteFile(l.path(CheckpointFile), msg, 0o640)
}

// Append implements Sink: it writes the record as the next line and fsyncs
// it, stores the tree hashes, then signs and replaces the checkpoint.
func (l *Log) Append(ctx context.Context, r *Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if l.Fence != nil {
		if err := l.Fence(ctx); err != nil {
			return err
		}
	}
	// Another process (an operator's command) may have appended.
	if st, err := os.Stat(l.path(RecordsFile)); err != nil || st.Size() != l.size {
		if err := l.repair(); err != nil {
			return err
		}
	}
	n := l.n
	r.Seq = n + 1
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(l.path(RecordsFile), os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append receipt: %w", err)
	}
	hf, err := os.OpenFile(l.path(HashesFile), os.O_RDWR, 0o640)
	if err != nil {
		return err
	}
	defer hf.Close()
	if err := appendHashes(hf, n, line); err != nil {
		return err
	}
	if err := hf.Sync(); err != nil {
		return err
	}
	if err := l.sign(hf, n+1); err != nil {
		return err
	}
	l.n, l.size = n+1, l.size+int64(len(line))+1
	return nil
}

// Checkpoint returns the newest signed checkpoint.
func (l *Log) Checkpoint() ([]byte, error) { return os.ReadFile(l.path(CheckpointFile)) }

// ReadRecords reads every record of the log in dir, in order.
func ReadRecords(dir string) ([]Record, error) {
	f, err := os.Open(filepath.Join(dir, RecordsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: record %d: %w", RecordsFile, line, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
