package compute

// Type is the kind of a registration row (docs/formats.md#content).
type Type uint8

// The registration types.
const (
	TypeKontaktgruppe Type = iota + 1
	TypeDagpengeperiode
	TypeLedig
	TypeSamtale
	TypeIndkaldelse
	TypeAktivering
	TypeFritagelse
)

var typeNames = [...]string{
	TypeKontaktgruppe:   "KONTAKTGRUPPE",
	TypeDagpengeperiode: "DAGPENGEPERIODE",
	TypeLedig:           "LEDIG",
	TypeSamtale:         "SAMTALE",
	TypeIndkaldelse:     "INDKALDELSE",
	TypeAktivering:      "AKTIVERING",
	TypeFritagelse:      "FRITAGELSE",
}

func (t Type) String() string {
	if int(t) < len(typeNames) && t > 0 {
		return typeNames[t]
	}
	return "?"
}

func parseType(b []byte) Type {
	// A switch on constant strings: the compiler compares lengths and words
	// inline, without a call per row.
	switch string(b) {
	case "KONTAKTGRUPPE":
		return TypeKontaktgruppe
	case "DAGPENGEPERIODE":
		return TypeDagpengeperiode
	case "LEDIG":
		return TypeLedig
	case "SAMTALE":
		return TypeSamtale
	case "INDKALDELSE":
		return TypeIndkaldelse
	case "AKTIVERING":
		return TypeAktivering
	case "FRITAGELSE":
		return TypeFritagelse
	}
	return 0
}

// Group is a kontaktgruppe (target group), the code of a KONTAKTGRUPPE row.
type Group uint8

// The kontaktgrupper of docs/formats.md#content.
const (
	GroupNone Group = iota
	GroupDP
	GroupKHJ
	GroupKHA
	GroupUHJ
	GroupUHA
	GroupIYJ
	GroupIYA
)

// groupNames are the codes of the groups, by Group: the one list of the
// kontaktgrupper that the parser, the spill encoding and the snapshot read.
var groupNames = [...]string{"", "DP", "KH-J", "KH-A", "UH-J", "UH-A", "IY-J", "IY-A"}

func (g Group) String() string { return groupNames[g] }

// Groups returns every group, in order.
func Groups() []Group {
	gs := make([]Group, 0, len(groupNames)-1)
	for g := range len(groupNames) - 1 {
		gs = append(gs, Group(g+1))
	}
	return gs
}

// parseGroup is the group whose code is b, or GroupNone.
func parseGroup(b []byte) Group {
	for g, name := range groupNames[1:] {
		if string(b) == name {
			return Group(g + 1)
		}
	}
	return GroupNone
}

// Jobparat reports whether g is one of the jobparat groups (KH-J, UH-J, IY-J).
func (g Group) Jobparat() bool { return g == GroupKHJ || g == GroupUHJ || g == GroupIYJ }

// Codes of the other row types. Known codes are interned: a Row's Kode
// compares equal to these constants.
const (
	KodeJob     = "JOB"
	KodeFaelles = "FAELLES"
)

var (
	interviewCodes  = []string{KodeJob, KodeFaelles}
	activationCodes = []string{"VEJL", "PRAK", "LTS"}
)

// Row is one validated registration.
type Row struct {
	Line        int      // line number in the extract (the header is line 1)
	ID          string   // registration id
	CPR         [10]byte // personal identity number: never log or print it
	Type        Type
	Kommune     uint16
	Fra         Date
	Til         Date  // NoDate when open-ended or not applicable
	Timer       int64 // LEDIG: centi-hours per week (18,5 → 1850)
	Kode        string
	Group       Group // KONTAKTGRUPPE: the group named by Kode
	Registreret Date  // date part of registreret
}

// covers reports whether the row's period [Fra, Til] contains d.
func (r *Row) covers(d Date) bool { return r.Fra <= d && d <= r.Til }
