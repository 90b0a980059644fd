package config

import (
	"errors"
	"os"
	"testing"

	"leverance/compute"
)

// fullExample is the configuration of docs/operations.md#configuration-reference, with an sftp vendor.
const fullExample = `
state_dir = "/var/lib/leverance"
timezone = "Europe/Copenhagen"
max_rejected_rows = 2
retention_days = 30

[calendar]
delivery_days = "working-days"
extra_holidays = ["2016-06-05"]
not_holidays = []

[product.daglige-beskeder]
release = "07:00"
deadline = "08:00"
cutoff = "09:30"

[product.ugeopdatering]
cutoff = ""

[[vendor]]
name = "kmd-opera"
municipalities = ["101", "147"]
products = ["daglige-beskeder", "ugeopdatering"]
  [vendor.outbox]
  kind = "local"
  path = "outbox/kmd-opera"
  authorized_keys = "/etc/leverance/vendors/kmd-opera.pub"

[[vendor]]
name = "schultz-fasit"
municipalities = ["*"]
products = ["daglig-opdatering"]
  [vendor.outbox]
  kind = "sftp"
  address = "sftp.example:22"
  user = "leverance"
  identity = "/etc/leverance/id"
  known_hosts = "/etc/leverance/known_hosts"
  directory = "/in"

[sftp_server]
listen = "127.0.0.1:2222"

[http]
listen = ""
`

// FuzzConfig checks that Parse never panics, that every error names a key
// and a problem, and that an accepted configuration validates again and
// converts to compute's vocabulary.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(fullExample))
	if b, err := os.ReadFile("../testdata/basic/leverance.toml"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"state_dir = \"relative\"\n",
		"no_such_key = 1\n[calendar]\nextra_holidays = [\"2016-02-30\"]\n",
		"[product.daglige-beskeder]\nrelease = \"09:00\"\ndeadline = \"08:00\"\ncutoff = \"7\"\n",
		"[product.nope]\nrelease = \"01:00\"\n",
		"[[vendor]]\nname = \"A B\"\nmunicipalities = [\"*\", \"100\"]\nproducts = [\"x\"]\n[vendor.outbox]\nkind = \"ftp\"\n",
		"[[vendor]]\nname = \"a\"\nmunicipalities = [\"101\"]\n[vendor.outbox]\nkind = \"local\"\n[[vendor]]\nname = \"a\"\nmunicipalities = [\"101\"]\n[vendor.outbox]\nkind = \"local\"\npath = \"outbox/a\"\n",
		"timezone = \"Mars/Olympus\"\nmax_rejected_rows = -1\n[http]\nlisten = \"8080\"\n",
		"state_dir = [1, 2]\n",
		"[sftp_server]\nlisten = \"\"\n[sftp_server]\n",
		"[sftp_server]\nmax_startups = \"10:30:60\"\nlogin_grace_time = \"20s\"\nmax_handles = 256\n",
		"[sftp_server]\nmax_startups = \"9:101:1\"\nlogin_grace_time = \"-1s\"\nmemory_budget_mib = -3\n",
		"this is not toml",
		"[cluster]\netcd = [\"http://10.0.0.5:2379\", \"10.0.0.6\"]\nnode = \"a\"\nlease_ttl = \"1h\"\n",
		"[cluster]\netcd = \"http://h:1\"\nnode = 7\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.toml")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			var ce *Error
			if errors.As(err, &ce) {
				if len(ce.Problems) == 0 {
					t.Fatal("*Error without problems")
				}
				for _, p := range ce.Problems {
					// An unknown key may itself be "" (a TOML table [""]);
					// keyString then prints nothing for it.
					if p.Key == "" && p.Problem != "unknown key" || p.Problem == "" {
						t.Fatalf("problem without key or text: %+v", p)
					}
				}
			}
			return
		}
		// It validates again, unchanged.
		v := &validator{}
		c.validate(v)
		if len(v.problems) > 0 {
			t.Fatalf("accepted configuration does not validate again: %v", v.problems)
		}
		if c.StateDir == "" || c.Timezone == "" || c.SFTPServer.Listen == nil || c.HTTP.Listen == nil || c.RetentionDays < 0 || c.MaxRejectedRows < 0 {
			t.Fatalf("defaults missing: %+v", c)
		}
		for name := range DefaultWindows {
			w, ok := c.Product[name]
			if !ok || w.Cutoff == nil {
				t.Fatalf("product %s has no window: %+v", name, w)
			}
			rel, ok1 := Minutes(w.Release)
			dl, ok2 := Minutes(w.Deadline)
			if !ok1 || !ok2 || dl < rel {
				t.Fatalf("product %s: window %+v", name, w)
			}
		}
		c.ComputeCalendar()
		vs := c.ComputeVendors()
		if len(vs) != len(c.Vendor) {
			t.Fatalf("%d vendors, %d for compute", len(c.Vendor), len(vs))
		}
		for i, cv := range vs {
			if cv.Name != c.Vendor[i].Name || len(cv.Products) == 0 || !cv.All && len(cv.Kommuner) == 0 {
				t.Fatalf("vendor %d: %+v from %+v", i, cv, c.Vendor[i])
			}
			for k := range cv.Kommuner {
				if k < 101 || k > 860 {
					t.Fatalf("vendor %s serves %d", cv.Name, k)
				}
			}
			for _, p := range cv.Products {
				if p >= compute.NumProducts {
					t.Fatalf("vendor %s: product %d", cv.Name, p)
				}
			}
		}
	})
}
