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
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"leverance/internal/sshdtest"
	"leverance/transfer/sftpserver"
)

// BenchmarkServe: OpenSSH's sftp client downloads (get to /dev/null) from
// the built-in server (default configuration) and from OpenSSH's sshd
// (internal-sftp, which is sftp-server's code inside sshd), with 1 client
// fetching one file and 8 clients fetching 8 files of an eighth each at
// once, with aes128-gcm and with aes128-ctr + hmac-sha2-256-etm (the
// client's -c/-m; its default would pick chacha20-poly1305, which Go has
// no assembly for). 64 MiB in total, or 1 GiB with LEVERANCE_BENCH_BIG=1.
// scripts/bench-sftp.sh prints ratios.
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

	// The built-in server. Its fetch reports (the file hashed from disk
	// after the download) are waited for outside the timed part, so that
	// one round's hashing does not slow the next; the server's CPU time,
	// hashing included, is reported as cpu-s/GiB.
	fetched := make(chan struct{}, 16)
	srv, err := sftpserver.New(sftpserver.Config{HostKeyPath: filepath.Join(sshdtest.Dir(b), "hk"),
		Vendors: []sftpserver.Vendor{{Name: "bench", Dir: dir, AuthorizedKeysFile: keyFile + ".pub"}},
		Log:     slog.New(slog.DiscardHandler), MaxConnsPerVendor: 16,
		OnFetch: func(sftpserver.Fetch) { fetched <- struct{}{} }})
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
	ciphers := []struct{ name, cipher, mac string }{
		{"aes128-gcm", "aes128-gcm@openssh.com", ""},
		{"aes128-ctr-etm", "aes128-ctr", "hmac-sha2-256-etm@openssh.com"},
	}
	for _, ci := range ciphers {
		for _, clients := range []int{1, 8} {
			for _, tg := range targets {
				var reports chan struct{}
				if tg.name == "leverance" {
					reports = fetched
				}
				benchGet(b, fmt.Sprintf("%s/clients-%d/%s", ci.name, clients, tg.name), total, clients, reports, func(file string) {
					get(b, keyFile, tg.user, tg.port, tg.kh, tg.prefix+file, "-c", ci.cipher, "-o", "MACs="+orDefault(ci.mac))
				})
			}
		}
	}
}

func orDefault(mac string) string {
	if mac == "" {
		return "hmac-sha2-256-etm@openssh.com" // unused with an AEAD cipher
	}
	return mac
}

// benchGet runs clients downloads at once per iteration.
func benchGet(b *testing.B, name string, total int64, clients int, reports chan struct{}, fetch func(file string)) {
	b.Run(name, func(b *testing.B) {
		b.SetBytes(total)
		cpu0 := cpuTime()
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
					fetch(file)
				}()
			}
			wg.Wait()
			if reports != nil {
				b.StopTimer()
				for c := 0; c < clients; c++ {
					<-reports
				}
				b.StartTimer()
			}
		}
		if reports != nil {
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N)/(float64(total)/(1<<30)), "cpu-s/GiB")
		}
	})
}

// cpuTime is the process's user and system CPU time (the built-in server's:
// the clients are other processes).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func get(b *testing.B, key, user, port, kh, file string, extra ...string) {
	bin := sshdtest.RequireTool(b, "sftp")
	args := append([]string{"-F", "/dev/null", "-b", "-", "-i", key, "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + kh, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		"-P", port}, extra...)
	cmd := exec.Command(bin, append(args, user+"@127.0.0.1")...)
	cmd.Stdin = strings.NewReader("get " + file + " /dev/null\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Errorf("sftp get: %v\n%s", err, out)
	}
}
