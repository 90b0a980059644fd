package compute

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestExactRepeats: the second step compares ids, not hashes: rows whose
// ids share a hash but differ are no repeats.
func TestExactRepeats(t *testing.T) {
	rows := []suspectRow{
		{id: "b", line: 9}, {id: "a", line: 7, invalid: true}, {id: "a", line: 3}, {id: "c", line: 4},
		{id: "b", line: 5}, {id: "a", line: 12}, {id: "b", line: 20},
	}
	got := fmt.Sprint(exactRepeats(rows, 12))
	// Line 20 is after the last line read (12); "c" occurs once.
	if want := "[{7 3 true} {9 5 false} {12 3 false}]"; got != want {
		t.Errorf("exactRepeats = %s, want %s", got, want)
	}
}

// TestSuspectWithoutRepeat: a suspect hash whose id occurs once (as when two
// different ids share a hash) costs a run and changes nothing.
func TestSuspectWithoutRepeat(t *testing.T) {
	asOf := MkDate(2016, 1, 24)
	data := extract(rowKG, rowDP, rowFri, rowLedi)
	h, _ := hashID([]byte(rowLedi[colID]))
	cal := NewCalendar(nil, nil)
	vendors := []Vendor{{Name: "alle", All: true, Products: Products()}}
	run := func(job Job) (map[string]string, error) {
		files := map[string]*bytes.Buffer{}
		_, err := Compute(strings.NewReader(data), job, func(_ string, _ Product, name string) (io.Writer, error) {
			files[name] = &bytes.Buffer{}
			return files[name], nil
		})
		out := map[string]string{}
		for n, b := range files {
			out[n] = b.String()
		}
		return out, err
	}
	job := Job{AsOf: asOf, Calendar: cal, Vendors: vendors}
	want, err := run(job)
	if err != nil {
		t.Fatal(err)
	}
	job.SuspectIDs = map[uint64]bool{h: true, h + 1: true}
	got, err := run(job)
	if err != nil {
		t.Fatalf("with a suspect that does not repeat: %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("files differ:\n%v\nwant\n%v", got, want)
	}

	// The same id twice: the second run names both lines.
	data = extract(rowKG, rowDP, rowFri, rowLedi, rowLedi.with("fra", "2015-12-01"))
	job.SuspectIDs = nil
	_, err = run(job)
	var rep *RepeatsError
	if !errors.As(err, &rep) || len(rep.Suspects) != 1 || !rep.Suspects[h] {
		t.Fatalf("first run: %v, want the suspect %x", err, h)
	}
	_, err = run(rep.Next(job))
	var rej *RejectedError
	if !errors.As(err, &rej) || !strings.Contains(fmt.Sprint(rej.Report.Problems), "repeats the id of line 5") {
		t.Fatalf("second run: %v, want the repeat reported", err)
	}
}
