// Package sftpserver is leverance's built-in SFTP server (SPEC §6.3): it
// serves each vendor's local outbox, read-only but for deletes, over SSH
// with golang.org/x/crypto/ssh and pkg/sftp's RequestServer.
//
// Use:
//
//	srv, err := sftpserver.New(sftpserver.Config{HostKeyPath: ..., Vendors: ..., OnFetch: ..., Log: ...})
//	ls, err := sftpserver.Listeners()        // systemd socket activation, or
//	l, err := net.Listen("tcp", "127.0.0.1:2222")
//	err = srv.Serve(ctx, l)                   // returns when ctx is done
//	p, err := sftpserver.PrepareVendors(vs)   // on reload: check everything first,
//	srv.ApplyVendors(p)                       // then apply (closes removed keys' connections)
//	sftpserver.CheckAuthorizedKeys(vs)        // check-config
//
// Rules and why:
//   - The SSH user name is the vendor's name; only public keys from the
//     vendor's authorized_keys file (read again at every authentication, so
//     an edited file takes effect without a reload) log in. No password,
//     keyboard-interactive or GSSAPI callback is set, so x/crypto never
//     offers those methods. authorized_keys is read as sshd reads it
//     (authkeys.go): from= and expiry-time= are enforced, restrict and
//     no-* accepted, command=, cert-authority and unknown options refuse
//     their line, RSA under 2048 bits is refused, and a file or directory
//     writable by group or others is refused whole (StrictModes).
//     PrepareVendors and ApplyVendors are the two halves of a reload;
//     applying closes the connections of removed keys.
//   - Only "session" channels with the "sftp" subsystem; exec, shell,
//     pty-req, env, X11, agent forwarding, direct-tcpip and tcpip-forward
//     are refused: quietly (DEBUG; the first exec/shell/pty refusal of a
//     connection at INFO), since clients probe. A session ends as with
//     sshd: exit-status 0, EOF, close (OpenSSH scp exits 1 without the
//     exit-status). statvfs@openssh.com is answered for the outbox.
//   - Algorithms: a Profile (modern, compatible — the default — or
//     legacy; algorithms.go lists them). Three host keys (ed25519, ECDSA
//     nistp256, RSA 3072) are created at first start; each profile serves
//     those it names, with the signature algorithms it names. Strict kex
//     is always on (x/crypto). chacha20-poly1305 is offered last by
//     compatible, but x/crypto has no amd64 assembly for it (~0.38 GB/s
//     against ~3.2 GB/s per core for AES-GCM) and an OpenSSH client's
//     preference, which wins, puts it first: such downloads run at about
//     half speed. A refused handshake is logged once at INFO with its
//     reason (handshake.go).
//   - Each vendor sees its outbox as "/". Every path is resolved through an
//     os.Root opened on the outbox, so "..", absolute paths and symlinks
//     cannot leave it (no string prefix checks). Names starting with a dot
//     — the temporary names of a publication (transfer.IsTemporary) and
//     other hidden files — are neither listed nor opened.
//   - Vendors may list and stat, read and delete regular files. Uploads,
//     rename, mkdir, rmdir, symlink, link, setstat and readlink are refused
//     with SSH_FX_PERMISSION_DENIED. Only regular files and real
//     directories exist for a vendor (files.go): symlinks are never
//     followed, not even inside the outbox, and FIFOs, sockets and devices
//     are neither listed nor opened (checked with lstat before the open,
//     opened O_NONBLOCK and checked again with fstat, so a FIFO swapped in
//     cannot block a session). No error text sent to a client names a
//     server path: every error becomes a status code with a fixed text.
//   - Fetches (fetch.go): the server records the byte ranges it served of
//     each file version (device, inode, size, mtime) per vendor, in an
//     interval set (ranges.go) whose cost is amortised O(log n) per read,
//     whatever the order; no file data is buffered. When the ranges cover
//     the file and the connection has closed its handles on it, the file
//     is hashed from disk in the background (two at a time; Serve waits
//     for them) and one complete Fetch reported; a connection that ends
//     before reports one incomplete Fetch per file with the bytes covered.
//     Ranges outlive the connection (up to 4096 file versions, least
//     recently used forgotten first), so a download resumed on a new
//     connection completes; a file opened and closed without a read is not
//     reported. So: one report per vendor, file and connection, however
//     many handles and offsets.
//   - Limits (limits.go, all in Config.Limits): MaxConns in total,
//     unauthenticated connections with OpenSSH's MaxStartups random early
//     drop (10:30:60), per source address at most 8 unauthenticated, 16
//     connections in all and 60 new ones a minute, LoginGraceTime 20s
//     from accept to authentication; a newcomer that a startups limit would
//     refuse takes the slot of the oldest unauthenticated connection that
//     has waited over a second (idle and slowloris connections cannot keep
//     vendors out); MaxConnsPerVendor (refused after authentication:
//     channel opens are rejected with "resource shortage" and the
//     connection closed), MaxAuthTries, four sessions per connection; per
//     connection 256 open file and directory handles, 256 SFTP requests in
//     flight per session (the server stops reading beyond them) and a
//     16 MiB memory budget for range bookkeeping and directory listings.
//     IdleTimeout: a connection on which no byte moved for that long is
//     closed (a deadline on the net.Conn pushed on by activity). A limit
//     hit is counted through Limits.OnHit each time and logged once per
//     connection (refused connections: once per limit every 10s, with the
//     number left unlogged).
//   - One goroutine per connection; a panic in a connection, a session or
//     a file handler is recovered and logged, and the server goes on
//     serving the others. Logs carry vendor, file names and addresses,
//     never file contents (file names hold no CPR numbers).
//   - Throughput: pkg/sftp's server does not advertise limits@openssh.com,
//     so OpenSSH clients fall back to 32 KiB reads against it. A small shim
//     between the channel and the RequestServer adds the extension to the
//     VERSION packet and answers the limits request itself (reads up to
//     255 KiB, as OpenSSH's sftp-server); the RequestServer then sends up to
//     that much per reply (WithRSMaxTxPacket). Config.NoLargeReads turns it
//     off. Files are served through *os.File.ReadAt into buffers that
//     pkg/sftp's allocator (WithRSAllocator) reuses within a session, so a
//     download does not allocate, zero and collect 255 KiB per request.
//     x/crypto writes each 32 KiB SSH packet with its own system call; a
//     batching writer under it (writebatch.go) sends what piled up during
//     one write in the next, as sshd's output buffer does. Nothing on the
//     read path hashes: the fetched file is hashed once, after the
//     download, from disk (fetch.go).
//
// The package depends on transfer's vocabulary only in spirit (dot-names
// are hidden), not on compute or daemon.
package sftpserver
