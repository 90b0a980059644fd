package compute

// State is what daglige-beskeder compares between two days for one citizen
// in the snapshot (SPEC §4.2).
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
