package compute

import (
	"compress/gzip"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// ExtractName is what an extract's file name says (SPEC §1.1).
type ExtractName struct {
	AsOf     Date // the as-of date A
	Revision int  // 1 without a _N suffix
	Gzip     bool
}

var extractRE = regexp.MustCompile(`^registreringer_(\d{8})(?:_(\d{1,4}))?\.csv(\.gz)?$`)

// ParseExtractName parses registreringer_YYYYMMDD[_N].csv[.gz]. ok is false
// for any other name, including temporary ones.
func ParseExtractName(name string) (n ExtractName, ok bool) {
	m := extractRE.FindStringSubmatch(name)
	if m == nil {
		return n, false
	}
	d, ok := ParseCompactDate(m[1])
	if !ok {
		return n, false
	}
	n = ExtractName{AsOf: d, Revision: 1, Gzip: m[3] != ""}
	if m[2] != "" {
		r, _ := strconv.Atoi(m[2])
		if r < 2 {
			return n, false
		}
		n.Revision = r
	}
	return n, true
}

// IsTemporaryName reports whether a writer is still writing the file: its
// name starts with "." or ends in .tmp, .part or .partial (SPEC §1.1).
func IsTemporaryName(name string) bool {
	if strings.HasPrefix(name, ".") {
		return true
	}
	for _, s := range []string{".tmp", ".part", ".partial"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// DefaultMaxDecompressed bounds what a gzipped extract may expand to, so a
// zip bomb is rejected instead of filling the machine's time. A national
// extract is about 2 GB.
const DefaultMaxDecompressed = 16 << 30

// LimitError is returned by a reader from Decompress that went past its limit.
type LimitError struct{ Limit int64 }

func (e *LimitError) Error() string {
	return fmt.Sprintf("decompressed data exceeds the limit of %d bytes", e.Limit)
}

// Decompress returns r itself, or a gzip reader over it when gz is set. A
// gzip stream that expands past limit bytes (0: DefaultMaxDecompressed) reads
// as a *LimitError; a corrupt one as an error naming gzip.
func Decompress(r io.Reader, gz bool, limit int64) (io.Reader, error) {
	if !gz {
		return r, nil
	}
	if limit <= 0 {
		limit = DefaultMaxDecompressed
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("gzip stream: %w", err)
	}
	return &limitReader{r: gzipErrReader{zr}, left: limit, limit: limit}, nil
}

type gzipErrReader struct{ r io.Reader }

func (g gzipErrReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("gzip stream: %w", err)
	}
	return n, err
}

type limitReader struct {
	r           io.Reader
	left, limit int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a stream that ends exactly at the limit from one
		// that goes on.
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, &LimitError{Limit: l.limit}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
