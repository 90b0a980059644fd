//go:build linux

package daemon_test

// Failover tests: a real etcd (Debian's etcd-server, internal/etcdtest) and
// two `leverance run` processes, nodes a and b, on one state directory.
// LEVERANCE_FAILOVER_RUNS=N sets the kill campaign's runs (3 by default;
// the figures of docs/operations.md come from 50).

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"leverance/internal/etcdtest"
	"leverance/internal/sshdtest"
	"leverance/receipt"
)

// failoverTTL is the tests' lease_ttl: short, so that the tests are, yet
// long enough for a loaded CI machine to renew it in time.
const failoverTTL = 3 * time.Second

// killAfterDrop is when TestFailoverBeforeDeadline kills the leader after
// the extract arrived: while it computes 20,000 citizens or publishes.
const killAfterDrop = 150 * time.Millisecond

// node is one cluster node of a test: its configuration, status port and
// SFTP port.
type node struct {
	name, cfg, http, sftp string
	p                     *proc
}

// clusterSetup writes the configurations of nodes a and b on stateDir.
func clusterSetup(t *testing.T, etcd *etcdtest.Server, stateDir string, vendors []vendorConf) (a, b *node) {
	t.Helper()
	dir := t.TempDir()
	mk := func(name string) *node {
		n := &node{name: name, cfg: filepath.Join(dir, name+".toml"), http: fmt.Sprintf("127.0.0.1:%d", sshdtest.FreePort(t)),
			sftp: fmt.Sprintf("127.0.0.1:%d", sshdtest.FreePort(t))}
		c := configTOML(stateDir, "", vendors)
		c = strings.Replace(c, "[http]\nlisten = \"\"", fmt.Sprintf("[http]\nlisten = %q", n.http), 1)
		c = strings.Replace(c, "[sftp_server]\nlisten = \"\"", fmt.Sprintf("[sftp_server]\nlisten = %q", n.sftp), 1)
		c += fmt.Sprintf("\n[cluster]\netcd = [%q]\nnode = %q\nlease_ttl = %q\n", etcd.Endpoint, name, failoverTTL.String())
		writeFileAtomic(t, n.cfg, []byte(c))
		return n
	}
	return mk("a"), mk("b")
}

// startPair starts nodes a and b on a new state directory, a first, so
// that a leads, and returns once b runs too.
func startPair(t *testing.T, etcd *etcdtest.Server) (stateDir string, a, b *node) {
	t.Helper()
	stateDir = filepath.Join(t.TempDir(), "state")
	a, b = clusterSetup(t, etcd, stateDir, basicVendors)
	a.start(t)
	a.leads(t)
	b.start(t)
	if err := os.MkdirAll(filepath.Join(stateDir, "inbox"), 0o750); err != nil {
		t.Fatal(err)
	}
	return stateDir, a, b
}

func (n *node) start(t *testing.T) {
	t.Helper()
	n.p = startDaemon(t, n.cfg, false)
	t.Cleanup(func() {
		for _, l := range n.p.log() {
			if strings.Contains(l.text, "DATA RACE") || strings.Contains(l.text, "panic:") {
				t.Errorf("node %s: %s", n.name, l.text)
			}
		}
	})
	n.p.waitLog(0, 15*time.Second, `msg="cluster node ready`)
}

// ready is the node's /readyz status code (0 when it does not answer).
func (n *node) ready() int {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + n.http + "/readyz")
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// sftpOpen reports whether the node's SFTP port accepts a connection and
// greets with an SSH banner.
func (n *node) sftpOpen() bool {
	c, err := net.DialTimeout("tcp", n.sftp, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	banner := make([]byte, 4)
	_, err = io.ReadFull(c, banner)
	return err == nil && string(banner) == "SSH-"
}

// elected waits for the node's next "elected leader" line after from and
// returns when it was logged.
func (n *node) elected(t *testing.T, from int, timeout time.Duration) time.Time {
	t.Helper()
	_, l := n.p.waitLog(from, timeout, `msg="elected leader`)
	return l.seen
}

// leads waits until the node, started, is elected and answers /readyz 200.
func (n *node) leads(t *testing.T) {
	t.Helper()
	n.elected(t, 0, 15*time.Second)
	waitUntil(t, 15*time.Second, n.name+" ready as the leader", func() bool { return n.ready() == 200 })
}

// failoverFixture starts etcd and writes an extract of as-of date asOf
// with that many citizens, and what `leverance compute` makes of it: the
// files due on today and their slots.
func failoverFixture(t *testing.T, asOf, today time.Time, citizens int) (*etcdtest.Server, string, outputs, []string) {
	t.Helper()
	binary(t) // skips under -short before etcd is started
	etcd := etcdtest.Start(t)
	src := t.TempDir()
	ext := filepath.Join(src, "registreringer_"+compact(asOf)+".csv")
	generate(t, ext, asOf, citizens, 1)
	refCfg := filepath.Join(src, "ref.toml")
	writeFileAtomic(t, refCfg, []byte(configTOML(filepath.Join(src, "unused"), "", basicVendors)))
	ref := computeRef(t, refCfg, ext)
	return etcd, ext, ref, ref.slots(today)
}

// recordsByNode reads the receipts and returns them with the seq of each
// node's first and last record.
func recordsByNode(t *testing.T, stateDir string) ([]receipt.Record, map[string][2]int64) {
	t.Helper()
	recs, err := receipt.ReadRecords(filepath.Join(stateDir, "receipts"))
	if err != nil {
		t.Fatal(err)
	}
	span := map[string][2]int64{}
	for _, r := range recs {
		s, ok := span[r.Node]
		if !ok {
			s[0] = r.Seq
		}
		s[1] = r.Seq
		span[r.Node] = s
	}
	return recs, span
}

// deliveredOnce checks the end state of a run: every due file in its outbox
// exactly once with the right content, nothing partial, the receipts log
// verifies with one leveret per slot, and every record names its node.
func deliveredOnce(t *testing.T, stateDir, cfg string, ref outputs, slots []string) {
	t.Helper()
	for v, files := range ref {
		for _, pr := range outboxProblems(filepath.Join(stateDir, "outbox", v), files, true) {
			t.Error(pr)
		}
	}
	if pr := receiptsVerify(t, cfg); pr != "" {
		t.Error(pr)
	}
	n, err := receiptCounts(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range slots {
		if c := n[receipt.Leveret][k]; c != 1 {
			t.Errorf("slot %s: %d leveret receipts, want 1", k, c)
		}
	}
	if len(n[receipt.Leveret]) != len(slots) {
		t.Errorf("leveret receipts for %d slots, want %d", len(n[receipt.Leveret]), len(slots))
	}
	recs, _ := recordsByNode(t, stateDir)
	for _, r := range recs {
		if r.Node != "a" && r.Node != "b" {
			t.Errorf("receipt %d (%s) names node %q", r.Seq, r.Event, r.Node)
		}
	}
}

// stopNodes stops the nodes (SIGTERM), which must exit 0: what a leader
// was doing (a checkpoint copy after the last publication) is finished
// before the state directory is checked.
func stopNodes(t *testing.T, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		if code, _ := n.p.signal(syscall.SIGTERM, 15*time.Second); code != 0 {
			t.Errorf("%s exited %d", n.name, code)
		}
	}
}

// published waits until the state holds every slot and no intent, and every
// outbox exactly its files (a checkpoint copy in progress is waited for).
func published(t *testing.T, stateDir string, ref outputs, slots []string, timeout time.Duration) {
	t.Helper()
	why := ""
	waitUntil(t, timeout, "every slot published", func() bool {
		st, err := readState(stateDir)
		if err != nil {
			why = err.Error()
			return false
		}
		for _, k := range slots {
			if st.Slots[slotKey(t, k)] == nil {
				why = "slot " + k + " not finished"
				return false
			}
		}
		why = fmt.Sprintf("%d intents", len(st.Intents))
		if len(st.Intents) > 0 || len(names(filepath.Join(stateDir, "inbox"))) > 0 {
			return false
		}
		for v, files := range ref {
			if pr := outboxProblems(filepath.Join(stateDir, "outbox", v), files, true); len(pr) > 0 {
				why = strings.Join(pr, "; ")
				return false
			}
		}
		return true
	}, func() string { return why })
}

// TestFailoverKill: kill -9 of the leader at a random point of intake and
// publication; the other node takes over within lease_ttl + 5 s and every
// due file is published exactly once, right, with nothing partial
// visible and receipts that verify. Runs: LEVERANCE_FAILOVER_RUNS (3).
func TestFailoverKill(t *testing.T) {
	runs := 3
	if n, err := strconv.Atoi(os.Getenv("LEVERANCE_FAILOVER_RUNS")); err == nil && n > 0 {
		runs = n
	}
	asOf, today := dates(t, time.Duration(runs)*25*time.Second+time.Minute)
	etcd, ext, ref, slots := failoverFixture(t, asOf, today, 20000)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 17))
	var takeovers []float64
	phases := map[string]int{}
	// A run without a kill measures how long intake and publication take:
	// the kills land uniformly in that span.
	var span, pubStart time.Duration
	t.Run("uncrashed", func(t *testing.T) {
		stateDir, a, _ := startPair(t, etcd)
		at := drop(t, filepath.Join(stateDir, "inbox"), filepath.Base(ext), ext)
		published(t, stateDir, ref, slots, 60*time.Second)
		span = time.Since(at)
		_, l := a.p.waitLog(0, time.Second, `msg="extract accepted"`)
		pubStart = l.seen.Sub(at)
		deliveredOnce(t, stateDir, a.cfg, ref, slots)
		t.Logf("intake took %v, intake and publication %v", pubStart.Round(time.Millisecond), span.Round(time.Millisecond))
	})
	if span == 0 || pubStart >= span {
		t.FailNow()
	}
	for run := 0; run < runs; run++ {
		// Half the kills anywhere in intake and publication, half within
		// the publications (which are short).
		delay := time.Duration(rng.Int64N(int64(span)))
		if run%2 == 1 {
			delay = pubStart + time.Duration(rng.Int64N(int64(span-pubStart)))
		}
		ok := t.Run(fmt.Sprintf("run%d", run), func(t *testing.T) {
			stateDir, a, b := startPair(t, etcd)
			at := drop(t, filepath.Join(stateDir, "inbox"), filepath.Base(ext), ext)
			time.Sleep(delay) // the kill point: during intake or publication, or after
			from := b.p.mark()
			a.p.kill()
			killed := time.Now()
			phase := killPhase(stateDir, slots)
			phases[phase]++
			if phase == "after" { // a was faster than thought: aim earlier
				span, pubStart = timings(a.p, at, len(slots), span, pubStart)
			}
			took := b.elected(t, from, failoverTTL+5*time.Second).Sub(killed)
			takeovers = append(takeovers, took.Seconds())
			for _, pr := range outboxVisible(stateDir, ref) {
				t.Errorf("right after the kill: %s", pr)
			}
			waitUntil(t, 15*time.Second, "b ready as the leader", func() bool { return b.ready() == 200 })
			published(t, stateDir, ref, slots, 60*time.Second)
			stopNodes(t, b)
			deliveredOnce(t, stateDir, b.cfg, ref, slots)
			if bad := badLines(b.p.log(), "etcd unreachable"); len(bad) > 0 {
				t.Errorf("b logged errors:\n%s", strings.Join(bad, "\n"))
			}
			t.Logf("kill %v after the drop (%s); takeover %.2f s", delay.Round(time.Millisecond), phase, took.Seconds())
		})
		if !ok {
			break
		}
	}
	sort.Float64s(takeovers)
	if len(takeovers) > 0 {
		t.Logf("takeover after kill -9 (lease_ttl %v), %d runs: median %.2f s, worst %.2f s; kills %v",
			failoverTTL, len(takeovers), median(takeovers), takeovers[len(takeovers)-1], phases)
	}
}

// outboxVisible checks what a kill left visible: each visible file is
// complete and right (temporary ones may be there).
func outboxVisible(stateDir string, ref outputs) []string {
	var probs []string
	for v, files := range ref {
		probs = append(probs, outboxProblems(filepath.Join(stateDir, "outbox", v), files, false)...)
	}
	return probs
}

// timings reads from a leader's log how long it took, from the drop at,
// to accept the extract (pubStart) and to publish its n slots (span); it
// returns the old values when the log does not tell.
func timings(p *proc, at time.Time, n int, span, pubStart time.Duration) (time.Duration, time.Duration) {
	var accepted, last time.Time
	count := 0
	for _, l := range p.log() {
		switch {
		case strings.Contains(l.text, `msg="extract accepted"`):
			accepted = l.seen
		case strings.Contains(l.text, `msg=published `):
			last, count = l.seen, count+1
		}
	}
	if accepted.IsZero() || count < n || !last.After(accepted) {
		return span, pubStart
	}
	return last.Sub(at), accepted.Sub(at)
}

// killPhase says, from the state directory, where a kill landed: during
// intake (the extract still in the inbox), during publication (some slots
// not finished or an intent open), or after everything was published.
func killPhase(stateDir string, slots []string) string {
	if len(names(filepath.Join(stateDir, "inbox"))) > 0 {
		return "intake"
	}
	st, err := readState(stateDir)
	if err != nil {
		return "intake"
	}
	done := 0
	for _, s := range st.Slots {
		if s.Status == receipt.Leveret {
			done++
		}
	}
	if done < len(slots) || len(st.Intents) > 0 {
		return "publication"
	}
	return "after"
}

// TestFailoverPause: the leader is stopped (SIGSTOP) as it begins to
// publish an extract, past its lease; the other node takes over and publishes. Then
// the paused one is continued (SIGCONT): it finds its lease gone, steps
// down, and writes nothing — no receipt of it after the new leader's
// first, no file published twice — and answers /readyz 503 with its SFTP
// port closed while the new leader answers 200 and serves SFTP; each
// node's /status.json and /metrics give its role.
func TestFailoverPause(t *testing.T) {
	asOf, today := dates(t, 3*time.Minute)
	etcd, ext, ref, slots := failoverFixture(t, asOf, today, 20000)
	t.Run("computing", func(t *testing.T) { pauseRun(t, etcd, ext, ref, slots, false) })
	t.Run("publishing", func(t *testing.T) { pauseRun(t, etcd, ext, ref, slots, true) })
}

// pauseRun is one TestFailoverPause: a is stopped while it computes the
// extract, or (publishing) as it begins to record and publish it.
func pauseRun(t *testing.T, etcd *etcdtest.Server, ext string, ref outputs, slots []string, publishing bool) {
	stateDir, a, b := startPair(t, etcd)
	if a.ready() != 200 || b.ready() != 503 {
		t.Fatalf("/readyz: a %d, b %d; want 200 and 503", a.ready(), b.ready())
	}
	if !a.sftpOpen() || b.sftpOpen() {
		t.Fatalf("SFTP port open: a %v, b %v; want the leader's only", a.sftpOpen(), b.sftpOpen())
	}
	from := b.p.mark()
	drop(t, filepath.Join(stateDir, "inbox"), filepath.Base(ext), ext)
	if publishing {
		// a records the extract's receipts and publishes from here: it
		// has receipts to append, intents to save and files to commit
		// when it resumes.
		a.p.waitLog(0, 30*time.Second, `msg="extract accepted"`)
	} else {
		time.Sleep(50 * time.Millisecond) // a has taken the file and computes it
	}
	if err := a.p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	defer a.p.cmd.Process.Signal(syscall.SIGCONT)
	took := b.elected(t, from, failoverTTL+5*time.Second).Sub(stopped)
	// b completes the take-over while a is stopped — unless a was stopped
	// holding the receipts log's lock (which keeps a half-written append
	// from being interleaved with another): then b waits for a to resume
	// or die. Only a stop during an append can do that.
	whileStopped := false
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && !whileStopped; time.Sleep(50 * time.Millisecond) {
		whileStopped = b.ready() == 200
	}
	if !whileStopped && !publishing {
		t.Fatal("b did not take over while a was stopped during its computation")
	}
	time.Sleep(failoverTTL - time.Since(stopped) + time.Second) // the pause lasts past the lease, whatever b's speed
	aMark := a.p.mark()
	if err := a.p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	a.p.waitLog(aMark, 10*time.Second, "LEADERSHIP LOST")
	waitUntil(t, 15*time.Second, "b ready as the leader", func() bool { return b.ready() == 200 })
	published(t, stateDir, ref, slots, 60*time.Second)
	// Let a run on as a follower for longer than a lease.
	deadline := time.Now().Add(failoverTTL + 2*time.Second)
	for time.Now().Before(deadline) {
		if a.ready() == 200 {
			t.Fatal("the resumed node answers /readyz 200 while b leads")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := b.ready(); code != 200 {
		t.Errorf("b /readyz %d, want 200", code)
	}
	if a.sftpOpen() || !b.sftpOpen() {
		t.Errorf("SFTP port open after the take-over: a %v, b %v; want b's only", a.sftpOpen(), b.sftpOpen())
	}
	recs, span := recordsByNode(t, stateDir)
	bFirst := span["b"][0]
	if s, ok := span["a"]; ok && s[1] > bFirst {
		for _, r := range recs {
			if r.Node == "a" && r.Seq > bFirst {
				t.Errorf("the resumed node appended receipt %d (%s %s) after b's first (%d)", r.Seq, r.Event, r.File, bFirst)
			}
		}
	}
	for _, l := range a.p.log()[aMark:] {
		if strings.Contains(l.text, `msg=published `) || strings.Contains(l.text, `msg="extract accepted"`) {
			t.Errorf("the resumed node acted: %s", l.text)
		}
	}
	st := statusJSON(t, a)
	if st.Node != "a" || st.Role != "follower" {
		t.Errorf("a /status.json node %q role %q, want a follower", st.Node, st.Role)
	}
	if st := statusJSON(t, b); st.Node != "b" || st.Role != "leader" {
		t.Errorf("b /status.json node %q role %q, want b leader", st.Node, st.Role)
	}
	for n, want := range map[*node][]string{
		a: {`leverance_cluster_leader{node="a"} 0`, `leverance_cluster_leadership_lost_total{node="a"} 1`},
		b: {`leverance_cluster_leader{node="b"} 1`, `leverance_cluster_leadership_changes_total{node="b"} 1`},
	} {
		m := metricsText(t, n)
		for _, w := range want {
			if !strings.Contains(m, w+"\n") {
				t.Errorf("%s /metrics lacks %s", n.name, w)
			}
		}
	}
	stopNodes(t, a, b)
	deliveredOnce(t, stateDir, b.cfg, ref, slots)
	refused := 0
	for _, l := range a.p.log()[aMark:] {
		if strings.Contains(l.text, "step not taken") {
			refused++
		}
	}
	t.Logf("elected %.2f s after SIGSTOP (lease_ttl %v); take-over complete while a was stopped: %v; steps the resumed node tried and the fence refused: %d",
		took.Seconds(), failoverTTL, whileStopped, refused)
}

// TestFailoverEtcdDown: etcd stops for longer than the lease: the leader
// stops acting when its lease ends, no node acts meanwhile (an extract
// dropped then stays in the inbox), and no two nodes ever answer /readyz
// 200 at once; when etcd is back, one node leads and delivers.
func TestFailoverEtcdDown(t *testing.T) {
	asOf, today := dates(t, 2*time.Minute)
	etcd, ext, ref, slots := failoverFixture(t, asOf, today, 2000)

	stateDir, a, b := startPair(t, etcd)
	// Watch both nodes' /readyz through the whole test.
	both := make(chan string, 1)
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if ra, rb := a.ready(), b.ready(); ra == 200 && rb == 200 {
				select {
				case both <- time.Now().Format("15:04:05.000"):
				default:
				}
			}
		}
	}()
	defer func() { close(stop); <-watched }()

	aMark := a.p.mark()
	etcd.Stop()
	down := time.Now()
	_, l := a.p.waitLog(aMark, failoverTTL+2*time.Second, "LEADERSHIP LOST")
	if d := l.seen.Sub(down); d > failoverTTL {
		t.Errorf("the leader stopped acting %v after etcd went away; the lease is %v", d, failoverTTL)
	}
	drop(t, filepath.Join(stateDir, "inbox"), filepath.Base(ext), ext)
	time.Sleep(2 * failoverTTL) // etcd away for three leases in all
	if ns := names(filepath.Join(stateDir, "inbox")); len(ns) != 1 {
		t.Errorf("a node acted while etcd was down: inbox %v", ns)
	}
	if a.ready() != 503 || b.ready() != 503 {
		t.Errorf("/readyz while etcd is down: a %d, b %d; want 503 and 503", a.ready(), b.ready())
	}
	etcd.Start()
	waitUntil(t, 30*time.Second, "a leader again", func() bool { return a.ready() == 200 || b.ready() == 200 })
	published(t, stateDir, ref, slots, 60*time.Second)
	stopNodes(t, a, b)
	deliveredOnce(t, stateDir, b.cfg, ref, slots)
	select {
	case at := <-both:
		t.Errorf("both nodes answered /readyz 200 at %s", at)
	default:
	}
	if !a.p.logged("etcd unreachable") && !b.p.logged("etcd unreachable") {
		t.Error("no node said that etcd was unreachable")
	}
	t.Logf("leader stopped acting %.2f s after etcd stopped; delivered %.2f s after etcd came back",
		l.seen.Sub(down).Seconds(), time.Since(down).Seconds()-3*failoverTTL.Seconds())
}

// statusJSON reads the node's /status.json.
func statusJSON(t *testing.T, n *node) (st struct{ Node, Role string }) {
	t.Helper()
	resp, err := http.Get("http://" + n.http + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestFailoverBeforeDeadline: a window is missed only for the takeover
// time. The daily products' deadline is set to a minute boundary of the
// real clock (the daemon reads the real clock: the injected "clock" is the
// configuration's window, put where the test needs it); the extract arrives
// killAfterDrop before the leader is killed, 30 s before the deadline,
// while the leader takes the extract or publishes. The other node takes over, takes the extract and publishes
// every slot rettidig, before the deadline.
func TestFailoverBeforeDeadline(t *testing.T) {
	now := time.Now().In(testZone)
	deadline := now.Truncate(time.Minute).Add(time.Minute)
	if deadline.Sub(now) < 40*time.Second {
		deadline = deadline.Add(time.Minute)
	}
	asOf, today := dates(t, deadline.Sub(now)+2*time.Minute+30*time.Second)
	if deadline.Add(3*time.Minute).Day() != now.Day() || now.Add(-3*time.Minute).Day() != now.Day() {
		t.Fatal("the window would cross midnight in the tests' time zone (testZone: about noon at the start)")
	}
	etcd, ext, ref, slots := failoverFixture(t, asOf, today, 20000)

	stateDir := filepath.Join(t.TempDir(), "state")
	a, b := clusterSetup(t, etcd, stateDir, basicVendors)
	hm := func(t time.Time) string { return t.Format("15:04") }
	window := fmt.Sprintf("release = %q\ndeadline = %q\ncutoff = %q\n",
		hm(now.Add(-2*time.Minute)), hm(deadline), hm(deadline.Add(2*time.Minute)))
	for _, n := range []*node{a, b} {
		c := string(mustRead(t, n.cfg))
		for _, p := range []string{"daglig-opdatering", "daglige-beskeder"} {
			c = strings.Replace(c, "[product."+p+"]\nrelease = \"00:00\"\ndeadline = \"23:58\"\ncutoff = \"23:59\"\n", "[product."+p+"]\n"+window, 1)
		}
		writeFileAtomic(t, n.cfg, []byte(c))
	}
	a.start(t)
	a.leads(t)
	b.start(t)
	time.Sleep(time.Until(deadline.Add(-30*time.Second - killAfterDrop)))
	from := b.p.mark()
	drop(t, filepath.Join(stateDir, "inbox"), filepath.Base(ext), ext)
	time.Sleep(time.Until(deadline.Add(-30 * time.Second)))
	a.p.kill()
	killed := time.Now()
	phase := killPhase(stateDir, slots)
	took := b.elected(t, from, failoverTTL+5*time.Second).Sub(killed)
	waitUntil(t, 15*time.Second, "b ready as the leader", func() bool { return b.ready() == 200 })
	published(t, stateDir, ref, slots, time.Until(deadline)+time.Minute)
	st, err := readState(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range slots {
		s := st.Slots[slotKey(t, k)]
		if s == nil || s.Status != receipt.Leveret || s.Outcome != "rettidig" || !s.Time.Before(deadline) {
			t.Errorf("slot %s: %+v; want leveret rettidig before %s", k, s, deadline.Format("15:04:05"))
		}
	}
	stopNodes(t, b)
	deliveredOnce(t, stateDir, b.cfg, ref, slots)
	last := time.Time{}
	for _, s := range st.Slots {
		if s.Time.After(last) {
			last = s.Time
		}
	}
	t.Logf("leader killed 30 s before the deadline (%s); takeover %.2f s; last slot published %.1f s before the deadline",
		phase, took.Seconds(), deadline.Sub(last).Seconds())
}

// metricsText reads the node's /metrics.
func metricsText(t *testing.T, n *node) string {
	t.Helper()
	resp, err := http.Get("http://" + n.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
