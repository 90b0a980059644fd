package sftpserver_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"leverance/internal/sshdtest"
	"leverance/transfer/sftpserver"
)

// BenchmarkServe: OpenSSH's sftp client downloads (get to /dev/null) from
// the built-in server and from OpenSSH's sshd (internal-sftp, which is
// sftp-server's code inside sshd), with 1 client fetching one file and 8
// clients fetching 8 files of an eighth each at once. 64 MiB in total, or
// 1 GiB with LEVERANCE_BENCH_BIG=1. scripts/bench-sftp.sh prints ratios.
func BenchmarkServe(b *testing.B) {
	total := int64(64 << 20)
	if os.Getenv("LEVERANCE_BENCH_BIG") != "" {
		total = 1 << 30
	}
	dir := sshdtest.Dir(b)
	keyFile := filepath.Join(sshdtest.Dir(b), "id")
	signer := sshdtest.Ed25519Key(b, keyFile)
	os.Chmod(filepath.Dir(keyFile), 0o755)
	sshdtest.WriteRandom(b, filepath.Join(dir, "one.bin"), total)
	for i := 0; i < 8; i++ {
		sshdtest.WriteRandom(b, filepath.Join(dir, fmt.Sprintf("part%d.bin", i)), total/8)
	}

	// The built-in server.
	srv, err := sftpserver.New(sftpserver.Config{HostKeyPath: filepath.Join(sshdtest.Dir(b), "hk"),
		Vendors: []sftpserver.Vendor{{Name: "bench", Dir: dir, AuthorizedKeysFile: keyFile + ".pub"}},
		Log:     slog.New(slog.DiscardHandler), MaxConnsPerVendor: 16})
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Serve(ctx, l)
	khBuiltin := filepath.Join(sshdtest.Dir(b), "known_hosts")
	sshdtest.WriteKnownHosts(b, khBuiltin, l.Addr().String(), srv.HostKeys()...)
	_, builtinPort, _ := net.SplitHostPort(l.Addr().String())

	// OpenSSH.
	sshd := sshdtest.Start(b, sshdtest.Options{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	khSshd := filepath.Join(sshdtest.Dir(b), "known_hosts")
	sshdtest.WriteKnownHosts(b, khSshd, sshd.Addr, sshd.HostKeys...)

	type target struct {
		name, user, port, kh, prefix string
	}
	targets := []target{
		{"openssh", sshd.User, fmt.Sprint(sshd.Port), khSshd, dir + "/"},
		{"leverance", "bench", builtinPort, khBuiltin, ""},
	}
	for _, clients := range []int{1, 8} {
		for _, tg := range targets {
			b.Run(fmt.Sprintf("clients-%d/%s", clients, tg.name), func(b *testing.B) {
				b.SetBytes(total)
				for i := 0; i < b.N; i++ {
					var wg sync.WaitGroup
					for c := 0; c < clients; c++ {
						file := "one.bin"
						if clients > 1 {
							file = fmt.Sprintf("part%d.bin", c)
						}
						wg.Add(1)
						go func() {
							defer wg.Done()
							get(b, keyFile, tg.user, tg.port, tg.kh, tg.prefix+file)
						}()
					}
					wg.Wait()
				}
			})
		}
	}
}

func get(b *testing.B, key, user, port, kh, file string) {
	bin := sshdtest.RequireTool(b, "sftp")
	cmd := exec.Command(bin, "-F", "/dev/null", "-b", "-", "-i", key, "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile="+kh, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		"-P", port, user+"@127.0.0.1")
	cmd.Stdin = strings.NewReader("get " + file + " /dev/null\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Errorf("sftp get: %v\n%s", err, out)
	}
}
