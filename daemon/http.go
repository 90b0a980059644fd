package daemon

import (
	"context"
	"encoding/json"
	"errors"
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
// /readyz (SPEC §8).
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

// serveHTTP serves the handler on addr until ctx is done.
func serveHTTP(ctx context.Context, addr string, h http.Handler, log *slog.Logger) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	return ln.Addr(), nil
}
