// Package transfer publishes files to vendors' outboxes: a local directory
// (Local) or a directory on a remote SFTP server (SFTP), in two phases —
// Stage under a hidden temporary name, Commit by rename — so that the
// daemon can make a publication exactly-once across crashes.
//
// It moves bytes and knows nothing of the rules, the products or the
// schedule: it must not import leverance/compute or leverance/daemon (an
// architecture test enforces it). Design decisions: docs/transfer.md.
package transfer
