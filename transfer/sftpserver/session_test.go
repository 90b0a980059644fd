package sftpserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sessionPair is a session channel over a loopback connection: the
// server's side and the client's.
func sessionPair(t *testing.T) (srv, cli ssh.Channel) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // (net.Pipe deadlocks the handshake: both sides write first)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(signer)
	got := make(chan ssh.Channel, 1)
	go func() {
		a, err := ln.Accept()
		if err != nil {
			close(got)
			return
		}
		t.Cleanup(func() { a.Close() })
		_, chans, reqs, err := ssh.NewServerConn(a, cfg)
		if err != nil {
			close(got)
			return
		}
		go ssh.DiscardRequests(reqs)
		for nc := range chans {
			ch, creqs, err := nc.Accept()
			if err == nil {
				go ssh.DiscardRequests(creqs)
				got <- ch
			}
		}
	}()
	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	conn, chans, reqs, err := ssh.NewClientConn(b, "pipe", &ssh.ClientConfig{HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	client := ssh.NewClient(conn, chans, reqs)
	cli, creqs, err := client.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	go ssh.DiscardRequests(creqs)
	srv, ok := <-got
	if !ok {
		t.Fatal("no server channel")
	}
	return srv, cli
}

// writeUntilError writes to h until a write fails, counting the bytes
// written in n, and sends the error to done.
func writeUntilError(h *halfCloser, n *atomic.Int64, done chan<- error) {
	buf := make([]byte, 4096)
	for {
		k, err := h.Write(buf)
		n.Add(int64(k))
		if err != nil {
			done <- err
			return
		}
	}
}

// TestHalfCloserEndDuringWrites: a session ended while pkg/sftp still
// writes (its packet manager may send a last packet after Serve returned)
// is no data race (x/crypto's CloseWrite and Write share a field without a
// lock; run with -race) and the writes then fail.
func TestHalfCloserEndDuringWrites(t *testing.T) {
	srv, cli := sessionPair(t)
	go io.Copy(io.Discard, cli)
	h := newHalfCloser(srv)
	done := make(chan error, 1)
	var n atomic.Int64
	go writeUntilError(h, &n, done)
	h.end()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a write went on after the session ended")
	}
}

// TestHalfCloserEndWithBlockedWrite: with a write blocked on a client that
// reads no more, end gives up on exit-status after endWait and closes the
// channel, which ends the write.
func TestHalfCloserEndWithBlockedWrite(t *testing.T) {
	srv, _ := sessionPair(t) // the client reads nothing: its window fills
	h := newHalfCloser(srv)
	done := make(chan error, 1)
	var n atomic.Int64
	go writeUntilError(h, &n, done)
	// The client's window (2 MiB in x/crypto) fills: the next write blocks.
	for deadline := time.Now().Add(10 * time.Second); n.Load() < 2<<20-4096; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d bytes written", n.Load())
		}
	}
	start := time.Now()
	h.end()
	if took := time.Since(start); took < endWait/2 || took > endWait+2*time.Second {
		t.Errorf("end took %v; want about %v (it waits for the blocked write, then closes)", took, endWait)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the blocked write did not end with the channel")
	}
}
