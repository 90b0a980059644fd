// Package daemon is the long-running leverance service (docs/operations.md): it
// watches the inbox, accepts or quarantines extracts,
// computes and stages the products, publishes each (product, delivery day,
// vendor) exactly once on its window to the vendor's outbox, and removes
// what retention says. It is the only package that wires compute, transfer
// and the receipts together.
//
// The Engine holds the logic and takes the time from an injected Clock, so
// that tests drive whole days without sleeping. Run builds the components
// around it — intake (inbox events and rescans, one computing worker),
// scheduler (publication rounds and retention), the HTTP status server, the
// built-in SFTP server and the supervisor (sd_notify, watchdog, reload) — and
// runs them under one context: a stop cancels it, and it reaches every
// outbox operation. No lock is held across an outbox operation or a
// computation (Engine.unlocked); the status reads the configuration in force
// and a receipts index, never the engine's lock.
package daemon
