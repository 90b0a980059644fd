// Command benchfloor measures the physical floor that the compute benchmark
// (scripts/bench-compute.sh, docs/performance.md) compares leverance with:
// the simplest fast Go loop that reads an extract and splits every line into
// its fields, without validating anything, and the reference times of
// decompressing and hashing it.
//
//	go run ./internal/benchfloor split FILE    read with bufio, split lines and fields with bytes.IndexByte
//	go run ./internal/benchfloor gunzip FILE   decompress with compress/gzip to nowhere
//	go run ./internal/benchfloor kgunzip FILE  the same with github.com/klauspost/compress/gzip (what compute uses)
//	go run ./internal/benchfloor sha256 FILE   SHA-256 of the raw file (what the daemon records)
//
// It prints what it counted, so that the work cannot be optimised away.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"

	kgzip "github.com/klauspost/compress/gzip"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: benchfloor split|gunzip|kgunzip|sha256 FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	switch os.Args[1] {
	case "split":
		err = split(f)
	case "gunzip":
		err = gunzip(f, false)
	case "kgunzip":
		err = gunzip(f, true)
	case "sha256":
		h := sha256.New()
		if _, err = io.CopyBuffer(h, f, make([]byte, 1<<20)); err == nil {
			fmt.Printf("%x\n", h.Sum(nil))
		}
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// split is the floor: every line, every field, nothing checked.
func split(r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<20)
	lines, fields, bytesInFields := 0, 0, 0
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			lines++
			line = bytes.TrimSuffix(line, []byte{'\n'})
			for {
				i := bytes.IndexByte(line, ';')
				if i < 0 {
					break
				}
				fields++
				bytesInFields += i
				line = line[i+1:]
			}
			fields++
			bytesInFields += len(line)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	fmt.Printf("%d lines, %d fields, %d bytes in fields\n", lines, fields, bytesInFields)
	return nil
}

func gunzip(r io.Reader, klauspost bool) error {
	var zr io.Reader
	var err error
	if klauspost {
		zr, err = kgzip.NewReader(bufio.NewReaderSize(r, 1<<20))
	} else {
		zr, err = gzip.NewReader(bufio.NewReaderSize(r, 1<<20))
	}
	if err != nil {
		return err
	}
	n, err := io.CopyBuffer(io.Discard, zr, make([]byte, 1<<20))
	fmt.Printf("%d bytes\n", n)
	return err
}
