package sftpserver

import (
	"net"
	"sync"
	"time"
)

// batchConn gathers the SSH packets x/crypto writes one by one (a write
// system call per 32 KiB packet) and writes what piled up while the
// previous write was in the kernel in one call, as sshd does with its
// output buffer. A Write copies and returns; one goroutine per connection
// does the writing. At most maxBatch bytes wait; a writer that gets ahead
// waits. A write error is returned by the next Write.
type batchConn struct {
	net.Conn

	mu      sync.Mutex
	cond    *sync.Cond
	pending []byte
	spare   []byte
	writing bool
	err     error
	closed  bool
	done    chan struct{}
}

const maxBatch = 256 << 10

func newBatchConn(c net.Conn) *batchConn {
	b := &batchConn{Conn: c, done: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	go b.run()
	return b
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.pending) >= maxBatch && b.err == nil && !b.closed {
		b.cond.Wait()
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.closed {
		return 0, net.ErrClosed
	}
	b.pending = append(b.pending, p...)
	b.cond.Broadcast()
	return len(p), nil
}

func (b *batchConn) run() {
	defer close(b.done)
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		for len(b.pending) == 0 && !b.closed {
			b.cond.Wait()
		}
		if len(b.pending) == 0 {
			return
		}
		out := b.pending
		b.pending, b.spare = b.spare[:0], nil
		b.writing = true
		b.mu.Unlock()
		_, err := b.Conn.Write(out)
		b.mu.Lock()
		b.writing = false
		b.spare = out[:0]
		if err != nil && b.err == nil {
			b.err = err
		}
		b.cond.Broadcast()
		if b.err != nil {
			b.pending = nil
			return
		}
	}
}

// Close writes what is pending (the last exit-status and channel close
// among it), for at most two seconds, then closes the connection.
func (b *batchConn) Close() error {
	b.mu.Lock()
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
	b.Conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	<-b.done
	return b.Conn.Close()
}
