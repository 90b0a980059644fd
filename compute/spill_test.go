package compute

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestRowEncoding: every kind of valid row comes back from its encoding as
// it was (the line number aside), whatever its dates, codes and id, and
// recordLen, recordPart and sortKey read the encoding as the cpr says.
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
		buf = encodeRow(buf, &row)
	}
	for i, want := range rows {
		n := recordLen(buf)
		if n == 0 || recordLen(buf[:n-1]) != 0 {
			t.Fatalf("row %d: recordLen %d of a record cut short", i, n)
		}
		var got Row
		decodeRow(buf, (*[4]byte)(want.CPR[:4]), &got)
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Fatalf("row %d: decoded\n%+v\nwant\n%+v", i, got, want)
		}
		for _, prefix := range []int{4, 6, 8} {
			if p, w := recordPart(buf, prefix), partOf(want.CPR[:], prefix); p != w {
				t.Fatalf("row %d: recordPart(%d) = %d, want %d", i, prefix, p, w)
			}
		}
		if key := sortKey(buf, 5) >> keyShift; fmt.Sprintf("%04x", key) != string(want.CPR[6:]) {
			t.Fatalf("row %d: sort key %x of cpr %s", i, key, want.CPR)
		}
		buf = buf[n:]
	}
}
