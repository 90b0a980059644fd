package sftpserver

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
)

// Everything written arrives, in order, and Close writes what is pending
// before closing.
func TestBatchConnDeliversInOrder(t *testing.T) {
	a, b := net.Pipe()
	bc := newBatchConn(a)
	var want bytes.Buffer
	got := make(chan []byte)
	go func() {
		d, _ := io.ReadAll(b)
		got <- d
	}()
	for i := 0; i < 5000; i++ {
		p := []byte(fmt.Sprintf("packet %d;", i))
		want.Write(p)
		if _, err := bc.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	bc.Close()
	if d := <-got; !bytes.Equal(d, want.Bytes()) {
		t.Fatalf("got %d bytes, want %d", len(d), want.Len())
	}
}

// A peer that went away makes a later Write fail.
func TestBatchConnReportsErrors(t *testing.T) {
	a, b := net.Pipe()
	bc := newBatchConn(a)
	defer bc.Close()
	b.Close()
	// Past maxBatch a Write waits for the writer, which fails.
	chunk := make([]byte, 64<<10)
	for i := 0; i < 2*maxBatch/len(chunk)+1; i++ {
		if _, err := bc.Write(chunk); err != nil {
			return
		}
	}
	t.Fatal("writes to a closed peer beyond the batch limit succeeded")
}
