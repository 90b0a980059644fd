package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

const minimal = `
state_dir = "/var/lib/leverance"
[[vendor]]
name = "kmd-opera"
municipalities = ["101", "147"]
  [vendor.outbox]
  kind = "local"
`

func TestParseDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal), "l.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Timezone != "Europe/Copenhagen" || c.RetentionDays != 30 || c.OutboxRetentionDays != 14 {
		t.Errorf("defaults: %+v", c)
	}
	if w := c.Product["daglige-beskeder"]; w.Release != "07:00" || w.Deadline != "08:00" || *w.Cutoff != "09:30" {
		t.Errorf("daglige-beskeder window %+v", w)
	}
	if w := c.Product["ugeopdatering"]; *w.Cutoff != "" || w.Deadline != "19:00" {
		t.Errorf("ugeopdatering window %+v", w)
	}
	if got := strings.Join(c.Vendor[0].Products, ","); got != "daglige-beskeder,ugeopdatering" {
		t.Errorf("seed products of kmd-opera = %s", got)
	}
	if c.Vendor[0].Outbox.Path != "outbox/kmd-opera" || c.Resolve(c.Vendor[0].Outbox.Path) != "/var/lib/leverance/outbox/kmd-opera" {
		t.Errorf("outbox path %q", c.Vendor[0].Outbox.Path)
	}
	if c.SFTPServer.Algorithms != "compatible" {
		t.Errorf("sftp_server.algorithms default = %q, want compatible", c.SFTPServer.Algorithms)
	}
	if *c.SFTPServer.Listen != "127.0.0.1:2222" || *c.HTTP.Listen != "127.0.0.1:8080" {
		t.Errorf("listen defaults")
	}
	vs := c.ComputeVendors()
	if len(vs) != 1 || !vs[0].Serves(147) || vs[0].Serves(173) || len(vs[0].Products) != 2 {
		t.Errorf("compute vendors %+v", vs)
	}
}

func TestParseOverridesAndOff(t *testing.T) {
	c, err := Parse([]byte(minimal+`
[product.daglige-beskeder]
release = "06:30"
cutoff = ""
[sftp_server]
listen = ""
[http]
listen = ""
[calendar]
delivery_days = "all-days"
extra_holidays = ["2016-06-05"]
`), "l.toml")
	if err != nil {
		t.Fatal(err)
	}
	w := c.Product["daglige-beskeder"]
	if w.Release != "06:30" || w.Deadline != "08:00" || *w.Cutoff != "" {
		t.Errorf("window %+v", w)
	}
	if *c.SFTPServer.Listen != "" || *c.HTTP.Listen != "" {
		t.Error("an empty listen must turn the server off")
	}
	cal := c.ComputeCalendar()
	if d, _ := parseDate("2016-06-05"); !cal.IsHoliday(d) {
		t.Error("extra holiday not applied")
	}
}

// TestErrorsNameTheKey: every problem names its key and the reason.
func TestErrorsNameTheKey(t *testing.T) {
	cases := []struct{ toml, key, reason string }{
		{`bogus = 1`, "bogus", "unknown key"},
		{"[calendar]\nfoo = 1", "calendar.foo", "unknown key"},
		{"[[vendor]]\nname=\"a\"\nmunicipalities=[\"101\"]\nproducts=[\"daglige-beskeder\"]\ncolour=\"red\"\n[vendor.outbox]\nkind=\"local\"", "vendor.colour", "unknown key"},
		{`state_dir = "relative"`, "state_dir", "absolute"},
		{`timezone = "Mars/Olympus"`, "timezone", "unknown time zone"},
		{"[calendar]\ndelivery_days = \"sometimes\"", "calendar.delivery_days", "working-days"},
		{"[calendar]\nextra_holidays = [\"2016-02-30\"]", "calendar.extra_holidays[0]", "not a date"},
		{"[product.daglige-beskeder]\nrelease = \"7:00\"", "product.daglige-beskeder.release", "HH:MM"},
		{"[product.daglige-beskeder]\ndeadline = \"06:00\"", "product.daglige-beskeder.deadline", "before the release"},
		{"[product.daglige-beskeder]\ncutoff = \"07:30\"", "product.daglige-beskeder.cutoff", "before the deadline"},
		{"[product.maanedlig]\nrelease = \"07:00\"", "product.maanedlig", "unknown product"},
		{"[[vendor]]\nname = \"KMD\"\nmunicipalities = [\"101\"]\nproducts=[\"ugeopdatering\"]\n[vendor.outbox]\nkind=\"local\"", "vendor[0].name", "lower-case"},
		{"[[vendor]]\nname = \"x\"\nmunicipalities = [\"999\"]\nproducts=[\"ugeopdatering\"]\n[vendor.outbox]\nkind=\"local\"", "vendor[0].municipalities[0]", "101–860"},
		{"[[vendor]]\nname = \"x\"\nmunicipalities = [\"101\"]\n[vendor.outbox]\nkind=\"local\"", "vendor[0].products", "required"},
		{"[[vendor]]\nname = \"x\"\nmunicipalities = [\"101\"]\nproducts=[\"dagligt\"]\n[vendor.outbox]\nkind=\"local\"", "vendor[0].products[0]", "unknown product"},
		{"[[vendor]]\nname = \"x\"\nmunicipalities = [\"101\"]\nproducts=[\"ugeopdatering\"]\n[vendor.outbox]\nkind=\"ftp\"", "vendor[0].outbox.kind", "\"local\" or \"sftp\""},
		{"[[vendor]]\nname = \"x\"\nmunicipalities = [\"101\"]\nproducts=[\"ugeopdatering\"]\n[vendor.outbox]\nkind=\"sftp\"\naddress=\"h:22\"", "vendor[0].outbox.known_hosts", "required"},
		{"[[vendor]]\nname = \"x\"\nmunicipalities = [\"101\"]\nproducts=[\"ugeopdatering\"]\n[vendor.outbox]\nkind=\"local\"\npath=\"o\"\n[[vendor]]\nname = \"y\"\nmunicipalities = [\"101\"]\nproducts=[\"ugeopdatering\"]\n[vendor.outbox]\nkind=\"local\"\npath=\"o\"", "vendor[1].outbox.path", "also the outbox of vendor[0]"},
		{"[[vendor]]\nname = \"x\"\nmunicipalities = [\"101\"]\nproducts=[\"ugeopdatering\"]\n[vendor.outbox]\nkind=\"local\"\n[[vendor]]\nname = \"x\"\nmunicipalities = [\"147\"]\nproducts=[\"ugeopdatering\"]\n[vendor.outbox]\nkind=\"local\"\npath=\"p\"", "vendor[1].name", "also the name of vendor[0]"},
		{`sftp_server = { listen = "2222" }`, "sftp_server.listen", "host:port"},
		{`sftp_server = { algorithms = "fast" }`, "sftp_server.algorithms", "modern, compatible, legacy"},
		{`sftp_server = { max_startups = "10:30" }`, "sftp_server.max_startups", "start:rate:full"},
		{`sftp_server = { max_startups = "60:30:10" }`, "sftp_server.max_startups", "start ≤ full"},
		{`sftp_server = { max_startups = "10:130:60" }`, "sftp_server.max_startups", "rate ≤ 100"},
		{`sftp_server = { login_grace_time = "20" }`, "sftp_server.login_grace_time", "1s to 10m"},
		{`sftp_server = { max_handles = -1 }`, "sftp_server.max_handles", "want 1 to"},
		{`sftp_server = { memory_budget_mib = 100000 }`, "sftp_server.memory_budget_mib", "want 1 to 4096"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.toml), "l.toml")
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%q: want *Error, got %v", c.toml, err)
			continue
		}
		found := false
		for _, p := range ce.Problems {
			if p.Key == c.key && strings.Contains(p.Problem, c.reason) {
				found = true
			}
		}
		if !found {
			t.Errorf("%q: no problem for key %s with %q in:\n%v", c.toml, c.key, c.reason, err)
		}
		if !strings.HasPrefix(err.Error(), "l.toml: ") {
			t.Errorf("message does not name the file: %v", err)
		}
	}
}

func TestSyntaxErrorNamesLine(t *testing.T) {
	_, err := Parse([]byte("state_dir = \"/x\"\n\nthis is not toml\n"), "l.toml")
	if err == nil || !strings.Contains(err.Error(), "l.toml: line 3") {
		t.Fatalf("got %v", err)
	}
}

// TestExampleConfigs parses every configuration shipped in the repository.
func TestExampleConfigs(t *testing.T) {
	for _, p := range []string{"../testdata/basic/leverance.toml", "../examples/leverance.toml"} {
		if _, err := Load(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := Load("does-not-exist.toml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
