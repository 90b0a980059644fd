// Package transfer publishes files to vendors' outboxes: a local directory
// (Local, served to vendors by the built-in SFTP server in sftpserver) or a
// directory on a remote SFTP server (SFTP).
//
// It moves bytes and knows nothing of the rules, the products or the
// schedule; it must not import leverance/compute or leverance/daemon (an
// architecture test enforces it). A publication is two-phase so that the
// daemon can make it exactly-once across crashes: Stage writes the data
// under a hidden temporary name (TempName: ".<name>.<random>.partial") that
// a vendor never sees, the daemon records its intent, and Commit renames
// the file into place. Commit is idempotent: a temporary file that is gone
// was committed before.
//
// # SFTP push (SPEC §6.2)
//
//	ob, err := transfer.NewSFTP(transfer.SFTPConfig{Address: "host:22", User: "leverance",
//		IdentityFile: "/etc/leverance/id_ed25519", KnownHostsFile: "/etc/leverance/known_hosts",
//		Directory: "/in"})
//	tmp, err := ob.Stage(ctx, name, file) // file: an *os.File, for concurrent writes
//	err = ob.Commit(ctx, tmp, name)
//	ob.Close()                            // after the publication; the next call reconnects
//	transfer.Class(err), transfer.Permanent(err)
//
// Decisions:
//   - Keys: ed25519 or RSA of at least 3072 bits, without a passphrase;
//     anything else is refused by NewSFTP with class "auth".
//   - Host keys: strictly from known_hosts (read again at each connect), via
//     x/crypto's knownhosts. An unknown host is an error before any
//     authentication, never trust-on-first-use; a changed key is an error
//     that says so. HostKeyAlgorithms is set from the key types recorded for
//     the host (knownhosts reports a mismatch when the server offers another
//     type first); the recorded types are found by asking the callback about
//     a throw-away key, whose KeyError lists them.
//   - Algorithms: KEX mlkem768x25519-sha256 first, then curve25519 and
//     ECDH/DH-group14/16 for older servers; ciphers AES-GCM first (assembly;
//     chacha20-poly1305 in x/crypto has none on amd64), then chacha20, then
//     AES-CTR with ETM MACs.
//   - Stage opens the temporary file with O_EXCL, copies with
//     ReadFromWithConcurrency (up to Concurrency=64 requests in flight, so a
//     reader without a size still goes concurrently), fsyncs where the server
//     offers fsync@openssh.com, closes, then compares the remote size with
//     the bytes read: pkg/sftp v1.13 can drop the error of a short last
//     write, so the copy's error is never trusted alone. A SHA-256 check
//     through a server hash extension ("check-file") is NOT done: pkg/sftp
//     has no way to send such a request and OpenSSH does not offer it, so
//     the check is by size only. On any error the temporary file is removed
//     on the same connection when it still works, else on the next
//     connection of the same SFTP value (a process restart forgets it; the
//     hidden name stays invisible to vendors).
//   - Packet size: 32 KiB, or what the server reports through
//     limits@openssh.com (OpenSSH ≥ 8.6: 255 KiB). pkg/sftp does not ask, so
//     a small SFTP session of our own asks at connect (it also reads the
//     extension list). SFTPConfig.MaxPacket forces a size.
//   - Deadlines: a watchdog on the connection fails any operation during
//     which no byte moved for Timeout (so a 1 GiB file on a slow link is not
//     cut, a stalled one fails within Timeout, wrapping ErrTimeout), and the
//     context cancels an operation at once. Keepalives
//     (keepalive@openssh.com every KeepAlive) are operations too, so a dead
//     idle connection is found and replaced.
//   - Connection: opened on first use, shared by concurrent calls, reused
//     until Close or a network failure; the next call reconnects.
//   - Error classes (Class): "auth", "hostkey", "permission" (also a remote
//     directory that is missing), "exists", "remote-full", "network",
//     "local" (reading the source, a bad name, a cancelled context).
//     Permanent: auth, hostkey, permission, exists. OpenSSH reports a full
//     disk as a bare SSH_FX_FAILURE, like other faults, and pkg/sftp may drop
//     it; a failed or short upload is "remote-full" when the message names
//     space/quota or statvfs@openssh.com shows less than 1 MiB or less than
//     what was left to write, else "network". It is a best effort.
//   - Commit: stat the final name; posix-rename only when it is absent
//     (see Commit for the idempotent cases). OpenSSH has no directory fsync,
//     so the rename's durability is the server's.
//
// The conformance suite in transfer/outboxtest runs against Local and
// against SFTP on a real OpenSSH sshd (internal-sftp and sftp-server).
package transfer
