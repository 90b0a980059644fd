package compute

// Tuning holds the engine's sizes, for tests and benchmarks: a test sets
// small ones to exercise chunk edges and scratch files with little data.
// The zero value is the defaults, and production code leaves it so.
type Tuning struct {
	// ChunkSize is the size of the chunks the pipeline cuts the extract
	// into (at least twice the longest line is used); 0 means 1 MiB.
	ChunkSize int
	// IDMemory is the most memory the id hashes take when Job.MemoryLimit
	// allows it (see idMemoryBudget); 0 means 32 MiB.
	IDMemory int64
	// IDPartLimit is the largest partition of id hashes that is checked
	// at once; a larger one is split by the next byte; 0 means 16 MiB.
	IDPartLimit int64
}

// The defaults of Tuning.
const (
	defaultChunkSize   = 1 << 20
	defaultIDMemory    = 32 << 20
	defaultIDPartLimit = 16 << 20
)

func (t Tuning) chunkSize() int {
	if t.ChunkSize <= 0 {
		return defaultChunkSize
	}
	return t.ChunkSize
}

func (t Tuning) idMemory() int64 {
	if t.IDMemory <= 0 {
		return defaultIDMemory
	}
	return t.IDMemory
}

func (t Tuning) idPartLimit() int64 {
	if t.IDPartLimit <= 0 {
		return defaultIDPartLimit
	}
	return t.IDPartLimit
}
