package config

import "path/filepath"

// Layout names every path below state_dir: the daemon and every command
// find their files through it, and docs/operations.md lists them.
type Layout struct {
	Dir string // state_dir
}

// Layout returns the layout of the configured state directory.
func (c *Config) Layout() Layout { return Layout{Dir: c.StateDir} }

func (l Layout) join(p ...string) string { return filepath.Join(append([]string{l.Dir}, p...)...) }

// Inbox is where extracts are dropped.
func (l Layout) Inbox() string { return l.join("inbox") }

// Archive keeps accepted extracts until retention_days.
func (l Layout) Archive() string { return l.join("archive") }

// Quarantine keeps rejected extracts with their reports.
func (l Layout) Quarantine() string { return l.join("quarantine") }

// Staging holds computed products waiting to be published, one directory
// per extract.
func (l Layout) Staging() string { return l.join("staging") }

// State holds the delivery state and the receipts witness.
func (l Layout) State() string { return l.join("state") }

// Deliveries is the delivery state file.
func (l Layout) Deliveries() string { return l.join("state", "deliveries.json") }

// ReceiptsWitness is the size and root of the receipts log as the daemon
// last saw it: a log that does not extend it was rewritten.
func (l Layout) ReceiptsWitness() string { return l.join("state", "receipts-witness.json") }

// Scratch holds compute's temporary files; it is emptied at every start.
func (l Layout) Scratch() string { return l.join("scratch") }

// Receipts is the receipts log's directory.
func (l Layout) Receipts() string { return l.join("receipts") }

// Keys holds the keys the daemon creates at first start.
func (l Layout) Keys() string { return l.join("keys") }

// ReceiptsKey is the receipts signing key created at first start.
func (l Layout) ReceiptsKey() string { return l.join("keys", "receipts.key") }

// ReceiptsPub is the receipts log's public key, for auditors.
func (l Layout) ReceiptsPub() string { return l.join("keys", "receipts.pub") }

// HostKey is the built-in SFTP server's host key of an algorithm
// ("ed25519", "ecdsa", "rsa"), named as OpenSSH names its own.
func (l Layout) HostKey(alg string) string { return l.join("keys", "ssh_host_"+alg+"_key") }

// Dirs are the directories the daemon creates at start.
func (l Layout) Dirs() []string {
	return []string{l.Inbox(), l.Archive(), l.Quarantine(), l.Staging(), l.State(), l.Scratch()}
}
