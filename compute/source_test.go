package compute

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// SourceOf is a Source of an extract in memory.
func SourceOf(data []byte) Source {
	return func() (io.Reader, error) { return bytes.NewReader(data), nil }
}

// SourceOfString is a Source of an extract in memory.
func SourceOfString(s string) Source {
	return func() (io.Reader, error) { return strings.NewReader(s), nil }
}

// Files is an Output that keeps the product files in memory, by
// vendor/name; Discard empties it.
type Files map[string]*bytes.Buffer

// Create is Output.Create.
func (fs Files) Create(vendor string, _ Product, name string) (io.Writer, error) {
	key := vendor + "/" + name
	if fs[key] != nil {
		return nil, fmt.Errorf("%s opened twice", key)
	}
	b := &bytes.Buffer{}
	fs[key] = b
	return b, nil
}

// Discard is Output.Discard.
func (fs Files) Discard() { clear(fs) }
