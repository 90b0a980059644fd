// Package transfer publishes files to vendors' outboxes: a local directory
// (served by the built-in SFTP server) or, later, a remote SFTP server.
//
// It moves bytes and knows nothing of the rules, the products or the
// schedule. A publication is two-phase so that the daemon can make it
// exactly-once across crashes: Stage writes the data under a hidden temporary
// name that a vendor never sees, the daemon records its intent, and Commit
// renames the file into place. Commit is idempotent: a temporary file that
// is gone was committed before.
package transfer
