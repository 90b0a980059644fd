//go:build unix

package daemon

// The status page in a real browser (docs/status.md: tested in a real browser):
// the daemon's own path — Run with a temporary state directory, the real
// receipts log on disk, the real clock and the HTTP server on a free port —
// and headless Chromium loading the page, without JavaScript.
//
// Chromium is found as $LEVERANCE_CHROMIUM, chromium, chromium-browser,
// google-chrome-stable or google-chrome. Without one the test skips, unless
// LEVERANCE_TEST_DISALLOW_SKIP is set (CI), where it fails. The screenshot
// (status-page.png; status-page-375.png and -1280.png at those widths) and
// the DOM Chromium saw are kept in $LEVERANCE_ARTIFACTS (CI: ./artifacts; default: the
// test's temporary directory).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"leverance/config"
	"leverance/internal/noonzone"
)

// chromium returns the browser's path, or skips (or fails, in CI) the test.
func chromium(t *testing.T) string {
	t.Helper()
	names := []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"}
	if p := os.Getenv("LEVERANCE_CHROMIUM"); p != "" {
		names = []string{p}
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("no headless browser (%s): install Debian's chromium", strings.Join(names, ", "))
	if os.Getenv("LEVERANCE_TEST_DISALLOW_SKIP") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// runChromium runs the browser headless on url with the extra flags and
// returns what it wrote on stdout. It runs in its own process group, which
// is killed when it is done or after the timeout (Chromium starts helpers).
func runChromium(t *testing.T, bin, url string, extra ...string) []byte {
	t.Helper()
	home := t.TempDir()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--hide-scrollbars", "--user-data-dir=" + filepath.Join(home, "profile")}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // helpers left behind, if any
	}
	if err != nil {
		t.Fatalf("%s %s: %v\nstderr:\n%s", bin, strings.Join(extra, " "), err, tail(stderr.String(), 40))
	}
	return stdout.Bytes()
}

func tail(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// lockedBuffer collects the daemon's log for a failure report.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// noonZone returns a fixed UTC offset under which it is now between 12:00
// and 13:00 (package noonzone), and today's date there. The test's
// configuration uses that zone, so that the 23:58 deadline of its all-day
// windows and midnight (a new delivery day) are hours away whatever the time
// of day the test runs at.
func noonZone(t *testing.T) (*time.Location, time.Time) {
	t.Helper()
	loc, err := noonzone.At(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	y, m, d := time.Now().In(loc).Date()
	return loc, time.Date(y, m, d, 0, 0, 0, 0, loc)
}

var dailyDelivered = regexp.MustCompile(`^Daglige data er leveret kl\. [0-9]{1,2}:[0-9]{2}$`)

// TestBrowserStatusPage runs the daemon (Run) on a temporary state directory
// with windows open all day, drops yesterday's extract into its inbox, waits
// for the deliveries and loads the status page in headless Chromium: the box
// holds the docs/status.md#the-public-lines line, the detail tables a row per vendor, the calendar 56
// days with today on time; the markup is accessible; and a screenshot is
// kept.
func TestBrowserStatusPage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon and a browser")
	}
	browser := chromium(t)
	zone, today := noonZone(t)
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`state_dir = %q
timezone = %q

[calendar]
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
listen = "127.0.0.1:0"
`, dir, zone.String())+vendorsTOML), "browser.toml")
	if err != nil {
		t.Fatal(err)
	}
	e, base, running := browserDaemon(t, cfg)
	dropYesterday(t, cfg, today.AddDate(0, 0, -1))
	waitDelivered(t, e)

	artifacts := os.Getenv("LEVERANCE_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	checkBrowserDOM(t, browser, base, e, today, artifacts)

	// A screenshot, kept for people to look at.
	shot := filepath.Join(artifacts, "status-page.png")
	os.Remove(shot)
	runChromium(t, browser, base+"/", "--screenshot="+shot, "--window-size=1200,2000")
	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10<<10 {
		t.Errorf("screenshot %s: %d bytes, want a PNG of more than 10 KB", shot, len(png))
	}
	t.Logf("screenshot %s (%d bytes)", shot, len(png))
	client := &http.Client{Timeout: 10 * time.Second}
	for _, width := range []int{375, 1280} {
		checkLayout(t, browser, client, base, width, artifacts)
	}
	if !running() {
		t.Error("the daemon stopped before the end of the test")
	}
}

// browserDaemon runs the daemon (Run) on cfg until the test ends and
// returns its engine, the status page's base URL, and whether it still
// runs. Its log is shown when the test fails.
func browserDaemon(t *testing.T, cfg *config.Config) (*Engine, string, func() bool) {
	t.Helper()
	logBuf := &lockedBuffer{}
	ctx, stop := context.WithCancel(context.Background())
	type started struct {
		e    *Engine
		addr net.Addr
	}
	readyc := make(chan started, 1)
	runErr := make(chan error, 1)
	go func() {
		runErr <- Run(ctx, RunOptions{
			Options: Options{Config: cfg, Version: "browser-test", Log: slog.New(slog.NewTextHandler(logBuf, nil))},
			Rescan:  time.Second,
			Ready:   func(e *Engine, addr net.Addr) { readyc <- started{e, addr} },
		})
	}()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-runErr:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return within 30 s of the stop")
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", tail(logBuf.String(), 60))
		}
	})
	var s started
	select {
	case s = <-readyc:
	case err := <-runErr:
		t.Fatalf("Run ended before it was ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the daemon was not ready within 30 s")
	}
	if s.addr == nil {
		t.Fatal("Ready was called without an HTTP address")
	}
	base := "http://" + s.addr.String()
	client := &http.Client{Timeout: 10 * time.Second}
	if resp, err := client.Get(base + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz after Ready: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	return s.e, base, func() bool { return !errors.Is(ctx.Err(), context.Canceled) }
}

// dropYesterday drops the example extract into the inbox as the extract of
// asOf, as writers must: a hidden name, a rename.
func dropYesterday(t *testing.T, cfg *config.Config, asOf time.Time) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "basic", "registreringer_20160121.csv"))
	if err != nil {
		t.Fatal(err)
	}
	name := "registreringer_" + asOf.Format("20060102") + ".csv"
	inbox := cfg.Resolve("inbox")
	if err := os.WriteFile(filepath.Join(inbox, "."+name+".tmp"), data, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(inbox, "."+name+".tmp"), filepath.Join(inbox, name)); err != nil {
		t.Fatal(err)
	}
}

// waitDelivered waits for every delivery of the day, as the public status
// shows it.
func waitDelivered(t *testing.T, e *Engine) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := e.Status()
		if err != nil {
			t.Fatal(err)
		}
		opd := ""
		for _, p := range st.Products {
			if p.Product == "daglig-opdatering" {
				opd = p.Line
			}
		}
		if st.Daily != "" && opd != "" {
			if !dailyDelivered.MatchString(st.Daily) {
				t.Fatalf("daily line %q, want %s", st.Daily, dailyDelivered)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery within 60 s: daily %q (%s), daglig-opdatering %q", st.Daily, st.DailyWhy, opd)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkBrowserDOM checks the DOM as the browser built it (kept in
// artifacts): the box holds the status's line, the detail and the calendar
// are right, the markup is accessible, and no CPR number shows.
func checkBrowserDOM(t *testing.T, browser, base string, e *Engine, today time.Time, artifacts string) {
	t.Helper()
	dom := runChromium(t, browser, base+"/", "--dump-dom")
	if err := os.WriteFile(filepath.Join(artifacts, "status-page.dom.html"), dom, 0o644); err != nil {
		t.Fatal(err)
	}
	doc, err := parseHTML(string(dom))
	if err != nil {
		t.Fatalf("the browser's DOM does not parse: %v\n%s", err, dom)
	}
	box := doc.byID("daily")
	if box == nil {
		t.Fatalf("no box line (id=daily) in the browser's DOM:\n%s", dom)
	}
	if !dailyDelivered.MatchString(box.text()) {
		t.Errorf("the box (id=daily) in the browser: %q, want a line matching %s", box.text(), dailyDelivered)
	}
	if st, err := e.Status(); err == nil && box.text() != st.Daily {
		t.Errorf("the box says %q, the status %q", box.text(), st.Daily)
	}
	if w := doc.byID("weekly"); w == nil || w.text() == "" {
		t.Error("the box has no weekly line or reason (id=weekly)")
	}
	checkPage(t, doc, today.Format("2006-01-02"))
	checkAccessible(t, doc)
	if cprLike.Match(dom) {
		t.Error("the page holds something like a CPR number")
	}
}

// layoutFrame is the test's own page: the status page in an iframe of the
// width measured (headless Chromium's window is at least 500 px wide), and
// a script that measures what a reader at that width sees once it has
// loaded, and writes it where --dump-dom shows it. A word split over two
// lines counts as broken (a break at a hyphen does not: the parts are
// measured apart). The status page itself has no script.
const layoutFrame = `<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="/page" style="border:0;width:%dpx;height:2400px"></iframe>
<script>document.getElementById('f').addEventListener('load', function(){
 var win=this.contentWindow, doc=this.contentDocument, broken=[], words=0;
 doc.querySelectorAll('th, caption, h1, h2, h3, .box p, .cal .o, .legend span').forEach(function(el){
  var w=doc.createTreeWalker(el, NodeFilter.SHOW_TEXT), t;
  while ((t=w.nextNode())) {
   if (!t.parentElement || t.parentElement.getClientRects().length === 0) continue; // not shown
   var re=/[^\s\-\u2013]+/g, m;
   while ((m=re.exec(t.data))) {
    var r=doc.createRange(); r.setStart(t, m.index); r.setEnd(t, m.index+m[0].length);
    var rs=r.getClientRects(), tops={};
    for (var i=0;i<rs.length;i++) if (rs[i].width>0) tops[Math.round(rs[i].top)]=1;
    words++;
    if (Object.keys(tops).length>1) broken.push(el.tagName.toLowerCase()+': '+m[0]);
   }
  }
 });
 var pre=document.createElement('pre'); pre.id='layout';
 pre.textContent=JSON.stringify({width: win.innerWidth, scroll: doc.documentElement.scrollWidth, words: words, broken: broken});
 document.body.appendChild(pre);
});</script></body></html>`

var layoutResult = regexp.MustCompile(`<pre id="layout">(.*?)</pre>`)

// checkLayout loads the status page in Chromium at the width (a phone's
// 375 px, a desktop's 1280 px): the page is as wide as its viewport (no
// sideways scrolling of the page; a wide table scrolls in its own box),
// no header, caption, box line or calendar label breaks inside a word, and
// a screenshot at that width is kept.
func checkLayout(t *testing.T, browser string, client *http.Client, base string, width int, artifacts string) {
	t.Helper()
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	frame := fmt.Sprintf(layoutFrame, width)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/page" {
			w.Write(page)
			return
		}
		io.WriteString(w, frame)
	}))
	defer srv.Close()
	size := fmt.Sprintf("--window-size=%d,2400", max(width, 500)+20)
	dom := runChromium(t, browser, srv.URL+"/", "--dump-dom", size)
	m := layoutResult.FindSubmatch(dom)
	if m == nil {
		t.Fatalf("%d px: the layout probe did not run:\n%s", width, dom)
	}
	var got struct {
		Width, Scroll, Words int
		Broken               []string
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &got); err != nil {
		t.Fatalf("%d px: %v: %s", width, err, m[1])
	}
	t.Logf("%d px: window %d, page %d px wide, %d words measured, broken %q", width, got.Width, got.Scroll, got.Words, got.Broken)
	if got.Width != width || got.Words < 50 {
		t.Errorf("%d px: the probe saw a window of %d px and %d words", width, got.Width, got.Words)
	}
	if got.Scroll > got.Width {
		t.Errorf("%d px: the page is %d px wide: it scrolls sideways", width, got.Scroll)
	}
	if len(got.Broken) > 0 {
		t.Errorf("%d px: words broken over two lines: %q", width, got.Broken)
	}
	shot := filepath.Join(artifacts, fmt.Sprintf("status-page-%d.png", width))
	os.Remove(shot)
	runChromium(t, browser, srv.URL+"/", "--screenshot="+shot, size)
	if png, err := os.ReadFile(shot); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("%d px: no screenshot: %v", width, err)
	}
}
