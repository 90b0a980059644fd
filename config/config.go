// Package config reads and validates leverance's one TOML file (docs/operations.md#configuration-reference). Unknown keys are errors that name the key; every validation error
// names the key and the problem. It depends only on compute's vocabulary
// (products, dates, vendors) and does no other I/O than reading the file.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"leverance/compute"
)

// Config is the whole configuration file.
type Config struct {
	StateDir string `toml:"state_dir"`
	Timezone string `toml:"timezone"`
	// MaxRejectedRows is the tolerance of docs/formats.md#validation-and-the-error-report (default 0: reject an
	// extract with any invalid row).
	MaxRejectedRows int `toml:"max_rejected_rows"`
	// RetentionDays keeps archived and quarantined extracts (default 30).
	RetentionDays int `toml:"retention_days"`
	// OutboxRetentionDays keeps delivered files in local outboxes (default 14).
	OutboxRetentionDays int `toml:"outbox_retention_days"`
	// MemoryLimitMiB bounds compute's memory for an extract not sorted by
	// cpr (default 1024); an eighth of it, at most 32 MiB, holds the id
	// hashes of any extract before they go to scratch files; see
	// docs/performance.md.
	MemoryLimitMiB int `toml:"memory_limit_mib"`

	Calendar   Calendar          `toml:"calendar"`
	Product    map[string]Window `toml:"product"`
	Vendor     []Vendor          `toml:"vendor"`
	SFTPServer SFTPServer        `toml:"sftp_server"`
	Receipts   Receipts          `toml:"receipts"`
	HTTP       HTTP              `toml:"http"`
	// Cluster, when present, makes this daemon one node of an
	// active/passive pair (or more) coordinated by etcd.
	Cluster *Cluster `toml:"cluster"`

	// Path is the file the configuration was read from (not a key).
	Path string `toml:"-"`
}

// Calendar is the [calendar] table (docs/rules.md#calendar).
type Calendar struct {
	DeliveryDays  string   `toml:"delivery_days"` // "working-days" (default) or "all-days"
	ExtraHolidays []string `toml:"extra_holidays"`
	NotHolidays   []string `toml:"not_holidays"`
}

// Window is a [product.<name>] table: clock times HH:MM in the configured
// time zone (docs/vendors.md#schedule-and-delivery-days). An empty Cutoff means none.
type Window struct {
	Release  string  `toml:"release"`
	Deadline string  `toml:"deadline"`
	Cutoff   *string `toml:"cutoff"`
}

// Vendor is one [[vendor]] table (docs/operations.md#onboarding-a-vendor).
type Vendor struct {
	Name           string   `toml:"name"`
	Municipalities []string `toml:"municipalities"`
	Products       []string `toml:"products"`
	Outbox         Outbox   `toml:"outbox"`
}

// Outbox is a vendor's [vendor.outbox] table.
type Outbox struct {
	Kind string `toml:"kind"` // "local" or "sftp"
	// local
	Path           string `toml:"path"`
	AuthorizedKeys string `toml:"authorized_keys"`
	// sftp
	Address    string `toml:"address"`
	User       string `toml:"user"`
	Identity   string `toml:"identity"`
	KnownHosts string `toml:"known_hosts"`
	Directory  string `toml:"directory"`
}

// SFTPServer is the [sftp_server] table; an empty Listen turns it off.
type SFTPServer struct {
	Listen *string `toml:"listen"`
	// Algorithms is the SSH algorithm profile: "modern", "compatible" (the
	// default) or "legacy" (docs/operations.md).
	Algorithms string `toml:"algorithms"`
	SFTPLimits
}

// The [sftp_server] algorithms profiles; DefaultSFTPAlgorithms when unset.
var SFTPAlgorithms = []string{"modern", "compatible", "legacy"}

const DefaultSFTPAlgorithms = "compatible"

// Receipts is the [receipts] table: the receipts log's signing key. Without
// signing_key the key comes from systemd's LoadCredential= (a credential
// named receipts.key), else from state_dir/keys/receipts.key, which the
// daemon creates on first start.
type Receipts struct {
	SigningKey string `toml:"signing_key"`
	PublicKey  string `toml:"public_key"`
}

// SigningKeyPath returns where the receipts signing key is read from.
func (c *Config) SigningKeyPath() string {
	if c.Receipts.SigningKey != "" {
		return c.Resolve(c.Receipts.SigningKey)
	}
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		if p := filepath.Join(dir, "receipts.key"); fileExists(p) {
			return p
		}
	}
	return c.Layout().ReceiptsKey()
}

// PublicKeyPath returns where the receipts log's public key is kept.
func (c *Config) PublicKeyPath() string {
	if c.Receipts.PublicKey != "" {
		return c.Resolve(c.Receipts.PublicKey)
	}
	return c.Layout().ReceiptsPub()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// HTTP is the [http] table; an empty Listen turns it off.
type HTTP struct {
	Listen *string `toml:"listen"`
	// MaxConnections caps the connections the status port holds at once;
	// past it an idle one is closed to make room (docs/operations.md).
	MaxConnections int `toml:"max_connections"`
}

// Defaults.
const (
	DefaultStateDir            = "/var/lib/leverance"
	DefaultTimezone            = "Europe/Copenhagen"
	DefaultRetentionDays       = 30
	DefaultOutboxRetentionDays = 14
	DefaultMemoryLimitMiB      = 1024
	DefaultSFTPListen          = "127.0.0.1:2222"
	DefaultHTTPListen          = "127.0.0.1:8080"
	DefaultHTTPMaxConnections  = 256
)

// DefaultWindows are the windows of docs/vendors.md#schedule-and-delivery-days.
var DefaultWindows = map[string]Window{
	"daglig-opdatering": {Release: "05:00", Deadline: "06:00", Cutoff: ptr("17:00")},
	"daglige-beskeder":  {Release: "07:00", Deadline: "08:00", Cutoff: ptr("09:30")},
	"ugeopdatering":     {Release: "00:00", Deadline: "19:00", Cutoff: ptr("")},
}

// defaultProducts mirror the seeds (docs/operations.md#onboarding-a-vendor) for a vendor that names none.
var defaultProducts = map[string][]string{
	"kmd-opera":     {"daglige-beskeder", "ugeopdatering"},
	"kmd-workbase":  {"daglige-beskeder", "ugeopdatering"},
	"schultz-fasit": {"daglig-opdatering"},
}

func ptr[T any](v T) *T { return &v }

// KeyError is one problem with one key.
type KeyError struct {
	Key     string // dotted path, e.g. vendor[2].outbox.kind
	Problem string
}

func (e KeyError) Error() string { return e.Key + ": " + e.Problem }

// Error lists every problem found in a configuration file.
type Error struct {
	File     string
	Problems []KeyError
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s: %s", e.File, p)
	}
	return b.String()
}

// Load reads and validates the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes and validates a configuration. name is used in messages and
// to resolve relative paths (relative to state_dir, docs/operations.md#configuration-reference).
func Parse(data []byte, name string) (*Config, error) {
	var c Config
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: line %d: %s", name, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c.Path = name
	v := &validator{}
	for _, k := range md.Undecoded() {
		v.add(keyString(k), "unknown key")
	}
	c.applyDefaults()
	c.validate(v)
	if len(v.problems) > 0 {
		return nil, &Error{File: name, Problems: v.problems}
	}
	return &c, nil
}

// keyString prints a toml.Key as written in TOML, quoting parts that need it
// (array indexes are not given by toml for undecoded keys).
func keyString(k toml.Key) string { return k.String() }

type validator struct{ problems []KeyError }

func (v *validator) add(key, problem string) {
	v.problems = append(v.problems, KeyError{Key: key, Problem: problem})
}

func (c *Config) applyDefaults() {
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.Timezone == "" {
		c.Timezone = DefaultTimezone
	}
	if c.RetentionDays == 0 {
		c.RetentionDays = DefaultRetentionDays
	}
	if c.OutboxRetentionDays == 0 {
		c.OutboxRetentionDays = DefaultOutboxRetentionDays
	}
	if c.MemoryLimitMiB == 0 {
		c.MemoryLimitMiB = DefaultMemoryLimitMiB
	}
	if c.Calendar.DeliveryDays == "" {
		c.Calendar.DeliveryDays = "working-days"
	}
	if c.SFTPServer.Listen == nil {
		c.SFTPServer.Listen = ptr(DefaultSFTPListen)
	}
	if c.HTTP.Listen == nil {
		c.HTTP.Listen = ptr(DefaultHTTPListen)
	}
	if c.SFTPServer.Algorithms == "" {
		c.SFTPServer.Algorithms = DefaultSFTPAlgorithms
	}
	if c.HTTP.MaxConnections == 0 {
		c.HTTP.MaxConnections = DefaultHTTPMaxConnections
	}
	if c.Product == nil {
		c.Product = map[string]Window{}
	}
	for name, def := range DefaultWindows {
		w, ok := c.Product[name]
		if !ok {
			c.Product[name] = def
			continue
		}
		if w.Release == "" {
			w.Release = def.Release
		}
		if w.Deadline == "" {
			w.Deadline = def.Deadline
		}
		if w.Cutoff == nil {
			w.Cutoff = def.Cutoff
		}
		c.Product[name] = w
	}
	for i := range c.Vendor {
		v := &c.Vendor[i]
		if v.Products == nil {
			v.Products = defaultProducts[v.Name]
		}
		if v.Outbox.Kind == "local" && v.Outbox.Path == "" {
			v.Outbox.Path = filepath.Join("outbox", v.Name)
		}
	}
}

var (
	vendorNameRE = regexp.MustCompile(`^[a-z0-9-]+$`)
	clockRE      = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	kommuneRE    = regexp.MustCompile(`^[0-9]{3}$`)
)

func (c *Config) validate(v *validator) {
	if !filepath.IsAbs(c.StateDir) {
		v.add("state_dir", "must be an absolute path")
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		v.add("timezone", fmt.Sprintf("unknown time zone %q", c.Timezone))
	}
	if c.MaxRejectedRows < 0 {
		v.add("max_rejected_rows", "must be 0 or more")
	}
	if c.MemoryLimitMiB < 64 {
		v.add("memory_limit_mib", "must be at least 64")
	}
	if c.RetentionDays < 0 {
		v.add("retention_days", "must be 1 or more")
	}
	if c.OutboxRetentionDays < 0 {
		v.add("outbox_retention_days", "must be 1 or more")
	}
	switch c.Calendar.DeliveryDays {
	case "working-days", "all-days":
	default:
		v.add("calendar.delivery_days", fmt.Sprintf("must be \"working-days\" or \"all-days\", not %q", c.Calendar.DeliveryDays))
	}
	for i, d := range c.Calendar.ExtraHolidays {
		if _, ok := parseDate(d); !ok {
			v.add(fmt.Sprintf("calendar.extra_holidays[%d]", i), fmt.Sprintf("%q is not a date YYYY-MM-DD that exists", d))
		}
	}
	for i, d := range c.Calendar.NotHolidays {
		if _, ok := parseDate(d); !ok {
			v.add(fmt.Sprintf("calendar.not_holidays[%d]", i), fmt.Sprintf("%q is not a date YYYY-MM-DD that exists", d))
		}
	}
	names := make([]string, 0, len(c.Product))
	for name := range c.Product {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c.validateWindow(v, name, c.Product[name])
	}
	c.validateVendors(v)
	c.validateSFTPLimits(v)
	for _, l := range []struct {
		key  string
		addr string
	}{{"sftp_server.listen", *c.SFTPServer.Listen}, {"http.listen", *c.HTTP.Listen}} {
		if l.addr != "" && !strings.Contains(l.addr, ":") {
			v.add(l.key, fmt.Sprintf("%q must be host:port, or \"\" for off", l.addr))
		}
	}
	if !slices.Contains(SFTPAlgorithms, c.SFTPServer.Algorithms) {
		v.add("sftp_server.algorithms", fmt.Sprintf("%q must be one of modern, compatible, legacy", c.SFTPServer.Algorithms))
	}
	if n := c.HTTP.MaxConnections; n < 8 || n > 65536 {
		v.add("http.max_connections", fmt.Sprintf("%d: want 8 to 65536", n))
	}
	if c.Cluster != nil {
		c.Cluster.validate(v)
	}
}

// Minutes parses HH:MM into minutes after midnight.
func Minutes(s string) (int, bool) {
	if !clockRE.MatchString(s) {
		return 0, false
	}
	return int(s[0]-'0')*600 + int(s[1]-'0')*60 + int(s[3]-'0')*10 + int(s[4]-'0'), true
}

func (c *Config) validateWindow(v *validator, name string, w Window) {
	key := "product." + name
	if _, ok := compute.ParseProduct(name); !ok {
		v.add(key, "unknown product (known: daglig-opdatering, daglige-beskeder, ugeopdatering)")
		return
	}
	rel, ok1 := Minutes(w.Release)
	if !ok1 {
		v.add(key+".release", fmt.Sprintf("%q must be a clock time HH:MM", w.Release))
	}
	dl, ok2 := Minutes(w.Deadline)
	if !ok2 {
		v.add(key+".deadline", fmt.Sprintf("%q must be a clock time HH:MM", w.Deadline))
	}
	if ok1 && ok2 && dl < rel {
		v.add(key+".deadline", fmt.Sprintf("%s is before the release %s", w.Deadline, w.Release))
	}
	if w.Cutoff != nil && *w.Cutoff != "" {
		co, ok3 := Minutes(*w.Cutoff)
		switch {
		case !ok3:
			v.add(key+".cutoff", fmt.Sprintf("%q must be a clock time HH:MM, or \"\" for none", *w.Cutoff))
		case ok2 && co < dl:
			v.add(key+".cutoff", fmt.Sprintf("%s is before the deadline %s", *w.Cutoff, w.Deadline))
		}
	}
}

func (c *Config) validateVendors(v *validator) {
	seen := map[string]int{}
	outboxes := map[string]string{}
	for i, vd := range c.Vendor {
		key := fmt.Sprintf("vendor[%d]", i)
		switch {
		case vd.Name == "":
			v.add(key+".name", "is required")
		case !vendorNameRE.MatchString(vd.Name):
			v.add(key+".name", fmt.Sprintf("%q must be lower-case letters, digits and -", vd.Name))
		default:
			if j, dup := seen[vd.Name]; dup {
				v.add(key+".name", fmt.Sprintf("%q is also the name of vendor[%d]", vd.Name, j))
			}
			seen[vd.Name] = i
		}
		if len(vd.Municipalities) == 0 {
			v.add(key+".municipalities", "is required: a list of municipality codes, or [\"*\"]")
		}
		for j, m := range vd.Municipalities {
			if m == "*" {
				if len(vd.Municipalities) > 1 {
					v.add(fmt.Sprintf("%s.municipalities[%d]", key, j), "\"*\" must stand alone")
				}
				continue
			}
			if !kommuneRE.MatchString(m) || m < "101" || m > "860" {
				v.add(fmt.Sprintf("%s.municipalities[%d]", key, j), fmt.Sprintf("%q is not a municipality code 101–860", m))
			}
		}
		if len(vd.Products) == 0 {
			v.add(key+".products", "is required: one or more of daglig-opdatering, daglige-beskeder, ugeopdatering")
		}
		for j, p := range vd.Products {
			if _, ok := compute.ParseProduct(p); !ok {
				v.add(fmt.Sprintf("%s.products[%d]", key, j), fmt.Sprintf("unknown product %q", p))
			}
		}
		ob := vd.Outbox
		switch ob.Kind {
		case "local":
			for _, kv := range sftpKeys(ob) {
				if kv[1] != "" {
					v.add(key+".outbox."+kv[0], "is for kind = \"sftp\" only")
				}
			}
			p := c.Resolve(ob.Path)
			if other, dup := outboxes[p]; dup {
				v.add(key+".outbox.path", fmt.Sprintf("is also the outbox of %s", other))
			}
			outboxes[p] = key
		case "sftp":
			for _, kv := range sftpKeys(ob) {
				if kv[1] == "" {
					v.add(key+".outbox."+kv[0], "is required for kind = \"sftp\"")
				}
			}
			if ob.Path != "" || ob.AuthorizedKeys != "" {
				v.add(key+".outbox", "path and authorized_keys are for kind = \"local\" only")
			}
			id := ob.User + "@" + ob.Address + ":" + ob.Directory
			if other, dup := outboxes[id]; dup {
				v.add(key+".outbox", fmt.Sprintf("is also the outbox of %s", other))
			}
			outboxes[id] = key
		case "":
			v.add(key+".outbox.kind", "is required: \"local\" or \"sftp\"")
		default:
			v.add(key+".outbox.kind", fmt.Sprintf("%q must be \"local\" or \"sftp\"", ob.Kind))
		}
	}
}

// sftpKeys lists the keys of an sftp outbox in a fixed order.
func sftpKeys(ob Outbox) [][2]string {
	return [][2]string{{"address", ob.Address}, {"user", ob.User}, {"identity", ob.Identity},
		{"known_hosts", ob.KnownHosts}, {"directory", ob.Directory}}
}

// Resolve makes a path from the file absolute: relative paths are relative
// to state_dir.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.StateDir, p)
}

// ComputeCalendar returns the working-day calendar of the configuration.
func (c *Config) ComputeCalendar() *compute.Calendar {
	parse := func(ss []string) []compute.Date {
		var out []compute.Date
		for _, s := range ss {
			if d, ok := compute.ParseDate([]byte(s)); ok {
				out = append(out, d)
			}
		}
		return out
	}
	return compute.NewCalendar(parse(c.Calendar.ExtraHolidays), parse(c.Calendar.NotHolidays))
}

// ComputeVendors returns the vendors as compute needs them, in file order.
func (c *Config) ComputeVendors() []compute.Vendor {
	out := make([]compute.Vendor, 0, len(c.Vendor))
	for _, vd := range c.Vendor {
		cv := compute.Vendor{Name: vd.Name, Kommuner: map[uint16]bool{}}
		for _, m := range vd.Municipalities {
			if m == "*" {
				cv.All = true
				continue
			}
			var k uint16
			fmt.Sscanf(m, "%d", &k)
			cv.Kommuner[k] = true
		}
		for _, p := range compute.Products() {
			for _, name := range vd.Products {
				if name == p.String() {
					cv.Products = append(cv.Products, p)
				}
			}
		}
		out = append(out, cv)
	}
	return out
}

func parseDate(s string) (compute.Date, bool) { return compute.ParseDate([]byte(s)) }
