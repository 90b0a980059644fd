package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"leverance/compute"
	"leverance/config"
	"leverance/receipt"
	"leverance/transfer"
)

// Operator performs the operator actions of docs/operations.md#operator-actions beside a running
// daemon: it writes to outboxes and to the receipts log (whose appends are
// serialised between processes), never to the daemon's state file.
type Operator struct {
	Config *config.Config
	Log    *receipt.Log
	// NewOutbox makes a vendor's outbox; default LocalOutbox.
	NewOutbox func(c *config.Config, v config.Vendor) (transfer.Outbox, error)
	// User is the acting user; default: from the OS.
	User string
	// Clock stamps the receipts; default the system clock.
	Clock Clock
}

func (o *Operator) now() time.Time {
	if o.Clock == nil {
		return time.Now().UTC()
	}
	return o.Clock.Now().UTC()
}

// OSUser returns the operator's name: the user who ran sudo, else the
// current user.
func OSUser() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}

func (o *Operator) user() string {
	if o.User != "" {
		return o.User
	}
	return OSUser()
}

// Redeliver publishes a (product, delivery day, vendor) again, from the
// highest revision of its extract, under a new name with a revision suffix
// (_r2, _r3, …), so that a delivered file is never overwritten. The new
// leveret receipt refers to the earlier one.
func (o *Operator) Redeliver(ctx context.Context, p compute.Product, day compute.Date, vendor, reason string) (*receipt.Record, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, fmt.Errorf("a reason is required")
	}
	var vc *config.Vendor
	for i := range o.Config.Vendor {
		if o.Config.Vendor[i].Name == vendor {
			vc = &o.Config.Vendor[i]
		}
	}
	if vc == nil {
		return nil, fmt.Errorf("vendor %q is not configured", vendor)
	}
	earlier, deliveries, err := o.earlier(p, day, vendor)
	if err != nil {
		return nil, err
	}
	m, err := highestStaged(o.Config.Layout().Staging(), InputAsOf(day))
	if err != nil {
		return nil, err
	}
	f := m.file(vendor, p)
	if f == nil {
		return nil, fmt.Errorf("no staged %s for %s from extract %s", p, vendor, m.Ref)
	}
	newOutbox := o.NewOutbox
	if newOutbox == nil {
		newOutbox = LocalOutbox
	}
	ob, err := newOutbox(o.Config, *vc)
	if err != nil {
		return nil, err
	}
	name := f.Name
	if deliveries > 0 {
		name = strings.TrimSuffix(f.Name, ".csv") + fmt.Sprintf("_r%d.csv", deliveries+1)
	}
	data, err := os.Open(m.path(f))
	if err != nil {
		return nil, err
	}
	defer data.Close()
	op := &receipt.Record{Time: o.now(), Event: receipt.Operatoer, Action: "redeliver", User: o.user(), Reason: reason,
		Target: fmt.Sprintf("%s/%s/%s", p, day, vendor), Refers: earlier}
	if err := o.Log.Append(ctx, op); err != nil {
		return nil, err
	}
	tmp, tmpSum, err := stageWithSum(ctx, ob, name, data, f.SHA256)
	if err != nil {
		return nil, err
	}
	if err := ob.Commit(ctx, tmp, name); err != nil {
		ob.Discard(ctx, tmp)
		ob.Discard(ctx, tmpSum)
		return nil, err
	}
	if err := ob.Commit(ctx, tmpSum, name+".sha256"); err != nil {
		return nil, err
	}
	// Commit takes a vanished temporary file as committed before; here
	// nothing else commits it, so make sure the file is really there.
	if ok, err := ob.Exists(ctx, name); !ok || err != nil {
		return nil, fmt.Errorf("re-delivery of %s did not reach the outbox (%v)", name, err)
	}
	loc := ob.Location()
	rec := &receipt.Record{Time: o.now(), Event: receipt.Leveret, Product: p.String(), Day: day.String(), Vendor: vendor, File: name,
		SHA256: f.SHA256, Size: f.Size, Attempts: 1, Outcome: "genlevering", Refers: op.Seq, Input: m.Ref.String(),
		Outbox: &receipt.Place{Kind: loc.Kind, Host: loc.Host, HostKey: loc.HostKey, Path: loc.Path}, Reason: reason}
	if err := o.Log.Append(ctx, rec); err != nil {
		return nil, err
	}
	if cp, err := o.Log.Checkpoint(); err == nil {
		transfer.Replace(ctx, ob, "checkpoint.txt", cp)
	}
	return rec, nil
}

// earlier returns the last receipt that finished the slot (leveret or
// udeladt) and how many times it was delivered.
func (o *Operator) earlier(p compute.Product, day compute.Date, vendor string) (seq int64, deliveries int, err error) {
	recs, err := receipt.ReadRecords(o.Config.Layout().Receipts())
	if err != nil {
		return 0, 0, err
	}
	for _, r := range recs {
		if r.Product == p.String() && r.Day == day.String() && r.Vendor == vendor && (r.Event == receipt.Leveret || r.Event == receipt.Udeladt) {
			seq = r.Seq
			if r.Event == receipt.Leveret {
				deliveries++
			}
		}
	}
	return seq, deliveries, nil
}

// Expect records the expected delivery date of a late weekly update (docs/status.md#the-public-lines).
func (o *Operator) Expect(ctx context.Context, monday, expected compute.Date, reason string) (*receipt.Record, error) {
	if monday.Weekday() != 0 {
		return nil, fmt.Errorf("%s is not a Monday: the weekly update is delivered on Mondays", monday)
	}
	if expected < monday {
		return nil, fmt.Errorf("the expected date %s is before the delivery day %s", expected, monday)
	}
	r := &receipt.Record{Time: o.now(), Event: receipt.Operatoer, Action: "expect", User: o.user(), Reason: reason,
		Product: compute.Ugeopdatering.String(), Day: monday.String(), Target: expected.String()}
	return r, o.Log.Append(ctx, r)
}

// highestStaged reads the manifest of the highest staged revision of as-of
// date a.
func highestStaged(dir string, a compute.Date) (*Manifest, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var best *Manifest
	for _, ent := range ents {
		if !strings.HasPrefix(ent.Name(), a.Compact()+"_r") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, ent.Name(), "manifest.json"))
		if err != nil {
			continue
		}
		m := &Manifest{dir: filepath.Join(dir, ent.Name())}
		if json.Unmarshal(data, m) == nil && (best == nil || m.Ref.Revision > best.Ref.Revision) {
			best = m
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no staged extract as of %s (it may have passed retention)", a)
	}
	return best, nil
}
