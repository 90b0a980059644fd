package sftpserver_test

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/sftp"

	"leverance/transfer/sftpserver"
)

// conn logs vendor-a in over its own SSH connection; the function returned
// ends it.
func (e *env) conn(t *testing.T) (*sftp.Client, func()) {
	t.Helper()
	return e.connAs(t, "vendor-a")
}

func (e *env) connAs(t *testing.T, vendor string) (*sftp.Client, func()) {
	t.Helper()
	return e.connWith(t, vendor, vendor)
}

// connWith logs in as vendor with the key named key; the function returned
// ends the connection.
func (e *env) connWith(t *testing.T, vendor, key string) (*sftp.Client, func()) {
	t.Helper()
	c, err := e.sshClient(t, vendor, key)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sftp.NewClient(c)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	return sc, func() { sc.Close(); c.Close() }
}

// fetches is how many fetches were reported so far.
func (e *env) nfetches() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.fetches)
}

func readRange(t *testing.T, f *sftp.File, off, n int64) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return b
}

// A FIFO, a socket, a symlink to a hidden file and a directory symlink in
// the outbox: none is listed, opened or stat'ed, and no session blocks.
func TestSpecialFilesNotServed(t *testing.T) {
	e := startServer(t, nil)
	dir := e.dirs["vendor-a"]
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.csv"), 0o640); err != nil {
		t.Fatal(err)
	}
	ul, err := net.Listen("unix", filepath.Join(dir, "sock.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	os.Symlink(".x.csv.0123456789ab.partial", filepath.Join(dir, "partial.csv"))
	os.Symlink("a.csv", filepath.Join(dir, "alias.csv"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o750)
	os.WriteFile(filepath.Join(dir, "sub", "in.csv"), []byte("in sub\n"), 0o640)
	os.Symlink("sub", filepath.Join(dir, "linkdir"))
	c := e.sftpClient(t, "vendor-a")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, p := range []string{"fifo.csv", "sock.csv", "partial.csv", "alias.csv", "linkdir/in.csv", "linkdir"} {
			if f, err := c.Open(p); err == nil {
				f.Close()
				t.Errorf("Open(%q) succeeded", p)
			} else if strings.Contains(err.Error(), e.base) {
				t.Errorf("Open(%q): error names a server path: %v", p, err)
			}
			if _, err := c.Stat(p); err == nil {
				t.Errorf("Stat(%q) succeeded", p)
			}
			if _, err := c.Lstat(p); err == nil {
				t.Errorf("Lstat(%q) succeeded", p)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the session blocked on a special file")
	}
	fis, err := c.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fi := range fis {
		names = append(names, fi.Name())
	}
	if strings.Join(names, " ") != "a.csv sub" {
		t.Fatalf("listing %q, want a.csv and sub", names)
	}
	f, err := c.Open("sub/in.csv")
	if err != nil {
		t.Fatalf("a file in a real subdirectory: %v", err)
	}
	f.Close()
}

// A whole file read through two handles (each half) gives one complete
// fetch; so does a download resumed on a second connection after the first
// was cut (which gives an incomplete one with the bytes served).
func TestFetchTwoHandlesAndResume(t *testing.T) {
	e := startServer(t, nil)
	n := int64(len(e.data))
	sc, end := e.conn(t)
	f1, _ := sc.Open("a.csv")
	f2, _ := sc.Open("a.csv")
	var got []byte
	got = append(got, readRange(t, f2, 0, n/2)...)
	got = append(got, readRange(t, f1, n/2, n-n/2)...)
	f1.Close()
	if e.nfetches() != 0 {
		t.Fatal("reported with a handle still open")
	}
	f2.Close()
	fe := e.waitFetch(t)
	if !bytes.Equal(got, e.data) || !fe.Complete || fe.SHA256 != sum(e.data) || fe.Bytes != n {
		t.Fatalf("two handles: %+v", fe)
	}
	end()

	// Resume: 1 MiB from one connection, cut; the rest from another.
	sc, end = e.conn(t)
	f, _ := sc.Open("a.csv")
	readRange(t, f, 0, 1<<20)
	end()
	fe = e.waitFetch(t)
	if fe.Complete || fe.Bytes != 1<<20 || fe.SHA256 != "" {
		t.Fatalf("cut download: %+v", fe)
	}
	sc, end = e.conn(t)
	defer end()
	f, _ = sc.Open("a.csv")
	readRange(t, f, 1<<20, n-1<<20)
	f.Close()
	fe = e.waitFetch(t)
	if !fe.Complete || fe.SHA256 != sum(e.data) || fe.Bytes != n {
		t.Fatalf("resumed download: %+v", fe)
	}
	// Read again on the same connection: nothing more is reported.
	f, _ = sc.Open("a.csv")
	readRange(t, f, 0, n)
	f.Close()
	if k := e.nfetches(); k != 3 {
		t.Fatalf("%d fetches reported, want 3: %+v", k, e.fetches)
	}
}

// Opening and closing without reading records nothing, however often.
func TestOpenCloseRecordsNothing(t *testing.T) {
	e := startServer(t, nil)
	n := 10000
	if testing.Short() {
		n = 500
	}
	sc, end := e.conn(t)
	for i := 0; i < n; i++ {
		f, err := sc.Open("a.csv")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	end()
	// A marker fetch: once it is reported, the connection above has ended
	// and reported whatever it would.
	sc, end = e.conn(t)
	f, _ := sc.Open("a.csv")
	readRange(t, f, 0, 10)
	end()
	e.waitFetch(t)
	if k := e.nfetches(); k != 1 {
		t.Fatalf("%d open/close pairs gave %d fetches, want only the marker", n, k-1)
	}
}

// A stop during a download waits for it (within the grace) and records it
// before Serve returns.
func TestStopDuringDownload(t *testing.T) {
	e := startServer(t, func(c *sftpserver.Config) { c.ShutdownGrace = 300 * time.Millisecond })
	sc, end := e.conn(t)
	defer end()
	f, _ := sc.Open("a.csv")
	readRange(t, f, 0, 1000)
	// The handle stays open: a download in progress.
	e.stop()
	select {
	case <-e.stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if e.nfetches() != 1 {
		t.Fatalf("%d fetches recorded by the time Serve returned, want 1", e.nfetches())
	}
	if fe := e.waitFetch(t); fe.Complete || fe.Bytes != 1000 {
		t.Fatalf("download cut by the stop: %+v", fe)
	}
}

// No error text a client gets names a server path, whatever it tries.
func TestErrorsNameNoServerPath(t *testing.T) {
	e := startServer(t, nil)
	os.Mkdir(filepath.Join(e.dirs["vendor-a"], "sub"), 0o750)
	c := e.sftpClient(t, "vendor-a")
	var errs []error
	try := func(err error) { errs = append(errs, err) }
	_, err := c.Open("sub")
	try(err)
	_, err = c.Open("nothere.csv")
	try(err)
	_, err = c.ReadDir("a.csv")
	try(err)
	_, err = c.ReadDir("nothere")
	try(err)
	try(c.Remove("sub"))
	try(c.Remove("nothere.csv"))
	try(c.RemoveDirectory("sub"))
	try(c.Rename("a.csv", "b.csv"))
	try(c.Mkdir("new"))
	try(c.Symlink("a.csv", "l.csv"))
	try(c.Chmod("a.csv", 0o600))
	try(c.Truncate("a.csv", 0))
	_, err = c.ReadLink("a.csv")
	try(err)
	_, err = c.OpenFile("a.csv", os.O_WRONLY)
	try(err)
	_, err = c.Stat("../../../etc/passwd")
	try(err)
	for i, err := range errs {
		if err == nil {
			t.Errorf("operation %d succeeded", i)
			continue
		}
		if strings.Contains(err.Error(), e.base) || strings.Contains(err.Error(), "/tmp") {
			t.Errorf("operation %d: %v", i, err)
		}
	}
}

// Hashing a fetched file waits while a download is under way (another
// vendor's handle is open), and the report is dated when the download
// completed, not when it was hashed.
func TestHashingYieldsToDownloads(t *testing.T) {
	var clk clock
	e := startServer(t, func(c *sftpserver.Config) { c.Now = clk.now })
	b := e.sftpClient(t, "vendor-b")
	busy, err := b.Open("b.csv")
	if err != nil {
		t.Fatal(err)
	}
	sc, end := e.conn(t)
	defer end()
	f, _ := sc.Open("a.csv")
	readRange(t, f, 0, int64(len(e.data)))
	completed := clk.now()
	f.Close()
	select {
	case <-e.fetched:
		t.Fatal("reported while another download was under way")
	case <-time.After(300 * time.Millisecond):
	}
	clk.advance(time.Hour)
	busy.Close()
	fe := e.waitFetch(t)
	if !fe.Complete || fe.Time.Before(completed.Add(-time.Second)) || fe.Time.After(completed.Add(time.Second)) {
		t.Fatalf("fetch %+v, want complete and dated about %v", fe, completed.UTC())
	}
}
