package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"leverance/status"
)

// Status derives the public status from the receipts log and the clock. It
// reads the configuration in force and the receipts index, never waiting
// for a publication or an extract in progress; its cost does not grow with
// the log (only the records appended since the last call are read).
func (e *Engine) Status() (*status.Status, error) {
	v := e.view.Load()
	e.statusMu.Lock()
	defer e.statusMu.Unlock()
	recs, err := e.newRecords()
	for _, r := range recs {
		e.status.Add(r)
	}
	if err != nil {
		return nil, err
	}
	// Now in the schedule's zone, as the publication times: the page shows
	// its time of computation beside them.
	st := status.Compute(status.Input{Index: e.status, Schedule: v.sched, Vendors: v.vendors, Now: e.clock.Now().In(v.sched.Loc)})
	if e.role != nil {
		st.Node, st.Role = e.role.node, e.role.name()
	}
	e.updateSlotGauge(st)
	e.metrics.ReceiptsRecords.Set(float64(e.status.Len())) // also right after a restart
	return st, nil
}

// refreshMetrics brings the metrics that are derived rather than counted up
// to date before a scrape: the series of the configured vendors (Known) and,
// from the receipts log, the slot states and the log's size.
func (e *Engine) refreshMetrics() {
	e.metrics.Known(e.Config().Vendor)
	if _, err := e.Status(); err != nil {
		e.log.Warn("metrics: status not derived from the receipts log", "err", err)
	}
}

// updateSlotGauge sets the slot gauge from st. It counts first and then
// sets, so that two requests deriving the status at once cannot add up.
func (e *Engine) updateSlotGauge(st *status.Status) {
	type key struct{ product, state string }
	n := map[key]int{}
	for _, p := range st.Products {
		for _, s := range p.Slots {
			n[key{p.Product, s.State}]++
		}
	}
	e.metrics.Slots.Reset()
	for k, c := range n {
		e.metrics.Slots.WithLabelValues(k.product, k.state).Set(float64(c))
	}
}

// Handler serves the status page, /status.json, /metrics, /healthz and
// /readyz (docs/status.md).
func (e *Engine) Handler(ready *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		st, err := e.Status()
		if err != nil {
			http.Error(w, "status unavailable: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		st.WriteHTML(w, 60)
	})
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, r *http.Request) {
		st, err := e.Status()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		enc.Encode(st)
	})
	metrics := promhttp.HandlerFor(e.metrics.Registry, promhttp.HandlerOpts{})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		e.refreshMetrics()
		metrics.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ready == nil || !ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	return mux
}

// HTTP timeouts: the status port may face the public network.
const (
	httpHeaderTimeout  = 5 * time.Second
	httpIdleTimeout    = 30 * time.Second
	httpRequestTimeout = 10 * time.Second
	// httpStopTimeout is how long a stop lets requests in progress finish
	// (they read a snapshot: milliseconds) before it closes every
	// connection. It is short because net/http counts a connection that
	// has sent nothing yet as busy for its first 5 s, and a stop must not
	// wait for those (TestE2EStuckPush allows a stop 5 s in all).
	httpStopTimeout = 2 * time.Second
)

// httpServer serves the status page, /status.json, /metrics and the health
// checks: at most a configured number of connections at once, headers
// within 5 s, a response within 10 s, idle connections kept 30 s.
type httpServer struct {
	ln  *limitListener
	srv *http.Server
	log *slog.Logger
}

// newHTTPServer listens on addr.
func newHTTPServer(addr string, max int, h http.Handler, m *Metrics, log *slog.Logger) (*httpServer, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http listen %s: %w", addr, err)
	}
	ln := newLimitListener(l, max, func(reason string) { m.HTTPRejected.WithLabelValues(reason).Inc() })
	srv := &http.Server{
		Handler:           http.TimeoutHandler(h, httpRequestTimeout, "request timed out\n"),
		ReadHeaderTimeout: httpHeaderTimeout,
		ReadTimeout:       httpRequestTimeout,
		WriteTimeout:      httpRequestTimeout + 5*time.Second,
		IdleTimeout:       httpIdleTimeout,
		ConnState:         ln.track,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return &httpServer{ln: ln, srv: srv, log: log}, nil
}

// Addr is where the server listens.
func (h *httpServer) Addr() net.Addr { return h.ln.Addr() }

// Run serves until ctx is done, then lets requests in progress finish for
// up to 5 s.
func (h *httpServer) Run(ctx context.Context) error {
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), httpStopTimeout)
		defer cancel()
		if h.srv.Shutdown(sctx) != nil {
			h.srv.Close()
		}
	}()
	err := h.srv.Serve(h.ln)
	<-stopped
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("http server: %w", err)
}
