package compute

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestSuspectWithoutRepeat: a suspect hash whose id occurs once (as when two
// different ids share a hash) costs a pass and changes nothing.
func TestSuspectWithoutRepeat(t *testing.T) {
	t.Parallel()
	asOf := MkDate(2016, 1, 24)
	data := extract(rowKG, rowDP, rowFri, rowLedi)
	h, _ := hashID([]byte(rowLedi[colID]))
	cal := NewCalendar(nil, nil)
	vendors := []Vendor{{Name: "alle", All: true, Products: Products()}}
	run := func(ps pass) (map[string]string, error) {
		files := Files{}
		_, err := computePass(strings.NewReader(data), Job{AsOf: asOf, Calendar: cal, Vendors: vendors}, ps, files)
		out := map[string]string{}
		for n, b := range files {
			out[n] = b.String()
		}
		return out, err
	}
	want, err := run(pass{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(pass{suspects: map[uint64]bool{h: true, h + 1: true}})
	if err != nil {
		t.Fatalf("with a suspect that does not repeat: %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("files differ:\n%v\nwant\n%v", got, want)
	}

	// The same id twice: the second pass names both lines.
	data = extract(rowKG, rowDP, rowFri, rowLedi, rowLedi.with("fra", "2015-12-01"))
	_, err = run(pass{})
	var again *againError
	if !errors.As(err, &again) || len(again.next.suspects) != 1 || !again.next.suspects[h] {
		t.Fatalf("first pass: %v, want the suspect %x", err, h)
	}
	_, err = run(again.next)
	var rej *RejectedError
	if !errors.As(err, &rej) || !strings.Contains(fmt.Sprint(rej.Report.Problems), "repeats the id of line 5") {
		t.Fatalf("second pass: %v, want the repeat reported", err)
	}
	// Compute makes both passes itself.
	oc, err := Compute(SourceOfString(data), Job{AsOf: asOf, Calendar: cal, Vendors: vendors}, Files{})
	if !errors.As(err, &rej) || oc.Passes != 2 {
		t.Fatalf("Compute: %v after %d passes, want rejected after 2", err, oc.Passes)
	}
}
