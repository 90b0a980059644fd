//go:build linux

package daemon_test

// End-to-end tests of the daemon: the real binary (`leverance run -c
// CONFIG`) as a subprocess, with the real clock, the real file system, real
// signals and a real sd_notify socket. They prove what the scheduler tests of
// engine_test.go (an Engine driven by a FakeClock) cannot: fsnotify pickup,
// kill -9 at any point, SIGHUP, SIGTERM/SIGINT and systemd's protocol.
//
// The binary reads the real clock, so the configuration opens every window
// all day (delivery_days = "all-days", release 00:00, deadline 23:58, cutoff
// 23:59) and the extracts are dated yesterday (A = today − 1 in the
// configuration's time zone): their products are due at once, on time. The
// time zone is not Europe/Copenhagen but testZone, a fixed UTC offset under
// which it was about noon when the test process started: past the deadline
// the outcome would turn forsinket, past the cutoff udeladt, and past
// midnight a new delivery day would begin in the middle of a test, so the
// tests must not depend on the time of day at which they run. (What the
// schedule does at any hour and across summer time is tested with a
// FakeClock in engine_test.go and package schedule.)
//
// The binary is built once per test process (go build, in a temporary
// directory removed by TestMain); LEVERANCE_E2E_RACE=1 builds it with -race,
// and every test fails on a "DATA RACE" report in the daemon's log.
// LEVERANCE_LONG=1 makes TestE2ECrash do 100 crash runs instead of 5
// (LEVERANCE_CRASH_RUNS=N: N runs). -short skips these tests.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"leverance/daemon"
	"leverance/internal/noonzone"
	"leverance/receipt"
)

// testZone is the time zone of every configuration the end-to-end tests
// write (configTOML): a fixed UTC offset under which it was between 12:00
// and 13:00 when the test process started (package noonzone), so that a
// test meets the 23:58 deadline or midnight only after running for more
// than ten hours, whatever the time of day.
var testZone = func() *time.Location {
	l, err := noonzone.At(time.Now())
	if err != nil {
		panic(err)
	}
	return l
}()

var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// binary returns the path of the leverance binary, building it on first use.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: builds and starts the real binary")
	}
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "leverance-e2e-")
		if build.err != nil {
			return
		}
		build.path = filepath.Join(build.dir, "leverance")
		args := []string{"build", "-o", build.path}
		if os.Getenv("LEVERANCE_E2E_RACE") == "1" {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "leverance/cmd/leverance")...).CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// dates returns the as-of date A of the extracts the test drops (yesterday
// in testZone) and today, the delivery day D = A + 1. It fails the test
// when, running for need, it could reach the 23:58 deadline: only a test
// process that has run for more than ten hours gets there (testZone).
func dates(t *testing.T, need time.Duration) (asOf, today time.Time) {
	t.Helper()
	now := time.Now().In(testZone)
	y, m, d := now.Date()
	if limit := time.Date(y, m, d, 23, 58, 0, 0, testZone); now.Add(need).After(limit) {
		t.Fatalf("it is %s in %s, the tests' time zone: a run of up to %v could reach the 23:58 deadline or "+
			"midnight (the zone is chosen at about noon when the test process starts; this one has run for hours)",
			now.Format("15:04"), testZone, need)
	}
	return time.Date(y, m, d-1, 0, 0, 0, 0, testZone), time.Date(y, m, d, 0, 0, 0, 0, testZone)
}

func compact(d time.Time) string { return d.Format("20060102") }

func slotKey(t *testing.T, s string) daemon.SlotKey {
	t.Helper()
	k, err := daemon.ParseSlotKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type vendorConf struct {
	name     string
	munis    string // the TOML array's elements
	products string
}

const allProducts = `"daglig-opdatering", "daglige-beskeder", "ugeopdatering"`

// The vendors of testdata/basic.
var basicVendors = []vendorConf{
	{"kmd-opera", `"101"`, `"daglige-beskeder", "ugeopdatering"`},
	{"kmd-workbase", `"173"`, `"daglige-beskeder", "ugeopdatering"`},
	{"schultz-fasit", `"147"`, `"daglig-opdatering"`},
	{"alle", `"*"`, allProducts},
}

// configTOML is a configuration in testZone whose windows are open all day,
// every day, without the SFTP and HTTP servers. top is put before the
// tables.
func configTOML(stateDir, top string, vendors []vendorConf) string {
	var b strings.Builder
	fmt.Fprintf(&b, "state_dir = %q\ntimezone = %q\n%s\n", stateDir, testZone.String(), top)
	b.WriteString(`[calendar]
delivery_days = "all-days"

[product.daglig-opdatering]
release = "00:00"
deadline = "23:58"
cutoff = "23:59"

[product.daglige-beskeder]
release = "00:00"
deadline = "23:58"
cutoff = "23:59"

[product.ugeopdatering]
release = "00:00"
deadline = "23:58"
cutoff = ""

[sftp_server]
listen = ""

[http]
listen = ""
`)
	for _, v := range vendors {
		fmt.Fprintf(&b, "\n[[vendor]]\nname = %q\nmunicipalities = [%s]\nproducts = [%s]\n  [vendor.outbox]\n  kind = \"local\"\n",
			v.name, v.munis, v.products)
	}
	return b.String()
}

// writeFileAtomic replaces path (as an editor or a configuration manager
// would: temporary file, rename).
func writeFileAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// drop places the file src in the inbox under name as writers must
// (docs/formats.md#file-name): a hidden temporary name, then a rename. It returns the time just
// before the rename.
func drop(t *testing.T, inbox, name, src string) time.Time {
	t.Helper()
	tmp := filepath.Join(inbox, "."+name+".tmp")
	if err := os.Link(src, tmp); err != nil {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tmp, data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Now()
	if err := os.Rename(tmp, filepath.Join(inbox, name)); err != nil {
		t.Fatal(err)
	}
	return at
}

// basicExtract writes testdata/basic/<from> to dir/<name>, with line (1-based)
// replaced by edit(line) when edit is set. The basic example's rows are
// registered in 2015–2016 and its contact groups are open-ended, so it is a
// valid extract for any later as-of date.
func basicExtract(t *testing.T, dir, name, from string, edit func(line int, s string) string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "basic", from))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		lines := strings.SplitAfter(string(data), "\n")
		for i := range lines {
			lines[i] = edit(i+1, lines[i])
		}
		data = []byte(strings.Join(lines, ""))
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o640); err != nil {
		t.Fatal(err)
	}
	return p
}

// generate writes a synthetic extract with `leverance generate`.
func generate(t *testing.T, path string, asOf time.Time, citizens int, seed int) {
	t.Helper()
	out, err := exec.Command(binary(t), "generate", "--as-of", asOf.Format("2006-01-02"), "--citizens", strconv.Itoa(citizens),
		"--seed", strconv.Itoa(seed), "--out", path).CombinedOutput()
	if err != nil {
		t.Fatalf("leverance generate: %v\n%s", err, out)
	}
}

// outputs are product files per vendor: vendor → file name → content.
type outputs map[string]map[string][]byte

// computeRef runs `leverance compute` (docs/cli.md: the same products without
// a daemon, first-delivery rule for the messages) on an extract.
func computeRef(t *testing.T, cfgPath, extract string) outputs {
	t.Helper()
	out := filepath.Join(t.TempDir(), "ref")
	if b, err := exec.Command(binary(t), "compute", "-c", cfgPath, "--extract", extract, "--out", out).CombinedOutput(); err != nil {
		t.Fatalf("leverance compute %s: %v\n%s", filepath.Base(extract), err, b)
	}
	ref := outputs{}
	vendors, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vendors {
		ref[v.Name()] = map[string][]byte{}
		files, _ := os.ReadDir(filepath.Join(out, v.Name()))
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(out, v.Name(), f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			ref[v.Name()][f.Name()] = data
		}
	}
	if len(ref) == 0 {
		t.Fatal("leverance compute wrote nothing")
	}
	return ref
}

// slots returns the slot keys (product/YYYYMMDD/vendor) the files of ref
// are delivered under on day d.
func (ref outputs) slots(d time.Time) []string {
	var keys []string
	for v, files := range ref {
		for name := range files {
			if strings.HasSuffix(name, ".sha256") {
				continue
			}
			p, _, _ := strings.Cut(name, "_")
			keys = append(keys, p+"/"+compact(d)+"/"+v)
		}
	}
	sort.Strings(keys)
	return keys
}

// sha256Hex is the hex SHA-256 of data.
func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// allowedExtra are names that may appear in an outbox besides the products
// (the receipts checkpoint of docs/audit.md).
var allowedExtra = map[string]bool{"checkpoint.txt": true}

// outboxProblems compares a vendor's outbox with the files it should hold.
// With complete, every file must be there; otherwise (a daemon killed
// mid-way) each visible file must be complete and right, but some may be
// missing and hidden temporary files are allowed.
func outboxProblems(dir string, want map[string][]byte, complete bool) []string {
	var probs []string
	fi, err := os.Stat(dir)
	if err != nil {
		if !complete && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return []string{err.Error()}
	}
	if m := fi.Mode().Perm(); m != 0o750 {
		probs = append(probs, fmt.Sprintf("%s: mode %v, want 0750", dir, m))
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return append(probs, err.Error())
	}
	seen := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		p := filepath.Join(dir, name)
		if strings.HasPrefix(name, ".") {
			if complete {
				probs = append(probs, fmt.Sprintf("temporary file %s is visible in the outbox", p))
			}
			continue
		}
		seen[name] = true
		exp, ok := want[name]
		if !ok {
			if !allowedExtra[name] {
				probs = append(probs, fmt.Sprintf("unexpected file %s", p))
			}
			continue
		}
		info, err := os.Lstat(p)
		if err != nil {
			probs = append(probs, err.Error())
			continue
		}
		if !info.Mode().IsRegular() || info.Mode().Perm() != 0o640 {
			probs = append(probs, fmt.Sprintf("%s: mode %v, want a regular file 0640", p, info.Mode()))
		}
		data, err := os.ReadFile(p)
		if err != nil {
			probs = append(probs, err.Error())
			continue
		}
		if !bytes.Equal(data, exp) {
			probs = append(probs, fmt.Sprintf("%s: %d bytes (sha256 %.12s), want %d bytes (sha256 %.12s)",
				p, len(data), sha256Hex(data), len(exp), sha256Hex(exp)))
		}
		if base, ok := strings.CutSuffix(name, ".sha256"); ok {
			// The sum line must verify the data file (sha256sum -c).
			fields := strings.Fields(string(data))
			target, err := os.ReadFile(filepath.Join(dir, base))
			switch {
			case len(fields) != 2 || fields[1] != base || !strings.HasSuffix(string(data), "\n"):
				probs = append(probs, fmt.Sprintf("%s: %q is not a sha256sum line for %s", p, data, base))
			case err != nil:
				probs = append(probs, fmt.Sprintf("%s is visible without its data file: %v", p, err))
			case sha256Hex(target) != fields[0]:
				probs = append(probs, fmt.Sprintf("%s does not verify %s", p, base))
			}
		}
	}
	if complete {
		for name := range want {
			if !seen[name] {
				probs = append(probs, fmt.Sprintf("%s missing", filepath.Join(dir, name)))
			}
		}
	}
	return probs
}

// readState parses the daemon's state file (state_dir/state/deliveries.json).
func readState(stateDir string) (*daemon.State, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, "state", "deliveries.json"))
	if err != nil {
		return nil, err
	}
	var s daemon.State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	return &s, nil
}

// receiptsVerify runs `leverance receipts verify` (docs/audit.md) and returns
// its problems ("" when the log verifies).
func receiptsVerify(t *testing.T, cfgPath string) string {
	t.Helper()
	out, err := exec.Command(binary(t), "receipts", "verify", "-c", cfgPath).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("leverance receipts verify: %v\n%s", err, out)
	}
	return ""
}

// receiptCounts counts the records of the receipts log by event and key:
// modtaget and afvist by file, leveret by slot (product/YYYYMMDD/vendor),
// beregnet by input/product/vendor (input YYYYMMDD_rN).
func receiptCounts(stateDir string) (map[string]map[string]int, error) {
	recs, err := receipt.ReadRecords(filepath.Join(stateDir, "receipts"))
	if err != nil {
		return nil, err
	}
	n := map[string]map[string]int{}
	for _, r := range recs {
		key := r.File
		switch r.Event {
		case receipt.Leveret, receipt.Udeladt:
			key = r.Product + "/" + strings.ReplaceAll(r.Day, "-", "") + "/" + r.Vendor
		case receipt.Beregnet:
			key = r.Input + "/" + r.Product + "/" + r.Vendor
		}
		if n[r.Event] == nil {
			n[r.Event] = map[string]int{}
		}
		n[r.Event][key]++
	}
	return n, nil
}

// names lists the entries of dir (none when it does not exist).
func names(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var ns []string
	for _, e := range ents {
		ns = append(ns, e.Name())
	}
	return ns
}

// waitUntil polls cond until it holds or the timeout passes; why, if given,
// says what is missing.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool, why ...func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			for _, w := range why {
				msg += ": " + w()
			}
			t.Fatalf("timed out after %v waiting for %s%s", timeout, what, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- the daemon as a subprocess ----

type logLine struct {
	seen time.Time // when the test read it
	text string
}

// proc is one `leverance run` process; its stderr (the log) is collected.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	start time.Time

	mu     sync.Mutex
	lines  []logLine
	more   chan struct{} // closed and replaced on every new line and at exit
	done   bool          // the log is complete and the process has exited
	state  *os.ProcessState
	exited chan struct{}
	quiet  bool // do not print the log when the test fails
}

// cleanEnv is the environment without systemd's variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "LISTEN_FDS", "LISTEN_PID",
			"LISTEN_FDNAMES", "CREDENTIALS_DIRECTORY":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// startDaemon starts `leverance run -c cfgPath`; the test's cleanup kills it
// if it is still running.
// restartAndCheck starts the daemon again after p was stopped, waits until
// every vendor's outbox holds exactly the reference files, stops it and
// checks that neither run logged an error.
func restartAndCheck(t *testing.T, cfg, stateDir string, ref outputs, p *proc) {
	t.Helper()
	q := startDaemon(t, cfg, false)
	q.waitLog(0, 10*time.Second, `msg="daemon ready"`) // a SIGTERM before it would kill the process
	waitUntil(t, 30*time.Second, "the files after the restart", func() bool {
		for v, files := range ref {
			if len(outboxProblems(filepath.Join(stateDir, "outbox", v), files, true)) > 0 {
				return false
			}
		}
		return true
	})
	if code, _ := q.signal(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
	if bad := badLines(append(p.log(), q.log()...)); len(bad) > 0 {
		t.Errorf("the daemon logged errors:\n%s", strings.Join(bad, "\n"))
	}
}

func startDaemon(t *testing.T, cfgPath string, quiet bool, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), "run", "-c", cfgPath)
	cmd.Env = append(cleanEnv(), env...)
	if os.Getenv("LEVERANCE_E2E_RACE") == "1" {
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0") // not the race runtime's 1 s pause at exit
	}
	// Should the test binary die before its cleanups run (a -timeout
	// panic), the daemon dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, more: make(chan struct{}), exited: make(chan struct{}), quiet: quiet}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.start = time.Now()
	go p.read(stderr)
	t.Cleanup(func() {
		p.kill()
		if t.Failed() && !p.quiet {
			p.dump()
		}
	})
	return p
}

func (p *proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, logLine{time.Now(), sc.Text()})
		close(p.more)
		p.more = make(chan struct{})
		p.mu.Unlock()
	}
	io.Copy(io.Discard, r)
	p.cmd.Wait()
	p.mu.Lock()
	p.done, p.state = true, p.cmd.ProcessState
	close(p.more)
	p.more = make(chan struct{})
	p.mu.Unlock()
	close(p.exited)
}

func (p *proc) dump() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.t.Logf("log of the daemon started at %s:", p.start.Format("15:04:05.000"))
	for _, l := range p.lines {
		p.t.Logf("  %s", l.text)
	}
}

// log returns a copy of the lines logged so far.
func (p *proc) log() []logLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]logLine(nil), p.lines...)
}

// logged reports whether a line holding every one of subs was logged.
func (p *proc) logged(subs ...string) bool {
	for _, l := range p.log() {
		if containsAll(l.text, subs) {
			return true
		}
	}
	return false
}

// mark is the index the next line will have.
func (p *proc) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lines)
}

// waitLog waits for a line, at index from or later, that holds every one of
// subs, and returns its index and the line.
func (p *proc) waitLog(from int, timeout time.Duration, subs ...string) (int, logLine) {
	p.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		for i := from; i < len(p.lines); i++ {
			if containsAll(p.lines[i].text, subs) {
				l := p.lines[i]
				p.mu.Unlock()
				return i, l
			}
		}
		from = len(p.lines)
		more, done, st := p.more, p.done, p.state
		p.mu.Unlock()
		if done {
			p.t.Fatalf("the daemon exited (%v) without logging %q", st, subs)
		}
		select {
		case <-more:
		case <-timer.C:
			p.t.Fatalf("the daemon did not log %q within %v", subs, timeout)
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// signal sends sig and waits for the exit; it returns the exit code and how
// long the process took to exit.
func (p *proc) signal(sig os.Signal, timeout time.Duration) (int, time.Duration) {
	p.t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.t.Fatalf("the daemon did not exit within %v of %v", timeout, sig)
	}
	return p.state.ExitCode(), time.Since(start)
}

// kill kills the process (SIGKILL) unless it has exited, and waits for it.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.exited
}

var logTimeRE = regexp.MustCompile(`^time=(\S+) `)

// logTime is the time stamp slog wrote on the line.
func logTime(t *testing.T, l logLine) time.Time {
	t.Helper()
	m := logTimeRE.FindStringSubmatch(l.text)
	if m == nil {
		t.Fatalf("no time stamp on %q", l.text)
	}
	ts, err := time.Parse(time.RFC3339Nano, m[1])
	if err != nil {
		t.Fatalf("time stamp of %q: %v", l.text, err)
	}
	return ts
}

// badLines returns the lines that no run of the daemon should log, except
// those holding one of the allowed strings.
func badLines(lines []logLine, allowed ...string) []string {
	var bad []string
	for _, l := range lines {
		if strings.Contains(l.text, "DATA RACE") || strings.Contains(l.text, "panic:") ||
			strings.Contains(l.text, "level=ERROR") && !containsAny(l.text, allowed) {
			bad = append(bad, l.text)
		}
	}
	return bad
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// ---- 1. end to end ----

// TestE2EPublish: a bad extract dropped into the inbox of the running
// daemon ends in quarantine/ with a report naming the line (and not the CPR
// number); the good revision dropped after it is taken at once (fsnotify:
// the rescan period is 30 s), archived, computed and published to every
// vendor's outbox, byte for byte what `leverance compute` gives, with
// .sha256 files that verify, modes 0640/0750, nothing left in the inbox, and
// the slots recorded as delivered on time.
func TestE2EPublish(t *testing.T) {
	t.Parallel()
	asOf, today := dates(t, 2*time.Minute)
	dir := t.TempDir()
	stateDir, src := filepath.Join(dir, "state"), filepath.Join(dir, "src")
	os.Mkdir(src, 0o750)
	cfg := filepath.Join(dir, "leverance.toml")
	writeFileAtomic(t, cfg, []byte(configTOML(stateDir, "", basicVendors)))

	// Revision 1 has a date that does not exist on line 5 (of citizen
	// 2201864321); revision 2 is good.
	badName, goodName := "registreringer_"+compact(asOf)+".csv", "registreringer_"+compact(asOf)+"_2.csv"
	bad := basicExtract(t, src, badName, "registreringer_20160121.csv", func(n int, s string) string {
		if n == 5 {
			return strings.Replace(s, ";2015-11-01;", ";2015-11-31;", 1)
		}
		return s
	})
	good := basicExtract(t, src, goodName, "registreringer_20160121.csv", nil)
	ref := computeRef(t, cfg, good)

	p := startDaemon(t, cfg, false)
	p.waitLog(0, 10*time.Second, `msg="daemon ready"`)
	inbox := filepath.Join(stateDir, "inbox")

	at := drop(t, inbox, badName, bad)
	_, l := p.waitLog(0, 10*time.Second, `msg="extract rejected"`, "file="+badName)
	t.Logf("pickup of the bad extract: rejected %v after the rename (log time stamp), seen %v after",
		logTime(t, l).Sub(at), l.seen.Sub(at))
	report, err := os.ReadFile(filepath.Join(stateDir, "quarantine", badName+".error.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(report), "line 5") || !strings.Contains(string(report), "2015-11-31") {
		t.Errorf("the report does not name line 5 and its bad date:\n%s", report)
	}
	if strings.Contains(string(report), "2201864321") {
		t.Errorf("the report echoes a CPR number:\n%s", report)
	}
	if q, _ := os.ReadFile(filepath.Join(stateDir, "quarantine", badName)); !bytes.Equal(q, mustRead(t, bad)) {
		t.Errorf("quarantine/%s is not the file dropped", badName)
	}

	at = drop(t, inbox, goodName, good)
	_, l = p.waitLog(0, 10*time.Second, `msg="extract accepted"`, "file="+goodName)
	latency := logTime(t, l).Sub(at)
	t.Logf("pickup latency (rename into the inbox → \"extract accepted\", validation and compute included): %v by the log's time stamp, %v until the test read the line",
		latency, l.seen.Sub(at))
	if latency > 2*time.Second {
		t.Errorf("extract accepted %v after it appeared: not taken on the file-system event (the inbox is watched with fsnotify: ~100 ms)", latency)
	}

	outbox := func(v string) string { return filepath.Join(stateDir, "outbox", v) }
	waitUntil(t, 20*time.Second, "every vendor's files", func() bool {
		for v, files := range ref {
			if len(outboxProblems(outbox(v), files, true)) > 0 {
				return false
			}
		}
		return true
	})
	// Give a duplicate or a stray file a moment to show before the check.
	time.Sleep(100 * time.Millisecond)
	for v, files := range ref {
		for _, pr := range outboxProblems(outbox(v), files, true) {
			t.Error(pr)
		}
	}
	if fi, err := os.Stat(filepath.Join(stateDir, "outbox")); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o750 {
		t.Errorf("outbox/: mode %v, want 0750", fi.Mode().Perm())
	}
	if ns := names(inbox); len(ns) != 0 {
		t.Errorf("left in the inbox: %v", ns)
	}
	if a, _ := os.ReadFile(filepath.Join(stateDir, "archive", goodName)); !bytes.Equal(a, mustRead(t, good)) {
		t.Errorf("archive/%s is not the extract dropped", goodName)
	}
	st, err := readState(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range ref.slots(today) {
		s := st.Slots[slotKey(t, key)]
		if s == nil || s.Status != "leveret" || s.Outcome != daemon.Rettidig || s.Input != compact(asOf)+"_r2" {
			t.Errorf("slot %s: %+v, want leveret, rettidig, from %s_r2", key, s, compact(asOf))
		}
	}
	// Receipts (docs/audit.md): each event once, the log verifies, and every
	// outbox holds a checkpoint of it.
	n, err := receiptCounts(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if n[receipt.Afvist][badName] != 1 || n[receipt.Modtaget][goodName] != 1 || len(n[receipt.Modtaget]) != 1 {
		t.Errorf("receipts: afvist %v, modtaget %v; want %s rejected and %s accepted, once", n[receipt.Afvist], n[receipt.Modtaget], badName, goodName)
	}
	for _, key := range ref.slots(today) {
		if n[receipt.Leveret][key] != 1 {
			t.Errorf("slot %s: %d leveret receipts, want 1", key, n[receipt.Leveret][key])
		}
	}
	if pr := receiptsVerify(t, cfg); pr != "" {
		t.Error(pr)
	}
	for v := range ref {
		if cp, err := os.ReadFile(filepath.Join(outbox(v), "checkpoint.txt")); err != nil || !bytes.HasPrefix(cp, []byte("leverance\n")) {
			t.Errorf("%s: no checkpoint of the receipts log (docs/audit.md): %q %v", v, cp, err)
		}
	}
	if code, took := p.signal(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM (%v)", code, took)
	}
	if bad := badLines(p.log()); len(bad) > 0 {
		t.Errorf("the daemon logged errors:\n%s", strings.Join(bad, "\n"))
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---- 2. crash safety ----

// crashVendors has several vendors taking everything, so that one extract
// gives many publications (the window a kill should hit).
var crashVendors = append(append([]vendorConf{}, basicVendors...),
	vendorConf{"alle-2", `"*"`, allProducts},
	vendorConf{"alle-3", `"*"`, allProducts},
)

// crashStats counts where the kills landed, from what they left on disk.
type crashStats struct {
	runs, kills, terms                                 int
	beforeState, inboxFull, computing, intent, orphans int
	partlyPublished, allPublished                      int
	r1, r2                                             int // runs that published revision 1 or 2
	seconds                                            []float64
	maxStop                                            time.Duration  // the longest SIGTERM stop
	early                                              int            // SIGTERMs before the handler was installed
	lost                                               map[string]int // receipts missing at the end, by event
	lostRuns                                           int
}

// strictReceipts makes a receipt that a crash lost an error in
// TestE2ECrash. Each step appends its receipt after the state change it
// records (modtaget/beregnet after archiving, afvist after quarantining,
// leveret after saving the state); a crash in between used to lose the
// record (7 to 30 runs in 100). Since the daemon completes the log from its
// state at start (reconcileReceipts), a lost receipt is an error;
// LEVERANCE_STRICT_RECEIPTS=0 turns that off to see the other checks alone.
var strictReceipts = os.Getenv("LEVERANCE_STRICT_RECEIPTS") != "0"

// TestE2ECrash: kill -9 the daemon at random points of accept → compute →
// stage → publish, restart it, and in the end every due file is in its
// outbox exactly once, byte for byte as `leverance compute` gives it (and
// as a run without a crash gives it), no temporary file is in any outbox,
// nothing dropped into the inbox is lost (every extract is in archive/ or
// quarantine/), the state file parses, no slot is published twice, the
// receipts log verifies (`leverance receipts verify`) and holds one
// modtaget or afvist per dropped file, one beregnet per computed product
// and one leveret per slot, and every outbox has its checkpoint.txt. A
// receipt repeated is an error; one lost is counted and reported, and an
// error only with LEVERANCE_STRICT_RECEIPTS=1 (a known bug, see
// strictReceipts). At every kill point, too, each visible outbox file is
// complete and right, and the state file parses.
//
// Each run drops four files: A − 1 (computed, not published: its delivery
// day is before the daemon's first), A (20,000 citizens), a revision A_2
// (another 20,000) and a truncated file; in random order, either before the
// start (the rescan at start takes them) or after "daemon ready"
// (fsnotify). Which revision of A is published depends on the order (the
// highest staged before the first publication wins, docs/formats.md#file-name); the test
// checks that all slots agree and hold that revision's files. It kills the
// daemon 1–3 times, each after a random delay: a third uniform over the
// whole uncrashed run [0, T], a third around the accepts and the
// publications, a third within the publications alone (both measured in the
// uncrashed reference run); a quarter of the interruptions are a SIGTERM
// instead, which must exit 0 without waiting out the grace period. Then it
// lets a last start finish.
//
// 5 runs normally (about 20 s); LEVERANCE_LONG=1: 100 runs (about 6
// minutes); LEVERANCE_CRASH_RUNS=N: N runs. A failed run prints its drop
// order, kill delays, every start's log and the state directory.
func TestE2ECrash(t *testing.T) {
	runs := 5
	if os.Getenv("LEVERANCE_LONG") == "1" {
		runs = 100
	}
	if n, err := strconv.Atoi(os.Getenv("LEVERANCE_CRASH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	asOf, today := dates(t, time.Duration(runs)*12*time.Second+time.Minute)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.Mkdir(src, 0o750)
	a, a1 := compact(asOf), compact(asOf.AddDate(0, 0, -1))
	type dropped struct {
		name, path string
		good       bool
	}
	drops := []dropped{
		{name: "registreringer_" + a1 + ".csv", good: true},
		{name: "registreringer_" + a + ".csv", good: true},
		{name: "registreringer_" + a + "_2.csv", good: true},
		{name: "registreringer_" + a1 + "_2.csv"}, // truncated: no trailer
	}
	for i := range drops {
		drops[i].path = filepath.Join(src, drops[i].name)
	}
	generate(t, drops[0].path, asOf.AddDate(0, 0, -1), 5000, 3)
	generate(t, drops[1].path, asOf, 20000, 1)
	generate(t, drops[2].path, asOf, 20000, 2)
	basicExtract(t, src, drops[3].name, "registreringer_20160120.csv", func(_ int, s string) string {
		if strings.HasPrefix(s, "SLUT;") {
			return ""
		}
		return s
	})
	refCfg := filepath.Join(dir, "ref.toml")
	writeFileAtomic(t, refCfg, []byte(configTOML(filepath.Join(dir, "unused"), "", crashVendors)))
	refs := map[int]outputs{1: computeRef(t, refCfg, drops[1].path), 2: computeRef(t, refCfg, drops[2].path)}
	// What each accepted extract computes (a beregnet receipt each).
	computed := map[string]outputs{a1 + "_r1": computeRef(t, refCfg, drops[0].path), a + "_r1": refs[1], a + "_r2": refs[2]}
	slots := refs[1].slots(today)
	if s2 := refs[2].slots(today); strings.Join(s2, " ") != strings.Join(slots, " ") {
		t.Fatalf("the revisions give different slots: %v, %v", slots, s2)
	}

	stats := crashStats{lost: map[string]int{}}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x1e7e7a2ce))

	// setup makes a fresh state directory with its configuration.
	setup := func(t *testing.T) (stateDir, cfg string) {
		d := t.TempDir()
		stateDir, cfg = filepath.Join(d, "state"), filepath.Join(d, "leverance.toml")
		writeFileAtomic(t, cfg, []byte(configTOML(stateDir, "", crashVendors)))
		return stateDir, cfg
	}
	inboxOf := func(t *testing.T, stateDir string) string {
		in := filepath.Join(stateDir, "inbox")
		if err := os.MkdirAll(in, 0o750); err != nil {
			t.Fatal(err)
		}
		return in
	}
	// unfinished says what the daemon has still to do ("" when nothing).
	unfinished := func(stateDir string) string {
		if ns := names(filepath.Join(stateDir, "inbox")); len(ns) > 0 {
			return fmt.Sprintf("inbox holds %v", ns)
		}
		st, err := readState(stateDir)
		if err != nil {
			return err.Error()
		}
		if len(st.Intents) > 0 {
			return fmt.Sprintf("%d intents pending", len(st.Intents))
		}
		for _, k := range slots {
			if st.Slots[slotKey(t, k)] == nil {
				return "slot " + k + " not finished"
			}
		}
		rev := st.Published[a]
		if refs[rev] == nil {
			return fmt.Sprintf("published revision %d", rev)
		}
		for v, files := range refs[rev] {
			if pr := outboxProblems(filepath.Join(stateDir, "outbox", v), files, true); len(pr) > 0 {
				return strings.Join(pr, "; ")
			}
		}
		return ""
	}
	finish := func(t *testing.T, stateDir string) {
		t.Helper()
		why := ""
		waitUntil(t, 60*time.Second, "the daemon to finish", func() bool {
			why = unfinished(stateDir)
			return why == ""
		}, func() string { return why })
	}
	// verify checks the end state and returns the revision published.
	verify := func(t *testing.T, stateDir, cfg string, lives []*proc) int {
		t.Helper()
		st, err := readState(stateDir)
		if err != nil {
			t.Fatalf("state file: %v", err)
		}
		if len(st.Intents) > 0 {
			t.Errorf("unfinished intents: %v", st.Intents)
		}
		rev := st.Published[a]
		if rev != 1 && rev != 2 {
			t.Fatalf("published revision of %s: %d", a, rev)
		}
		for _, k := range slots {
			s := st.Slots[slotKey(t, k)]
			if s == nil || s.Status != "leveret" || s.Outcome != daemon.Rettidig || s.Input != fmt.Sprintf("%s_r%d", a, rev) {
				t.Errorf("slot %s: %+v, want leveret, rettidig, from revision %d", k, s, rev)
			}
		}
		if len(st.Slots) != len(slots) {
			t.Errorf("%d slots finished, want %d", len(st.Slots), len(slots))
		}
		outboxes := names(filepath.Join(stateDir, "outbox"))
		if len(outboxes) != len(crashVendors) {
			t.Errorf("outboxes %v", outboxes)
		}
		for _, v := range crashVendors {
			for _, pr := range outboxProblems(filepath.Join(stateDir, "outbox", v.name), refs[rev][v.name], true) {
				t.Error(pr)
			}
		}
		if ns := names(filepath.Join(stateDir, "inbox")); len(ns) > 0 {
			t.Errorf("left in the inbox: %v", ns)
		}
		for _, d := range drops {
			where := "archive"
			if !d.good {
				where = "quarantine"
				if _, err := os.Stat(filepath.Join(stateDir, where, d.name+".error.txt")); err != nil {
					t.Errorf("no report for %s: %v", d.name, err)
				}
			}
			got, err := os.ReadFile(filepath.Join(stateDir, where, d.name))
			if err != nil {
				t.Errorf("%s lost: %v (archive %v, quarantine %v)", d.name, err,
					names(filepath.Join(stateDir, "archive")), names(filepath.Join(stateDir, "quarantine")))
			} else if !bytes.Equal(got, mustRead(t, d.path)) {
				t.Errorf("%s/%s differs from the file dropped", where, d.name)
			}
		}
		for _, n := range names(filepath.Join(stateDir, "archive")) {
			if strings.HasPrefix(n, ".") || strings.Contains(n, ".error.txt") {
				t.Errorf("archive/%s", n)
			}
		}
		for _, n := range names(filepath.Join(stateDir, "staging")) {
			if strings.HasPrefix(n, ".") {
				t.Errorf("staging/%s: an interrupted staging left after a clean start", n)
			}
		}
		// Exactly once, as the logs tell it: no slot is published twice.
		published := map[string]int{}
		slotRE := regexp.MustCompile(`product=(\S+) day=(\S+) vendor=(\S+)`)
		for _, p := range lives {
			for _, l := range p.log() {
				if strings.Contains(l.text, `msg=published `) {
					if m := slotRE.FindStringSubmatch(l.text); m != nil {
						published[m[1]+"/"+strings.ReplaceAll(m[2], "-", "")+"/"+m[3]]++
					}
				}
			}
		}
		for k, n := range published {
			if n > 1 {
				t.Errorf("slot %s published %d times", k, n)
			}
		}
		// The receipts log verifies and tells each event once: a crash
		// never repeats a receipt. One it loses (written after the state
		// change it records, and not made up at the next start: see
		// strictReceipts) is counted, and an error only when strict.
		if pr := receiptsVerify(t, cfg); pr != "" {
			t.Error(pr)
		}
		n, err := receiptCounts(stateDir)
		if err != nil {
			t.Errorf("receipts: %v", err)
		}
		lost := func(what string, c int) {
			switch {
			case c > 1:
				t.Errorf("%d times: %s, want once", c, what)
			case c == 0:
				stats.lost[what[:strings.IndexByte(what, ' ')]]++
				if strictReceipts {
					t.Errorf("missing: %s", what)
				} else {
					t.Logf("known bug, missing: %s", what)
				}
			}
		}
		for _, d := range drops {
			ev := receipt.Modtaget
			if !d.good {
				ev = receipt.Afvist
			}
			lost(ev+" "+d.name, n[ev][d.name])
		}
		for _, k := range slots {
			lost("leveret "+k, n[receipt.Leveret][k])
		}
		for input, out := range computed {
			for v, files := range out {
				for name := range files {
					if strings.HasSuffix(name, ".sha256") {
						continue
					}
					p, _, _ := strings.Cut(name, "_")
					lost(fmt.Sprintf("beregnet %s from %s to %s", p, input, v), n[receipt.Beregnet][input+"/"+p+"/"+v])
				}
			}
		}
		for _, v := range crashVendors {
			if _, err := os.Stat(filepath.Join(stateDir, "outbox", v.name, "checkpoint.txt")); err != nil {
				lost("checkpoint.txt in "+v.name+"'s outbox (docs/audit.md)", 0)
			}
		}
		last := lives[len(lives)-1]
		if bad := badLines(last.log()); len(bad) > 0 {
			t.Errorf("the last start logged errors:\n%s", strings.Join(bad, "\n"))
		}
		for _, p := range lives[:len(lives)-1] {
			for _, l := range p.log() {
				if strings.Contains(l.text, "DATA RACE") || strings.Contains(l.text, "panic:") {
					t.Errorf("killed start: %s", l.text)
				}
			}
		}
		return rev
	}

	// The reference run, without a crash: all four files in the inbox at
	// start. It measures T and the windows the kills aim at.
	var T, accLo, accHi, pubLo, pubHi time.Duration
	t.Run("reference", func(t *testing.T) {
		stateDir, cfg := setup(t)
		inbox := inboxOf(t, stateDir)
		for _, d := range drops {
			drop(t, inbox, d.name, d.path)
		}
		p := startDaemon(t, cfg, false)
		finish(t, stateDir)
		p.waitLog(0, 30*time.Second, `msg="daemon ready"`)
		if code, _ := p.signal(syscall.SIGTERM, 30*time.Second); code != 0 {
			t.Errorf("exit status %d", code)
		}
		rev := verify(t, stateDir, cfg, []*proc{p})
		if rev != 1 {
			t.Errorf("the reference run published revision %d, want 1 (taken first, in name order)", rev)
		}
		first := func(subs ...string) time.Duration {
			for _, l := range p.log() {
				if containsAll(l.text, subs) {
					return logTime(t, l).Sub(p.start)
				}
			}
			t.Fatalf("no %q in the reference log", subs)
			return 0
		}
		lastOf := func(subs ...string) (d time.Duration) {
			for _, l := range p.log() {
				if containsAll(l.text, subs) {
					d = logTime(t, l).Sub(p.start)
				}
			}
			return d
		}
		accLo = first(`msg="extract accepted"`)
		accHi = lastOf(`msg="extract accepted"`)
		pubLo = first(`msg=published `)
		pubHi = lastOf(`msg=published `)
		T = max(accHi, pubHi, lastOf(`msg="extract rejected"`)) + 100*time.Millisecond
		accA := first(`msg="extract accepted"`, "file="+drops[1].name)
		t.Logf("reference run (from the start of the process): first accept %v, %s accepted %v, publications %v – %v, T = %v",
			accLo, drops[1].name, accA, pubLo, pubHi, T)
		accLo = max(0, accLo-300*time.Millisecond)
		accHi = pubHi + 100*time.Millisecond
		pubLo = max(0, accA-20*time.Millisecond)
		pubHi += 20 * time.Millisecond
	})
	if t.Failed() || T == 0 {
		t.FailNow()
	}
	delay := func() time.Duration {
		lo, hi := time.Duration(0), T
		switch rng.IntN(3) {
		case 1:
			lo, hi = accLo, accHi
		case 2:
			lo, hi = pubLo, pubHi
		}
		hi = max(hi, lo)
		return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
	}

	for i := range runs {
		order := rng.Perm(len(drops))
		viaEvents := rng.IntN(2) == 0
		kills := 1 + rng.IntN(3)
		var delays []time.Duration
		var graceful []bool // SIGTERM instead of SIGKILL
		for range kills {
			delays = append(delays, delay())
			graceful = append(graceful, rng.IntN(4) == 0)
		}
		ok := t.Run(fmt.Sprintf("run%03d", i), func(t *testing.T) {
			began, lostBefore := time.Now(), sumLost(stats.lost)
			stateDir, cfg := setup(t)
			inbox := inboxOf(t, stateDir)
			dropAll := func() {
				for _, j := range order {
					drop(t, inbox, drops[j].name, drops[j].path)
				}
			}
			if !viaEvents {
				dropAll()
			}
			var lives []*proc
			t.Cleanup(func() {
				if !t.Failed() {
					return
				}
				t.Logf("run %d: order %v, via events %v, kill delays %v, SIGTERM instead %v", i, order, viaEvents, delays, graceful)
				for _, p := range lives {
					p.dump()
				}
				filepath.WalkDir(stateDir, func(p string, d fs.DirEntry, err error) error {
					if err == nil {
						t.Logf("  %s", p)
					}
					return nil
				})
			})
			for k, d := range delays {
				p := startDaemon(t, cfg, true)
				lives = append(lives, p)
				from := p.start
				if k == 0 && viaEvents {
					p.waitLog(0, 10*time.Second, `msg="daemon ready"`)
					dropAll()
					from = time.Now()
				}
				time.Sleep(time.Until(from.Add(d)))
				if graceful[k] {
					// A stop at any point exits 0 and takes no longer than
					// the work in progress (an extract's computation here:
					// well under the 30 s grace).
					code, took := p.signal(syscall.SIGTERM, 45*time.Second)
					stats.terms++
					stats.maxStop = max(stats.maxStop, took)
					ws, _ := p.state.Sys().(syscall.WaitStatus)
					switch {
					case ws.Signaled() && ws.Signal() == syscall.SIGTERM && !p.logged(`msg="daemon ready"`):
						// In its first milliseconds, before cmd_run
						// installs the handler, the signal's default action
						// kills the process: as good as a kill -9.
						stats.early++
					case code != 0 || took > 10*time.Second:
						t.Errorf("SIGTERM %d (%v): exit status %d after %v", k+1, d, code, took)
					}
				} else {
					p.kill()
					stats.kills++
				}
				// What the kill interrupted, and what a vendor could see.
				st, err := readState(stateDir)
				switch {
				case errors.Is(err, fs.ErrNotExist):
					stats.beforeState++
				case err != nil:
					t.Errorf("kill %d: %v", k+1, err)
				default:
					if len(st.Intents) > 0 {
						stats.intent++
					}
					switch n := len(st.Slots); {
					case n == len(slots):
						stats.allPublished++
					case n > 0:
						stats.partlyPublished++
					}
				}
				if len(names(inbox)) == len(drops) {
					stats.inboxFull++
				}
				for _, n := range names(filepath.Join(stateDir, "staging")) {
					if strings.HasPrefix(n, ".") {
						stats.computing++
						break
					}
				}
				temps := false
				for _, v := range crashVendors {
					ob := filepath.Join(stateDir, "outbox", v.name)
					for _, n := range names(ob) {
						temps = temps || strings.HasPrefix(n, ".")
					}
					// Whichever revision it is, a visible file is complete.
					p1 := outboxProblems(ob, refs[1][v.name], false)
					p2 := outboxProblems(ob, refs[2][v.name], false)
					if len(p1) > 0 && len(p2) > 0 {
						t.Errorf("after kill %d (%v): %s", k+1, d, strings.Join(p1, "; "))
					}
				}
				if temps {
					stats.orphans++
				}
			}
			p := startDaemon(t, cfg, true)
			lives = append(lives, p)
			finish(t, stateDir)
			p.waitLog(0, 30*time.Second, `msg="daemon ready"`) // a SIGTERM before it would kill the process
			time.Sleep(50 * time.Millisecond)                  // room for a duplicate to show
			if code, _ := p.signal(syscall.SIGTERM, 30*time.Second); code != 0 {
				t.Errorf("exit status %d after SIGTERM", code)
			}
			switch verify(t, stateDir, cfg, lives) {
			case 1:
				stats.r1++
			case 2:
				stats.r2++
			}
			stats.seconds = append(stats.seconds, time.Since(began).Seconds())
			if lostBefore != sumLost(stats.lost) {
				stats.lostRuns++
			}
		})
		stats.runs++
		if !ok && os.Getenv("LEVERANCE_LONG") != "1" {
			break
		}
	}
	sort.Float64s(stats.seconds)
	t.Logf("%d crash runs, %d kills -9 and %d SIGTERMs (longest stop %v, %d before the handler was installed) (T = %v); what they interrupted: %d before the state file existed, "+
		"%d with all four files still in the inbox, %d in a computation (hidden staging dir), %d with a publication intent pending, "+
		"%d with temporary files in an outbox, %d with some slots published, %d after all were published; "+
		"revision published: r1 in %d runs, r2 in %d; run time median %.1fs; "+
		"receipts lost in %d runs: %v",
		stats.runs, stats.kills, stats.terms, stats.maxStop, stats.early, T, stats.beforeState, stats.inboxFull, stats.computing, stats.intent, stats.orphans,
		stats.partlyPublished, stats.allPublished, stats.r1, stats.r2, median(stats.seconds), stats.lostRuns, stats.lost)
}

func sumLost(m map[string]int) (n int) {
	for _, c := range m {
		n += c
	}
	return n
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return xs[len(xs)/2]
}

// ---- 3. reload ----

// TestE2EReload: on SIGHUP a valid change is applied and logged (a vendor
// added gets its files at once, recomputed from the archived extract); an
// invalid file (an unknown key) is refused with "reload failed" naming the
// key, the old configuration stays (the vendor it would add gets no
// outbox) and the daemon keeps serving (the next extract is taken, the
// next valid reload applies).
func TestE2EReload(t *testing.T) {
	t.Parallel()
	asOf, today := dates(t, 2*time.Minute)
	dir := t.TempDir()
	stateDir, src := filepath.Join(dir, "state"), filepath.Join(dir, "src")
	os.Mkdir(src, 0o750)
	cfg := filepath.Join(dir, "leverance.toml")
	v1 := []vendorConf{{"alle", `"*"`, allProducts}}
	v2 := append(append([]vendorConf{}, v1...), vendorConf{"ny", `"101", "147"`, `"daglig-opdatering", "daglige-beskeder"`})
	v3 := append(append([]vendorConf{}, v2...), vendorConf{"ny-2", `"173"`, `"daglig-opdatering"`})
	writeFileAtomic(t, cfg, []byte(configTOML(stateDir, "", v3)))
	name := "registreringer_" + compact(asOf) + ".csv"
	extract := basicExtract(t, src, name, "registreringer_20160121.csv", nil)
	ref := computeRef(t, cfg, extract) // all three vendors
	writeFileAtomic(t, cfg, []byte(configTOML(stateDir, "", v1)))

	p := startDaemon(t, cfg, false)
	p.waitLog(0, 10*time.Second, `msg="daemon ready"`)
	inbox := filepath.Join(stateDir, "inbox")
	drop(t, inbox, name, extract)
	outbox := func(v string) string { return filepath.Join(stateDir, "outbox", v) }
	complete := func(v string) func() bool {
		return func() bool { return len(outboxProblems(outbox(v), ref[v], true)) == 0 }
	}
	waitUntil(t, 20*time.Second, "alle's files", complete("alle"))

	// A valid change: a vendor is added.
	writeFileAtomic(t, cfg, []byte(configTOML(stateDir, "", v2)))
	m := p.mark()
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(m, 10*time.Second, `msg="configuration reloaded"`)
	waitUntil(t, 20*time.Second, "the new vendor's files", complete("ny"))
	for _, pr := range outboxProblems(outbox("ny"), ref["ny"], true) {
		t.Error(pr)
	}
	st, err := readState(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Slots[slotKey(t, "daglig-opdatering/"+compact(today)+"/ny")]; s == nil || s.Outcome != daemon.Rettidig {
		t.Errorf("the new vendor's slot: %+v", s)
	}

	// An invalid file: an unknown key, and a third vendor.
	writeFileAtomic(t, cfg, []byte(configTOML(stateDir, "bogus_key = 1", v3)))
	m = p.mark()
	p.cmd.Process.Signal(syscall.SIGHUP)
	_, l := p.waitLog(m, 10*time.Second, "reload failed")
	t.Logf("refused: %s", l.text)
	if !strings.Contains(l.text, "bogus_key") || !strings.Contains(l.text, "level=ERROR") {
		t.Errorf("the failed reload does not name the key: %s", l.text)
	}
	if _, err := os.Stat(outbox("ny-2")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused configuration was applied: outbox/ny-2: %v", err)
	}

	// Still serving, under the old configuration: the next extract is taken.
	next := "registreringer_" + compact(asOf) + "_2.csv"
	drop(t, inbox, next, extract)
	p.waitLog(m, 10*time.Second, `msg="extract accepted"`, "file="+next)
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Stat(outbox("ny-2")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused configuration was applied: outbox/ny-2: %v", err)
	}

	// And the next valid reload is applied.
	writeFileAtomic(t, cfg, []byte(configTOML(stateDir, "", v3)))
	m = p.mark()
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(m, 10*time.Second, `msg="configuration reloaded"`)
	waitUntil(t, 20*time.Second, "ny-2's files", complete("ny-2"))
	for v, files := range ref {
		for _, pr := range outboxProblems(outbox(v), files, true) {
			t.Error(pr)
		}
	}
	if code, _ := p.signal(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
	if bad := badLines(p.log(), "reload failed"); len(bad) > 0 {
		t.Errorf("the daemon logged errors:\n%s", strings.Join(bad, "\n"))
	}
}

// ---- 4. sd_notify ----

type datagram struct {
	at   time.Time
	text string
}

// notifySocket listens on a unixgram socket as systemd does for
// NOTIFY_SOCKET and collects the datagrams.
type notifySocket struct {
	path string
	mu   sync.Mutex
	msgs []datagram
	more chan struct{}
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	dir := t.TempDir()
	if len(dir) > 90 { // sun_path holds 108 bytes
		d, err := os.MkdirTemp("", "ln")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	n := &notifySocket{path: filepath.Join(dir, "notify.sock"), more: make(chan struct{})}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, _, err := c.ReadFromUnix(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, datagram{time.Now(), string(buf[:k])})
			close(n.more)
			n.more = make(chan struct{})
			n.mu.Unlock()
		}
	}()
	return n
}

// wait waits for a datagram at index from or later that has the line
// state, and returns its index.
func (n *notifySocket) wait(t *testing.T, from int, state string, timeout time.Duration) int {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		n.mu.Lock()
		for i := from; i < len(n.msgs); i++ {
			if hasLine(n.msgs[i].text, state) {
				n.mu.Unlock()
				return i
			}
		}
		from = len(n.msgs)
		more := n.more
		n.mu.Unlock()
		select {
		case <-more:
		case <-timer.C:
			t.Fatalf("no %s from the daemon within %v; got %q", state, timeout, n.texts())
		}
	}
}

func (n *notifySocket) texts() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var s []string
	for _, m := range n.msgs {
		s = append(s, m.text)
	}
	return s
}

func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// TestE2ENotify: with NOTIFY_SOCKET and WATCHDOG_USEC=200000 the daemon
// sends READY=1 first, WATCHDOG=1 every 100 ms from its loop, RELOADING=1
// then READY=1 around a SIGHUP, STOPPING=1 on SIGTERM, and exits 0.
func TestE2ENotify(t *testing.T) {
	t.Parallel()
	dates(t, time.Minute)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "leverance.toml")
	writeFileAtomic(t, cfg, []byte(configTOML(filepath.Join(dir, "state"), "", basicVendors)))
	n := listenNotify(t)
	p := startDaemon(t, cfg, false, "NOTIFY_SOCKET="+n.path, "WATCHDOG_USEC=200000")

	if i := n.wait(t, 0, "READY=1", 10*time.Second); i != 0 {
		t.Errorf("READY=1 is datagram %d; before it: %q", i, n.texts()[:i])
	}
	w := 0
	for range 5 {
		w = n.wait(t, w+1, "WATCHDOG=1", 5*time.Second)
	}
	m := p.mark()
	p.cmd.Process.Signal(syscall.SIGHUP)
	r := n.wait(t, w+1, "RELOADING=1", 10*time.Second)
	ready := n.wait(t, r+1, "READY=1", 10*time.Second)
	p.waitLog(m, 5*time.Second, `msg="configuration reloaded"`)
	w = n.wait(t, ready+1, "WATCHDOG=1", 5*time.Second)
	n.wait(t, w+1, "WATCHDOG=1", 5*time.Second)

	code, took := p.signal(syscall.SIGTERM, 10*time.Second)
	if code != 0 {
		t.Errorf("exit status %d after SIGTERM", code)
	}
	n.wait(t, 0, "STOPPING=1", time.Second)

	msgs := n.texts()
	var gaps []time.Duration
	n.mu.Lock()
	var prev time.Time
	for _, d := range n.msgs {
		if hasLine(d.text, "WATCHDOG=1") {
			if !prev.IsZero() {
				gaps = append(gaps, d.at.Sub(prev))
			}
			prev = d.at
		}
	}
	n.mu.Unlock()
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	if len(gaps) > 0 {
		t.Logf("%d datagrams; WATCHDOG=1 intervals: min %v, median %v, max %v (WATCHDOG_USEC/2 = 100ms); stopped %v after SIGTERM",
			len(msgs), gaps[0], gaps[len(gaps)/2], gaps[len(gaps)-1], took)
	}
	// The watchdog keeps to half of WATCHDOG_USEC, with room for a loaded machine.
	if len(gaps) > 0 && gaps[len(gaps)/2] > 175*time.Millisecond {
		t.Errorf("median WATCHDOG=1 interval %v, want about 100ms", gaps[len(gaps)/2])
	}
	if last := msgs[len(msgs)-1]; !hasLine(last, "STOPPING=1") {
		t.Errorf("the last datagram is %q, want STOPPING=1", last)
	}
	if bad := badLines(p.log()); len(bad) > 0 {
		t.Errorf("the daemon logged errors:\n%s", strings.Join(bad, "\n"))
	}
}

// ---- 5. graceful stop ----

// TestE2EStop: SIGTERM and SIGINT stop an idle daemon at once with exit
// status 0 and "daemon stopped"; a SIGTERM during a publication round exits
// 0 as soon as the round is done; a SIGTERM while an extract is being
// computed waits for it (within the grace period) but takes no queued one,
// exits 0, and the extract is not lost: the next start publishes it.
func TestE2EStop(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			dates(t, time.Minute)
			dir := t.TempDir()
			cfg := filepath.Join(dir, "leverance.toml")
			writeFileAtomic(t, cfg, []byte(configTOML(filepath.Join(dir, "state"), "", basicVendors)))
			p := startDaemon(t, cfg, false)
			p.waitLog(0, 10*time.Second, `msg="daemon ready"`)
			code, took := p.signal(sig, 10*time.Second)
			t.Logf("exit status %d, %v after %v", code, took, sig)
			if code != 0 {
				t.Errorf("exit status %d, want 0", code)
			}
			if took > 2*time.Second {
				t.Errorf("an idle daemon took %v to stop", took)
			}
			p.waitLog(0, 0, `msg="daemon stopped"`)
			if bad := badLines(p.log()); len(bad) > 0 {
				t.Errorf("the daemon logged errors:\n%s", strings.Join(bad, "\n"))
			}
		})
	}
	t.Run("publishing", func(t *testing.T) {
		// SIGTERM while a publication round runs and another round is
		// already asked for (a rejected file's "done" during the round): the
		// publisher finishes the round and the daemon exits at once, not
		// after the 30 s grace (as it did when the publisher blocked
		// handing its next wake time to the stopped loop).
		t.Parallel()
		asOf, _ := dates(t, 2*time.Minute)
		dir := t.TempDir()
		stateDir := filepath.Join(dir, "state")
		cfg := filepath.Join(dir, "leverance.toml")
		writeFileAtomic(t, cfg, []byte(configTOML(stateDir, "", crashVendors)))
		name := "registreringer_" + compact(asOf) + ".csv"
		extract := filepath.Join(dir, name)
		generate(t, extract, asOf, 20000, 5)
		notes := basicExtract(t, dir, "notes.txt", "registreringer_20160120.csv", nil)
		ref := computeRef(t, cfg, extract)

		p := startDaemon(t, cfg, false)
		p.waitLog(0, 10*time.Second, `msg="daemon ready"`)
		inbox := filepath.Join(stateDir, "inbox")
		drop(t, inbox, name, extract)
		p.waitLog(0, 20*time.Second, `msg="extract accepted"`) // the round starts
		drop(t, inbox, "notes.txt", notes)
		p.waitLog(0, 10*time.Second, `msg="extract rejected"`) // and another is asked for
		time.Sleep(15 * time.Millisecond)
		code, took := p.signal(syscall.SIGTERM, 45*time.Second)
		t.Logf("SIGTERM during a publication round: exit status %d after %v", code, took)
		if code != 0 || took > 5*time.Second {
			t.Errorf("exit status %d after %v, want 0 at once", code, took)
		}
		restartAndCheck(t, cfg, stateDir, ref, p)
	})
	t.Run("queue", func(t *testing.T) {
		// SIGTERM with extracts queued behind the one being computed: the
		// worker finishes that one and takes no other (it used to pick a
		// queued file at random before seeing the stop); the others stay in
		// the inbox for the next start.
		t.Parallel()
		asOf, _ := dates(t, 2*time.Minute)
		dir := t.TempDir()
		var srcs []string
		for i := range 3 {
			p := filepath.Join(dir, fmt.Sprintf("registreringer_%s_%d.csv", compact(asOf), i+2))
			generate(t, p, asOf, 10000, i+1)
			srcs = append(srcs, p)
		}
		for round := range 4 {
			stateDir := filepath.Join(dir, fmt.Sprintf("state%d", round))
			cfg := filepath.Join(dir, fmt.Sprintf("leverance%d.toml", round))
			writeFileAtomic(t, cfg, []byte(configTOML(stateDir, "", basicVendors)))
			p := startDaemon(t, cfg, false)
			p.waitLog(0, 10*time.Second, `msg="daemon ready"`)
			inbox := filepath.Join(stateDir, "inbox")
			for _, src := range srcs {
				drop(t, inbox, filepath.Base(src), src)
			}
			time.Sleep(50 * time.Millisecond) // the first is being computed
			code, took := p.signal(syscall.SIGTERM, 45*time.Second)
			taken, stopping := 0, false
			for _, l := range p.log() {
				stopping = stopping || strings.Contains(l.text, "stopping")
				if stopping && containsAny(l.text, []string{`msg="extract accepted"`, `msg="extract rejected"`}) {
					taken++
				}
			}
			t.Logf("round %d: exit status %d after %v; extracts taken after the stop began: %d", round, code, took, taken)
			if code != 0 || taken > 1 {
				t.Errorf("round %d: exit status %d, %d extracts taken after SIGTERM (want 0, at most the one in progress)", round, code, taken)
			}
			for _, src := range srcs {
				name := filepath.Base(src)
				_, inInbox := os.Stat(filepath.Join(inbox, name))
				_, inArchive := os.Stat(filepath.Join(stateDir, "archive", name))
				if inInbox != nil && inArchive != nil {
					t.Errorf("round %d: %s lost", round, name)
				}
			}
		}
	})
	t.Run("busy", func(t *testing.T) {
		t.Parallel()
		asOf, _ := dates(t, 2*time.Minute)
		dir := t.TempDir()
		stateDir := filepath.Join(dir, "state")
		cfg := filepath.Join(dir, "leverance.toml")
		writeFileAtomic(t, cfg, []byte(configTOML(stateDir, "", basicVendors)))
		name := "registreringer_" + compact(asOf) + ".csv"
		extract := filepath.Join(dir, name)
		generate(t, extract, asOf, 20000, 5)
		ref := computeRef(t, cfg, extract)

		p := startDaemon(t, cfg, false)
		p.waitLog(0, 10*time.Second, `msg="daemon ready"`)
		drop(t, filepath.Join(stateDir, "inbox"), name, extract)
		time.Sleep(50 * time.Millisecond) // the event is taken: the computation runs
		code, took := p.signal(syscall.SIGTERM, 40*time.Second)
		t.Logf("SIGTERM during a computation: exit status %d after %v", code, took)
		if code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		p.waitLog(0, 0, `msg="daemon stopped"`)
		_, inInbox := os.Stat(filepath.Join(stateDir, "inbox", name))
		_, inArchive := os.Stat(filepath.Join(stateDir, "archive", name))
		if inInbox != nil && inArchive != nil {
			t.Fatalf("the extract is lost: inbox %v, archive %v", inInbox, inArchive)
		}
		restartAndCheck(t, cfg, stateDir, ref, p)
	})
}
