package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"leverance/compute"
	"leverance/receipt"
	"leverance/status"
)

// TestOperatorActions: a re-delivery gets a revision suffix and refers to
// the earlier receipt; an expected date of a late weekly update shows in the
// status; both are receipts with the acting user.
func TestOperatorActions(t *testing.T) {
	h := newHarness(t, at(2016, 1, 21, 0, 30), "")
	skey, vkey, err := receipt.GenerateKey("leverance-test")
	if err != nil {
		t.Fatal(err)
	}
	l, err := receipt.OpenLog(filepath.Join(h.dir, "receipts"), skey, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.sink = nil
	e, err := New(Options{Config: h.cfg, Clock: h.clock, Sink: l, Log: h.e.log})
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	h.drop("registreringer_20160120.csv", "registreringer_20160120.csv")
	h.tick(at(2016, 1, 21, 7, 0))

	op := &Operator{Config: h.cfg, Log: l, User: "auditor-test", Clock: h.clock}
	ctx := context.Background()
	if _, err := op.Redeliver(ctx, compute.DagligeBeskeder, mk(2016, 1, 21), "kmd-opera", ""); err == nil {
		t.Error("a re-delivery without a reason was accepted")
	}
	r2, err := op.Redeliver(ctx, compute.DagligeBeskeder, mk(2016, 1, 21), "kmd-opera", "the vendor lost it")
	if err != nil {
		t.Fatal(err)
	}
	r3, err := op.Redeliver(ctx, compute.DagligeBeskeder, mk(2016, 1, 21), "kmd-opera", "again")
	if err != nil {
		t.Fatal(err)
	}
	if r2.File != "daglige-beskeder_20160121_r2.csv" || r3.File != "daglige-beskeder_20160121_r3.csv" {
		t.Fatalf("re-delivered as %s and %s", r2.File, r3.File)
	}
	first, _ := os.ReadFile(filepath.Join(h.dir, "outbox", "kmd-opera", "daglige-beskeder_20160121.csv"))
	again, _ := os.ReadFile(filepath.Join(h.dir, "outbox", "kmd-opera", r2.File))
	if len(first) == 0 || string(first) != string(again) {
		t.Error("the re-delivered file differs from the first or is missing")
	}
	h.checkSum("kmd-opera", r2.File+".sha256")
	recs, err := receipt.ReadRecords(filepath.Join(h.dir, "receipts"))
	if err != nil {
		t.Fatal(err)
	}
	byseq := map[int64]receipt.Record{}
	for _, r := range recs {
		byseq[r.Seq] = r
	}
	opRec := byseq[r2.Refers]
	if opRec.Event != receipt.Operatoer || opRec.Action != "redeliver" || opRec.User != "auditor-test" || opRec.Reason != "the vendor lost it" {
		t.Fatalf("operator receipt %+v", opRec)
	}
	if earlier := byseq[opRec.Refers]; earlier.Event != receipt.Leveret || earlier.File != "daglige-beskeder_20160121.csv" {
		t.Fatalf("the re-delivery does not refer to the first delivery: %+v", earlier)
	}
	if _, err := op.Redeliver(ctx, compute.DagligeBeskeder, mk(2016, 1, 21), "nobody", "x"); err == nil {
		t.Error("re-delivery to an unknown vendor")
	}

	h.clock.Set(at(2016, 1, 25, 19, 30))
	if _, err := op.Expect(ctx, mk(2016, 1, 26), mk(2016, 1, 27), ""); err == nil {
		t.Error("expect on a Tuesday was accepted")
	}
	if _, err := op.Expect(ctx, mk(2016, 1, 25), mk(2016, 1, 26), "source late"); err != nil {
		t.Fatal(err)
	}
	recs, _ = receipt.ReadRecords(filepath.Join(h.dir, "receipts"))
	st := status.Compute(status.Input{Records: recs, Schedule: h.e.sched, Vendors: h.e.vendors, Now: at(2016, 1, 25, 20, 0)})
	if st.Weekly != "Ugedata forventes leveret 26.01.16" {
		t.Errorf("weekly line %q", st.Weekly)
	}
	if v, err := receipt.Verify(filepath.Join(h.dir, "receipts"), vkey); err != nil || !v.OK() {
		t.Fatalf("log after operator actions: %+v %v", v, err)
	}
	if !strings.Contains(byseq[r2.Seq].Outcome, "genlevering") {
		t.Errorf("re-delivery outcome %q", byseq[r2.Seq].Outcome)
	}
}
