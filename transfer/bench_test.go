package transfer_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"leverance/internal/sshdtest"
	"leverance/transfer"
)

// Benchmarks of docs/performance.md (push side), each beside OpenSSH's own sftp client
// on the same sshd in the same run; scripts/bench-sftp.sh prints ratios.
// The file is 64 MiB unless LEVERANCE_BENCH_BIG=1 (1 GiB, the target size of docs/performance.md).

func benchSize() int64 {
	if os.Getenv("LEVERANCE_BENCH_BIG") != "" {
		return 1 << 30
	}
	return 64 << 20
}

// opensshBatch runs OpenSSH's sftp -b with cipher against e's sshd.
func (e *pushEnv) opensshBatch(tb testing.TB, cipher, batch string) {
	tb.Helper()
	bin := sshdtest.RequireTool(tb, "sftp")
	args := []string{"-F", "/dev/null", "-b", "-", "-i", e.cfg.IdentityFile, "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + e.cfg.KnownHostsFile, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		"-P", fmt.Sprint(e.sshd.Port)}
	if cipher != "" {
		args = append(args, "-c", cipher)
	}
	cmd := exec.Command(bin, append(args, e.sshd.User+"@127.0.0.1")...)
	cmd.Stdin = strings.NewReader(batch)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("sftp: %v\n%s", err, out)
	}
}

func cleanDir(tb testing.TB, dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.Remove(filepath.Join(dir, e.Name()))
	}
}

// BenchmarkPush pushes one big file: leverance (connect, Stage with fsync,
// Commit, Close; and the same without fsync, as OpenSSH's put does it)
// against `sftp -b` put, per cipher.
func BenchmarkPush(b *testing.B) {
	size := benchSize()
	e := newPushEnv(b, sshdtest.Options{})
	src := filepath.Join(sshdtest.Dir(b), "src.bin")
	sshdtest.WriteRandom(b, src, size)
	for _, cipher := range []string{"aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"} {
		short := strings.SplitN(cipher, "@", 2)[0]
		b.Run(short+"/openssh", func(b *testing.B) {
			dir := benchDir(b)
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				e.opensshBatch(b, cipher, fmt.Sprintf("put %s %s/f%d\n", src, dir, i))
				b.StopTimer()
				cleanDir(b, dir)
				b.StartTimer()
			}
		})
		for _, noFsync := range []bool{false, true} {
			name := short + "/leverance"
			if noFsync {
				// Like OpenSSH's put, which does not fsync.
				name += "-nofsync"
			}
			b.Run(name, func(b *testing.B) {
				dir := benchDir(b)
				b.SetBytes(size)
				for i := 0; i < b.N; i++ {
					cfg := e.cfg
					cfg.Directory, cfg.Ciphers, cfg.NoFsync = dir, []string{cipher}, noFsync
					pushFile(b, cfg, src, fmt.Sprintf("f%d", i))
					b.StopTimer()
					cleanDir(b, dir)
					b.StartTimer()
				}
			})
		}
	}
}

func pushFile(b *testing.B, cfg transfer.SFTPConfig, src, name string) {
	ob, err := transfer.NewSFTP(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer ob.Close()
	f, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	tmp, err := ob.Stage(bg, name, f)
	if err != nil {
		b.Fatal(err)
	}
	if err := ob.Commit(bg, tmp, name); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPushSmall pushes 1,000 files of 100 KiB: `sftp -b` with 1,000
// put lines against leverance with 8 goroutines on one connection (and, for
// reference, one goroutine).
func BenchmarkPushSmall(b *testing.B) {
	const n, size = 1000, 100 << 10
	e := newPushEnv(b, sshdtest.Options{})
	srcDir := sshdtest.Dir(b)
	var names []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("s%04d.csv", i)
		sshdtest.WriteRandom(b, filepath.Join(srcDir, name), size)
		names = append(names, name)
	}
	b.Run("openssh", func(b *testing.B) {
		dir := benchDir(b)
		var batch bytes.Buffer
		for _, name := range names {
			fmt.Fprintf(&batch, "put %s %s/%s\n", filepath.Join(srcDir, name), dir, name)
		}
		b.SetBytes(n * size)
		for i := 0; i < b.N; i++ {
			e.opensshBatch(b, "aes128-gcm@openssh.com", batch.String())
			b.StopTimer()
			cleanDir(b, dir)
			b.StartTimer()
		}
	})
	for _, v := range []struct {
		name    string
		workers int
		noFsync bool
	}{{"leverance-8", 8, false}, {"leverance-1", 1, false}, {"leverance-8-nofsync", 8, true}} {
		workers := v.workers
		b.Run(v.name, func(b *testing.B) {
			dir := benchDir(b)
			b.SetBytes(n * size)
			for i := 0; i < b.N; i++ {
				cfg := e.cfg
				cfg.Directory, cfg.NoFsync = dir, v.noFsync
				ob, err := transfer.NewSFTP(cfg)
				if err != nil {
					b.Fatal(err)
				}
				work := make(chan string)
				var wg sync.WaitGroup
				for w := 0; w < workers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for name := range work {
							f, err := os.Open(filepath.Join(srcDir, name))
							if err != nil {
								b.Error(err)
								continue
							}
							tmp, err := ob.Stage(bg, name, f)
							if err == nil {
								err = ob.Commit(bg, tmp, name)
							}
							f.Close()
							if err != nil {
								b.Error(err)
							}
						}
					}()
				}
				for _, name := range names {
					work <- name
				}
				close(work)
				wg.Wait()
				ob.Close()
				b.StopTimer()
				cleanDir(b, dir)
				b.StartTimer()
			}
		})
	}
}

func benchDir(b *testing.B) string {
	dir := sshdtest.Dir(b)
	sshdtest.MakeWritable(b, dir)
	return dir
}
