package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestHTTPStopSilentConnection: a connection that has sent nothing yet (as
// a client's spare keep-alive connection) does not hold a stop: net/http
// counts it busy for its first 5 s, and the stop closes it after
// httpStopTimeout instead of waiting for that.
func TestHTTPStopSilentConnection(t *testing.T) {
	h, err := newHTTPServer("127.0.0.1:0", 10, http.NotFoundHandler(), NewMetrics("test"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	c, err := net.Dial("tcp", h.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		h.ln.mu.Lock()
		n := len(h.ln.conns)
		h.ln.mu.Unlock()
		if n == 1 {
			break // the server has it
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not accept the connection")
		}
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if took := time.Since(start); err != nil || took > 3*time.Second {
			t.Errorf("stopped after %v with %v; want within 3s (net/http alone waits 5 s)", took, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the HTTP server did not stop")
	}
}
