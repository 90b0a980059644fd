package sshdtest

import (
	"math/rand/v2"
	"os"
	"testing"
)

// WriteRandom writes n pseudo-random (incompressible) bytes to path, readable
// by everyone (0644, whatever the umask): test data that an unprivileged
// sshd session can serve too.
func WriteRandom(tb testing.TB, path string, n int64) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	r := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(buf)))
		r.Read(buf[:k])
		if _, err := f.Write(buf[:k]); err != nil {
			tb.Fatal(err)
		}
		n -= k
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		tb.Fatal(err)
	}
}
