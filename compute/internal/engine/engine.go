// Package engine runs compute's rules over a whole extract on several
// goroutines and in bounded memory (docs/performance.md). It knows nothing
// of what a line or a row means: the domain (package compute) hands it a
// Domain, which reads one line, renders one citizen and merges, in order,
// what each chunk found. The engine cuts the extract into chunks of whole
// lines, runs them through workers, takes them back in order, groups the
// rows of each citizen (the rows of one Key) and, for an extract not
// sorted by key, partitions the rows in scratch files by key and sorts them
// back (parts.go). The repeated ids are found with package idset.
//
//	reader ──chunks──▶ workers (lines, rows, citizens between the chunk's first and last) ──▶ merger (in order: Take, edge citizens, Write)
//
// Sorted mode: a worker groups the valid rows of its chunk by key. The
// first and the last group may continue in the neighbouring chunks, so the
// worker leaves them to the merger; it renders the groups between them
// into a Sink, each as soon as it is complete, while its rows are still in
// the cache. The merger renders the edge citizens itself and writes the
// sinks in chunk order, so the output is that of one citizen at a time.
// Memory: a fixed number of chunks in flight, whatever the extract's size.
//
// Buffered mode (not sorted): the workers encode the valid rows into
// partitions by the first four digits of the key, which the merger appends
// to scratch files in chunk order; Finish then reads each partition back,
// sorts it by key and renders it, again with several workers, in order.
package engine

import (
	"errors"
	"runtime"
	"sync"

	"leverance/compute/internal/idset"
	"leverance/compute/internal/linescan"
	"leverance/compute/internal/scratch"
)

// Key is the citizen of a row: ten ASCII digits. The output is in key
// order.
type Key = [10]byte

// Verdict is what a line is.
type Verdict uint8

// The verdicts of Chunk.Line.
const (
	// Other: not a row to keep or count an id of (the trailer, a line too
	// long to read).
	Other Verdict = iota
	// Valid: a valid row, in the row given.
	Valid
	// Invalid: a data row with a problem, recorded by the domain.
	Invalid
	// Stop: nothing after this line is to be read (a problem that rejects
	// the extract, or a line after the trailer).
	Stop
)

// Line is what the domain says of one line.
type Line struct {
	Verdict Verdict
	Key     *Key   // of a valid row
	IDHash  uint64 // of a data row's id, when HasID
	HasID   bool
}

// Chunk reads the lines of one chunk and keeps what it finds for Take;
// the engine has one for each chunk in flight and resets it for the next.
type Chunk[R any] interface {
	Reset()
	// Pos is where the line scanner puts the semicolons of a line before
	// Line is called for it.
	Pos() *linescan.Pos
	// Line reads line lineNo (without its '\n'), which has semis
	// semicolons and, when ascii, only ASCII bytes; a valid row goes into r.
	Line(line []byte, semis int, ascii bool, lineNo int, r *R) Line
	// ID is the id of the last line read, when Line said HasID.
	ID() []byte
}

// Sink renders citizens; it is written by Domain.Write. Keys are compared
// as prefixes: after and upTo may be shorter than a Key.
type Sink[R any] interface {
	Reset()
	// Seek places the sink after every key whose first len(after) digits
	// are at most after (nil: at the start).
	Seek(after []byte)
	// Citizen renders the rows of one key, in file order.
	Citizen(rows []R)
	// Left renders what the domain has to say of the keys from where the
	// sink is up to those whose first len(upTo) digits are upTo (nil: all)
	// that have no rows.
	Left(upTo []byte)
}

// Domain is what the engine needs of the rules, for rows of type R.
type Domain[R any] interface {
	NewChunk() Chunk[R]
	NewSink() Sink[R]
	// Take merges what a chunk found, in file order: first is the number
	// of the line before its first, lines how many it has, rerr a read
	// error after them. ended says that the extract's end (its trailer) was
	// in it: the chunks after it are taken without their rows. An error
	// ends the pass.
	Take(c Chunk[R], first, lines int, rerr error) (ended bool, err error)
	// End is called after the last chunk was taken.
	End() error
	// Write writes what a sink rendered (in key order) and resets it.
	Write(s Sink[R])
	// Own makes a row independent of data, the chunk its line was read
	// from, which is used again for another part of the extract.
	Own(r *R, data []byte)
	// AppendRecord appends a valid row without its key, at most
	// MaxRecord bytes; ReadRecord reads one back (b is exactly what
	// AppendRecord appended), with its key, and may point into b.
	AppendRecord(b []byte, r *R) []byte
	ReadRecord(b []byte, key *Key, r *R)
}

// Mode is how a pass treats the rows.
type Mode uint8

// The modes.
const (
	Sorted   Mode = iota // the extract is sorted by key: streamed
	Buffered             // any order: partitioned in scratch files
	Validate             // lines are read, no row is kept
)

// Config configures a pass.
type Config struct {
	Mode    Mode
	Workers int             // 0: GOMAXPROCS
	Scratch scratch.Scratch // nil: in memory
	// MemoryLimit bounds the partitions of Buffered held at once.
	MemoryLimit int64
	ChunkSize   int // bytes read at a time
	MaxLine     int // the longest line the domain reads whole
	// IDMemory and IDPartLimit: the id hashes are collected (idset) with
	// these sizes; IDMemory 0 collects none.
	IDMemory, IDPartLimit int64
	// Suspects: the rows whose id has one of these hashes are kept
	// (SuspectRows).
	Suspects map[uint64]bool
}

// ErrUnsorted ends a Sorted pass over an extract that is not sorted by key.
var ErrUnsorted = errors.New("the extract is not sorted by cpr")

// Pass is one reading of an extract.
type Pass[R any] struct {
	d   Domain[R]
	cfg Config
	ids *idset.Store

	mu       sync.Mutex
	suspects []idset.Row

	quit chan struct{}
	free chan *chunk[R]

	// The merger's.
	ms         Sink[R] // for the citizens at the chunks' edges
	pending    []R     // the last key's rows, which may go on in the next chunk
	pendingKey Key
	ended      bool // Take said the extract's end was read
	parts      [numParts0]scratch.Spill
}

// New makes a pass.
func New[R any](d Domain[R], cfg Config) *Pass[R] {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Scratch == nil {
		cfg.Scratch = scratch.Mem{}
	}
	p := &Pass[R]{d: d, cfg: cfg, ms: d.NewSink()}
	if cfg.IDMemory > 0 {
		p.ids = idset.New(cfg.Scratch, cfg.IDMemory, cfg.IDPartLimit)
	}
	return p
}

// Close gives the scratch files back.
func (p *Pass[R]) Close() {
	if p.ids != nil {
		p.ids.Close()
	}
	for i := range p.parts {
		p.parts[i].Close()
	}
}

// Suspects returns the hashes of the ids seen more than once, after Read.
func (p *Pass[R]) Suspects() (map[uint64]bool, error) {
	if p.ids == nil {
		return nil, nil
	}
	return p.ids.Suspects(p.cfg.Workers)
}

// SuspectRows returns the rows with a suspect id (Config.Suspects), after
// Read.
func (p *Pass[R]) SuspectRows() []idset.Row { return p.suspects }

// Finish renders what is left after Read: in Buffered mode every
// partition, in key order; then what the sinks have to say after the last
// key (Sink.Left). Everything goes to Domain.Write.
func (p *Pass[R]) Finish() error {
	if p.cfg.Mode == Buffered {
		last, err := p.computeParts()
		if err != nil {
			return err
		}
		p.ms.Seek(last)
	}
	p.ms.Left(nil)
	p.d.Write(p.ms)
	return nil
}
