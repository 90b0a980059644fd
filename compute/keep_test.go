package compute

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// TestKeepOwnsStrings: the rows that the merger keeps past their chunk
// (domain.Own, for the citizens at a chunk's edges) point nowhere into the
// chunk's data, which is used again for another part of the extract, and
// keep their values when it is overwritten: whatever the row's type, and
// whichever string field of Row the parser made point into the line. Rows
// as an aliasing parser gives them, of every type, and rows of every type
// with every string field pointing into the chunk (as a parser that aliased
// more would give them).
func TestKeepOwnsStrings(t *testing.T) {
	t.Parallel()
	all := []rowFields{rowKG, rowDP, rowLedi, rowSamt, rowInd, rowAkt, rowFri,
		rowFri.with("kode", "JOB"), rowAkt.with("kode", "VEJL")}
	data := []byte(extract(all...))
	lines := strings.SplitAfter(string(data), "\n")
	var rep Report
	p := rowParser{nfields: numCols, canonical: true, alias: true, asOf: MkDate(2016, 1, 24), rep: &rep}
	var rows []Row
	off := len(lines[0])
	for i, l := range lines[1 : 1+len(all)] {
		line := data[off : off+len(l)-1]
		off += len(l)
		var r Row
		if !p.parse(line, i+2, &r) {
			t.Fatalf("line %d: %v", i+2, rep.Problems)
		}
		rows = append(rows, r)
	}
	if !pointsInto(rows[0].ID, data) {
		t.Fatal("the parser does not alias the id: the test tests nothing")
	}
	for typ := TypeKontaktgruppe; typ <= TypeFritagelse; typ++ {
		r := Row{Type: typ, Til: NoDate}
		v := reflect.ValueOf(&r).Elem()
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() == reflect.String {
				f.SetString(unsafe.String(&data[off-30+i], 3+i%5))
			}
		}
		rows = append(rows, r)
	}

	var d domain
	var pending []Row
	for _, r := range rows {
		d.Own(&r, data)
		pending = append(pending, r)
	}
	var want []string
	for _, r := range rows {
		want = append(want, fmt.Sprintf("%+v", r))
	}
	for i, r := range pending {
		v := reflect.ValueOf(r)
		for j := range v.NumField() {
			if f := v.Field(j); f.Kind() == reflect.String && pointsInto(f.String(), data) {
				t.Errorf("row %d (%s): %s points into the chunk after Own", i, r.Type, v.Type().Field(j).Name)
			}
		}
		if r.Kode != "" && !pointsInto(rows[i].Kode, data) && unsafe.StringData(r.Kode) != unsafe.StringData(rows[i].Kode) {
			t.Errorf("row %d (%s): kode %q copied, though it is not in the chunk", i, r.Type, r.Kode)
		}
	}
	for i := range data {
		data[i] = '#'
	}
	for i, r := range pending {
		if fmt.Sprintf("%+v", r) != want[i] { // (not printed: a row has a cpr)
			t.Errorf("row %d (%s): changed with the chunk's data", i, r.Type)
		}
	}
}

// pointsInto reports whether s points into buf's array.
func pointsInto(s string, buf []byte) bool {
	if len(s) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return p >= lo && p < lo+uintptr(cap(buf))
}
