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

var groupNames = [...]string{"", "DP", "KH-J", "KH-A", "UH-J", "UH-A", "IY-J", "IY-A"}

func (g Group) String() string { return groupNames[g] }

// Jobparat reports whether g is one of the jobparat groups (KH-J, UH-J, IY-J).
func (g Group) Jobparat() bool { return g == GroupKHJ || g == GroupUHJ || g == GroupIYJ }

// Codes of the other row types. Known codes are interned: a Row's Kode
// compares equal to these constants.
const (
	KodeJob     = "JOB"
	KodeFaelles = "FAELLES"
)

var (
	groupByCode     = map[string]Group{"DP": GroupDP, "KH-J": GroupKHJ, "KH-A": GroupKHA, "UH-J": GroupUHJ, "UH-A": GroupUHA, "IY-J": GroupIYJ, "IY-A": GroupIYA}
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
