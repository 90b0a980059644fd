package compute

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestRowEncoding: every kind of valid row comes back from its record as it
// was (the line number aside), whatever its dates, codes and id, given its
// cpr (which the engine keeps; its part of a record is tested there).
func TestRowEncoding(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 10))
	dates := []Date{MkDate(1, 1, 1), MkDate(9999, 12, 31), MkDate(1969, 12, 31), MkDate(1970, 1, 1), MkDate(2016, 1, 24), NoDate}
	date := func() Date {
		if r.IntN(3) == 0 {
			return dates[r.IntN(len(dates))]
		}
		return MkDate(1900+r.IntN(200), 1+r.IntN(12), 1+r.IntN(28))
	}
	var buf []byte
	var rows []Row
	var ends []int
	for range 20000 {
		var row Row
		for i := range row.CPR {
			row.CPR[i] = '0' + byte(r.IntN(10))
		}
		row.Type = Type(1 + r.IntN(int(TypeFritagelse)))
		row.Kommune = uint16(101 + r.IntN(760))
		row.Fra, row.Til, row.Registreret = date(), date(), date()
		row.Timer = int64(r.IntN(10000))
		id := make([]byte, 1+r.IntN(40))
		for i := range id {
			id[i] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-"[r.IntN(64)]
		}
		row.ID = string(id)
		switch row.Type {
		case TypeKontaktgruppe:
			row.Group = Group(1 + r.IntN(int(GroupIYA)))
			row.Kode = row.Group.String()
		case TypeSamtale, TypeIndkaldelse:
			row.Kode = []string{KodeJob, KodeFaelles}[r.IntN(2)]
		case TypeAktivering:
			row.Kode = activationCodes[r.IntN(len(activationCodes))]
		case TypeFritagelse:
			row.Kode = string(id[:min(len(id), 10)])
		}
		rows = append(rows, row)
		n := len(buf)
		buf = appendRecord(buf, &row)
		ends = append(ends, len(buf))
		if len(buf)-n > recordFixed+len(row.ID)+len(row.Kode) {
			t.Fatalf("row %d: a record of %d bytes", len(rows), len(buf)-n)
		}
	}
	for i, want := range rows {
		from := 0
		if i > 0 {
			from = ends[i-1]
		}
		var got Row
		readRecord(buf[from:ends[i]], &want.CPR, &got)
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Fatalf("row %d: decoded\n%+v\nwant\n%+v", i, got, want)
		}
	}
}

// BenchmarkSpillEncode: appendRecord (and so kodeIndex, once a row) over rows
// of every type, in the proportions of a generated extract.
func BenchmarkSpillEncode(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	rows := make([]Row, 4096)
	for i := range rows {
		row := &rows[i]
		copy(row.CPR[:], "0101801234")
		row.ID = fmt.Sprintf("R%09d", i)
		row.Fra, row.Til, row.Registreret = MkDate(2015, 1, 1), NoDate, MkDate(2015, 1, 1)
		switch x := r.IntN(20); {
		case x < 4:
			row.Type, row.Group = TypeKontaktgruppe, Group(1+r.IntN(int(GroupIYA)))
			row.Kode = row.Group.String()
		case x < 7:
			row.Type = TypeDagpengeperiode
		case x < 11:
			row.Type, row.Timer = TypeLedig, 3700
		case x < 14:
			row.Type, row.Kode = TypeSamtale, interviewCodes[r.IntN(len(interviewCodes))]
		case x < 16:
			row.Type, row.Kode = TypeIndkaldelse, interviewCodes[r.IntN(len(interviewCodes))]
		case x < 19:
			row.Type, row.Kode = TypeAktivering, activationCodes[r.IntN(len(activationCodes))]
		default:
			row.Type, row.Kode = TypeFritagelse, "SYG"
		}
	}
	buf := make([]byte, 0, 64*len(rows))
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for i := range rows {
			buf = appendRecord(buf, &rows[i])
		}
	}
}

// TestKodeTable: the encoding's code table is the domain's lists (row.go),
// each code once, a kontaktgruppe at the index of its Group, and every code
// of every list comes back from the encoding of a row of each type, written
// as its index and not as a literal; so a code added to those lists needs no
// change in codec.go.
func TestKodeTable(t *testing.T) {
	t.Parallel()
	lists := [][]string{groupNames[:], interviewCodes, activationCodes}
	seen := map[string]int{}
	n := 0
	for _, l := range lists {
		for _, c := range l {
			if i, ok := seen[c]; ok {
				t.Errorf("code %q twice in the domain's lists (index %d and %d)", c, i, n)
			}
			seen[c] = n
			n++
		}
	}
	if len(kodes) != n || n >= kodeLiteral {
		t.Fatalf("%d codes in the table, %d in the lists (at most %d)", len(kodes), n, kodeLiteral-1)
	}
	for i, c := range kodes {
		if seen[c] != i {
			t.Errorf("kodes[%d] = %q, the lists have it at %d", i, c, seen[c])
		}
	}
	for g := range Group(len(groupNames)) {
		if kodes[g] != g.String() {
			t.Errorf("kodes[%d] = %q, group %q", g, kodes[g], g)
		}
	}
	for i, c := range kodes {
		for typ := TypeKontaktgruppe; typ <= TypeFritagelse; typ++ {
			// A kontaktgruppe is the code of a KONTAKTGRUPPE row only (and
			// encoded as its Group); "" and the other codes are found
			// whatever the type.
			if group := i > 0 && i < len(groupNames); group != (typ == TypeKontaktgruppe) {
				continue
			}
			row := Row{CPR: [10]byte([]byte("0101801234")), Type: typ, ID: "id-1", Kode: c, Fra: MkDate(2016, 1, 1), Til: NoDate}
			if typ == TypeKontaktgruppe {
				row.Group = Group(i)
			}
			b := appendRecord(nil, &row)
			if k := b[14]; k == kodeLiteral || kodes[k] != c {
				t.Errorf("%s %q: encoded as kode byte %d", typ, c, k)
			}
			var got Row
			readRecord(b, &row.CPR, &got)
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", row) {
				t.Errorf("%s %q: decoded\n%+v\nwant\n%+v", typ, c, got, row)
			}
		}
	}
	// A code that is not in the table goes as a literal, and so does a
	// kontaktgruppe's code in a row of another type.
	for _, c := range []string{"SYG", "X", "ABCDEFGHIJ", "JOBB", "DP2", "DP", "KHJ"} {
		row := Row{CPR: [10]byte([]byte("0101801234")), Type: TypeFritagelse, ID: "id-2", Kode: c, Til: NoDate}
		b := appendRecord(nil, &row)
		var got Row
		readRecord(b, &row.CPR, &got)
		if b[14] != kodeLiteral || got.Kode != c {
			t.Errorf("FRITAGELSE %q: kode byte %d, decoded %q", c, b[14], got.Kode)
		}
	}
}
