package extract

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"leverance/compute"
	"leverance/synth"
)

// TestComputeRuns: a shuffled extract is computed again buffered through
// scratch files on disk, one with a tolerated repeated id again without the
// repeat; each new pass is announced by Output.Discard; the results are
// those of the same bytes computed in memory; the raw file's hash is that of
// its bytes.
func TestComputeRuns(t *testing.T) {
	asOf := compute.MkDate(2016, 1, 24)
	var sorted, shuffled bytes.Buffer
	opt := synth.Options{Citizens: 500, Seed: 2, AsOf: asOf}
	if err := synth.Generate(&sorted, opt); err != nil {
		t.Fatal(err)
	}
	opt.Shuffle = true
	if err := synth.Generate(&shuffled, opt); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(sorted.String(), "\n")
	firstID := strings.SplitN(lines[1], ";", 2)[0]
	lines[300] = firstID + lines[300][strings.Index(lines[300], ";"):]
	repeated := strings.Join(lines, "")

	vendors := []compute.Vendor{{Name: "alle", All: true, Products: compute.Products()}}
	cal := compute.NewCalendar(nil, nil)
	for _, c := range []struct {
		name      string
		data      string
		tolerance int
		runs      int
	}{
		{"sorted", sorted.String(), 0, 1},
		{"shuffled", shuffled.String(), 0, 2},
		// Hashes, then the rows with the suspect id, then without the repeat.
		{"repeated id, tolerated", repeated, 1, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "registreringer_20160124.csv")
			if err := os.WriteFile(path, []byte(c.data), 0o600); err != nil {
				t.Fatal(err)
			}
			scratch := t.TempDir()
			job := compute.Job{Calendar: cal, Vendors: vendors, Reader: compute.ReaderOptions{MaxRejectedRows: c.tolerance}}
			out := &memOutput{files: map[string]*bytes.Buffer{}}
			res, err := ComputeWith(path, job, out, Options{TempDir: scratch})
			if err != nil {
				t.Fatal(err)
			}
			if res.Passes != c.runs || out.discards != c.runs-1 {
				t.Errorf("%d passes, %d discards; want %d passes", res.Passes, out.discards, c.runs)
			}
			files := out.files
			sum := sha256.Sum256([]byte(c.data))
			if res.SHA256 != hex.EncodeToString(sum[:]) || res.Size != int64(len(c.data)) {
				t.Errorf("SHA256 %s size %d, want the file's", res.SHA256, res.Size)
			}
			if left, _ := os.ReadDir(scratch); len(left) > 0 {
				t.Errorf("scratch files left: %v", left)
			}

			// The same bytes from memory, buffered from the start (compute's
			// own tests compare that with the reference).
			ref := job
			ref.AsOf, ref.Buffered = asOf, true
			want := &memOutput{files: map[string]*bytes.Buffer{}}
			_, err = compute.Compute(func() (io.Reader, error) { return strings.NewReader(c.data), nil }, ref, want)
			if err != nil {
				t.Fatal(err)
			}
			if len(want.files) != len(files) {
				t.Fatalf("%d files, reference %d", len(files), len(want.files))
			}
			for name, b := range want.files {
				if !bytes.Equal(b.Bytes(), files[name].Bytes()) {
					t.Errorf("%s differs from the reference's", name)
				}
			}
			if c.tolerance > 0 && res.Report.InvalidRows != 1 {
				t.Errorf("report %+v: want the repeated id as the one invalid row", res.Report)
			}
		})
	}
}

// memOutput keeps the product files in memory and counts the discards.
type memOutput struct {
	files    map[string]*bytes.Buffer
	discards int
}

func (m *memOutput) Create(_ string, _ compute.Product, name string) (io.Writer, error) {
	b := &bytes.Buffer{}
	m.files[name] = b
	return b, nil
}

func (m *memOutput) Discard() {
	m.files = map[string]*bytes.Buffer{}
	m.discards++
}
