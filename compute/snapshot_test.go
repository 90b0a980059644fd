package compute

import (
	"bytes"
	"testing"
)

func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	s := &Snapshot{AsOf: MkDate(2016, 1, 21), States: []State{
		{CPR: [10]byte([]byte("0101005001")), Kommune: 147, Group: GroupUHA, Vejledende: MkDate(2016, 1, 21), Faelles: NoDate, Frist: NoDate, Opfyldt: NoDate},
		{CPR: [10]byte([]byte("1005801234")), Kommune: 101, Group: GroupDP, Vejledende: MkDate(2015, 11, 30), Faelles: MkDate(2015, 11, 11), Frist: MkDate(2016, 3, 30), Opfyldt: NoDate},
	}}
	var buf bytes.Buffer
	n, err := s.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo: %d %v (buffer %d)", n, err, buf.Len())
	}
	got, err := ReadSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got.AsOf != s.AsOf || len(got.States) != 2 || got.States[0] != s.States[0] || got.States[1] != s.States[1] {
		t.Fatalf("round trip: %+v", got)
	}
	b := buf.Bytes()
	for _, bad := range [][]byte{b[:len(b)-1], append(append([]byte{}, b...), 0), []byte("nonsense")} {
		if _, err := ReadSnapshot(bytes.NewReader(bad)); err == nil {
			t.Errorf("corrupt snapshot of %d bytes accepted", len(bad))
		}
	}
}
