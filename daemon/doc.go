// Package daemon is the long-running leverance service (SPEC §1.1, §1.4, §5,
// §6.4–§6.6, §9): it watches the inbox, accepts or quarantines extracts,
// computes and stages the products, publishes each (product, delivery day,
// vendor) exactly once on its window to the vendor's outbox, and removes
// what retention says. It is the only package that wires compute, transfer
// and the receipts together.
//
// The Engine holds the logic and takes the time from an injected Clock, so
// that tests drive whole days without sleeping; Run adds the event loop
// (fsnotify, timers, signals, sd_notify) around it.
package daemon
