// Package receipt defines the records of leverance's receipts log (docs/audit.md):
// every accepted or rejected extract, computed product, publication, missed
// slot, download, operator action and removal. No record holds a CPR number.
package receipt

import (
	"context"
	"log/slog"
	"time"
)

// Events of docs/audit.md#records.
const (
	Modtaget  = "modtaget"  // an extract was accepted
	Afvist    = "afvist"    // an extract was rejected
	Beregnet  = "beregnet"  // a product file was computed
	Leveret   = "leveret"   // a file was published
	Udeladt   = "udeladt"   // a slot passed its cutoff undelivered
	Hentet    = "hentet"    // a vendor downloaded a file from the built-in server
	Fejl      = "fejl"      // a publication attempt failed
	Operatoer = "operatoer" // an operator action
	Slettet   = "slettet"   // retention removed a file, or a vendor deleted one (Reason "vendor")
	// Startet is the log's first record, written when the service starts
	// for the first time on a state directory: the status counts delivery
	// days from its day on.
	Startet = "startet"
)

// Record is one receipt. Fields that do not belong to the event are empty
// and left out of the JSON.
type Record struct {
	Seq   int64     `json:"seq"`
	Time  time.Time `json:"time"`
	Event string    `json:"event"`

	File        string `json:"file,omitempty"`
	AsOf        string `json:"as_of,omitempty"`
	Revision    int    `json:"revision,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	Size        int64  `json:"size,omitempty"`
	Rows        int    `json:"rows,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Problems    int    `json:"problems,omitempty"`
	Product     string `json:"product,omitempty"`
	Day         string `json:"day,omitempty"` // delivery day YYYY-MM-DD
	Vendor      string `json:"vendor,omitempty"`
	InputSHA256 string `json:"input_sha256,omitempty"`
	Basis       string `json:"basis,omitempty"` // daglige-beskeder: the extract compared with (YYYYMMDD_rN)
	// BasisUnavailable: daglige-beskeder computed as a first delivery
	// because the snapshot of this basis (YYYYMMDD_rN) could not be loaded.
	BasisUnavailable string `json:"basis_unavailable,omitempty"`
	Input            string `json:"input,omitempty"` // the extract computed from (YYYYMMDD_rN)
	Version          string `json:"program_version,omitempty"`
	Outbox           *Place `json:"outbox,omitempty"`
	Attempts         int    `json:"attempts,omitempty"`
	Window           *Win   `json:"window,omitempty"`
	Outcome          string `json:"outcome,omitempty"`
	ErrorClass       string `json:"error_class,omitempty"`
	Message          string `json:"message,omitempty"`
	Bytes            int64  `json:"bytes,omitempty"`
	Complete         *bool  `json:"complete,omitempty"`
	Action           string `json:"action,omitempty"`
	User             string `json:"user,omitempty"`
	Target           string `json:"target,omitempty"`
	Refers           int64  `json:"refers,omitempty"` // seq of an earlier record this one follows up
	Path             string `json:"path,omitempty"`
	// Node is the cluster node that wrote the record ([cluster] node;
	// absent for a daemon without [cluster]).
	Node string `json:"node,omitempty"`
}

// Place is where a file was published.
type Place struct {
	Kind    string `json:"kind"`
	Host    string `json:"host,omitempty"`
	HostKey string `json:"host_key,omitempty"`
	Path    string `json:"path"`
}

// Win is a slot's window.
type Win struct {
	Release  time.Time  `json:"release"`
	Deadline time.Time  `json:"deadline"`
	Cutoff   *time.Time `json:"cutoff,omitempty"`
}

// Sink takes records. Append must make the record durable before it
// returns and fills in its Seq.
type Sink interface {
	Append(ctx context.Context, r *Record) error
}

// LogSink writes records to a logger only: for commands and tests that do
// not keep a receipts log.
type LogSink struct {
	Log *slog.Logger
	seq int64
}

// Append implements Sink.
func (l *LogSink) Append(ctx context.Context, r *Record) error {
	l.seq++
	r.Seq = l.seq
	attrs := []any{"seq", r.Seq, "event", r.Event}
	for _, kv := range [...][2]string{{"file", r.File}, {"product", r.Product}, {"day", r.Day}, {"vendor", r.Vendor}, {"outcome", r.Outcome}, {"reason", r.Reason}} {
		if kv[1] != "" {
			attrs = append(attrs, kv[0], kv[1])
		}
	}
	l.Log.Info("receipt", attrs...)
	return nil
}
