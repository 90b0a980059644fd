// Package sftpserver is leverance's built-in SFTP server: it serves each
// vendor's local outbox (as "/"; list, read and delete, nothing else) over
// SSH with golang.org/x/crypto/ssh and pkg/sftp, and reports every
// download (Config.OnFetch) and delete (Config.OnRemove).
//
// It must not import leverance/compute or leverance/daemon; the daemon
// wires it (daemon/sftp.go). Design decisions, rules and limits:
// docs/transfer.md.
package sftpserver
