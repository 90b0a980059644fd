package compute

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// State is what daglige-beskeder compares between two days for one citizen
// in the snapshot (docs/rules.md#the-daily-messages).
type State struct {
	CPR                                 [10]byte
	Kommune                             uint16
	Group                               Group
	Vejledende, Faelles, Frist, Opfyldt Date
}

// StateOf returns the comparable state of an evaluated citizen.
func StateOf(r *Result) State {
	return State{CPR: r.CPR, Kommune: r.Kommune, Group: r.Group,
		Vejledende: r.Vejledende, Faelles: r.Faelles, Frist: r.Frist, Opfyldt: r.Opfyldt}
}

func (s *State) differs(t State) bool {
	t.CPR = s.CPR
	return *s != t
}

// Snapshot is the state of every citizen in the snapshot of one extract,
// sorted by cpr: the basis B that the next daglige-beskeder compares with.
// It holds about 40 bytes per citizen.
type Snapshot struct {
	AsOf   Date
	States []State
}

// Snapshot files: a magic line, the as-of date, the count, then one record
// of fixed size per state. They hold CPR numbers: the caller creates them
// 0640 or tighter.
const snapshotMagic = "leverance-snapshot-1\n"

const stateSize = 10 + 2 + 1 + 4*4

// WriteTo writes the snapshot in its binary file format.
func (s *Snapshot) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	bw.WriteString(snapshotMagic)
	var rec [stateSize]byte
	binary.BigEndian.PutUint32(rec[:4], uint32(s.AsOf))
	binary.BigEndian.PutUint32(rec[4:8], uint32(len(s.States)))
	bw.Write(rec[:8])
	for i := range s.States {
		st := &s.States[i]
		copy(rec[:10], st.CPR[:])
		binary.BigEndian.PutUint16(rec[10:12], st.Kommune)
		rec[12] = byte(st.Group)
		for j, d := range [...]Date{st.Vejledende, st.Faelles, st.Frist, st.Opfyldt} {
			binary.BigEndian.PutUint32(rec[13+4*j:], uint32(d))
		}
		bw.Write(rec[:])
	}
	return int64(len(snapshotMagic) + 8 + stateSize*len(s.States)), bw.Flush()
}

// ReadSnapshot reads a snapshot written by WriteTo.
func ReadSnapshot(r io.Reader) (*Snapshot, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != snapshotMagic {
		return nil, errors.New("not a leverance snapshot file")
	}
	var rec [stateSize]byte
	if _, err := io.ReadFull(br, rec[:8]); err != nil {
		return nil, fmt.Errorf("snapshot header: %w", err)
	}
	s := &Snapshot{AsOf: Date(int32(binary.BigEndian.Uint32(rec[:4])))}
	n := binary.BigEndian.Uint32(rec[4:8])
	if n > 1<<28 {
		return nil, errors.New("snapshot: implausible count")
	}
	s.States = make([]State, n)
	for i := range s.States {
		if _, err := io.ReadFull(br, rec[:]); err != nil {
			return nil, fmt.Errorf("snapshot record %d: %w", i, err)
		}
		st := &s.States[i]
		copy(st.CPR[:], rec[:10])
		st.Kommune = binary.BigEndian.Uint16(rec[10:12])
		st.Group = Group(rec[12])
		for j, d := range [...]*Date{&st.Vejledende, &st.Faelles, &st.Frist, &st.Opfyldt} {
			*d = Date(int32(binary.BigEndian.Uint32(rec[13+4*j:])))
		}
		if int(st.Group) >= len(groupNames) || i > 0 && string(s.States[i-1].CPR[:]) >= string(st.CPR[:]) {
			return nil, fmt.Errorf("snapshot record %d: corrupt", i)
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, errors.New("snapshot: data after the last record")
	}
	return s, nil
}
