package compute

import (
	"fmt"
	"testing"
)

// Every expected value below was worked out by hand from docs/rules.md, not by
// running the code; the arithmetic is in the comment of each case.
//
// Notation: P = start of the dagpengeperiode, i = days after P (day P+i is
// the (i+1)-th day), S(d) = Σ of the daily rates in centi-hours/week from P to
// d, and "reaches T" ⇔ S(d) ≥ 7·T(centi). With 37 h full time (3700) from P,
// S(P+i) = 3700·(i+1), so T is reached at i+1 = ⌈7T/3700⌉.
//
// 7·T for the thresholds (centi-hours):
//   1M  = 7·16033  = 112231   → full time: ⌈30.33⌉ = 31 days → i = 30
//   2M  = 224462              → ⌈60.66⌉ = 61 → i = 60
//   3M  = 336693              → ⌈90.998⌉ = 91 → i = 90  (91·3700 = 336700 ≥ 336693)
//   4M  = 448924              → ⌈121.33⌉ = 122 → i = 121
//   5M  = 561155              → ⌈151.66⌉ = 152 → i = 151
//   6M  = 7·96198  = 673386   → ⌈181.996⌉ = 182 → i = 181 (182·3700 = 673400 ≥ 673386)
//   9M  = 6M + 3M  = 1010079  → ⌈272.99⌉ = 273 → i = 272
//   16M = 7·256528 = 1795696  → ⌈485.32⌉ = 486 → i = 485
//   222 h = 7·22200 = 155400  → exactly 42 days → i = 41
//   481 h = 7·48100 = 336700  → exactly 91 days → i = 90
//
// The base citizen (testCPR, born 1990-05-10, age 25 in 2016, so the 481 h
// threshold applies) has P = 2016-01-04 (Monday) and 37 h from P open-ended.
// Calendar 2016 (leap year, Easter 27 March): Jan 4 + 27 = Jan 31, Feb 29 =
// +56, Mar 31 = +87, Apr 30 = +117, May 31 = +148, Jun 30 = +178,
// Jul 31 = +209, Aug 31 = +240, Sep 30 = +270, Oct 31 = +301; weekday of
// P+i = Monday + (i mod 7).
//   i = 30  → 2016-02-03 Wed (working)
//   i = 41  → 2016-02-14 Sun → back to Fri 2016-02-12
//   i = 60  → 2016-03-04 Fri
//   i = 90  → 2016-04-03 Sun → back to Fri 2016-04-01
//   i = 121 → 2016-05-04 Wed (Ascension is Thu May 5)
//   i = 151 → 2016-06-03 Fri
//   i = 181 → 2016-07-03 Sun → back to Fri 2016-07-01
//   i = 272 → 2016-10-02 Sun → back to Fri 2016-09-30
//   i = 485 → 2016 has 366 days: 2017-01-04 is i = 366, + 119 → 2017-05-03 Wed
// A = 2016-01-20 = P+16 → S(A) = 17·3700 = 62900.

const testCPR = "1005901234" // 10 May 1990 (7th digit 1 → 19YY)

func td(s string) Date {
	if s == "" {
		return NoDate
	}
	d, ok := ParseDate([]byte(s))
	if !ok {
		panic("bad test date " + s)
	}
	return d
}

// row builds a validated registration for testCPR in kommune 101. timer is
// in centi-hours per week (the reader turns "18,5" and "18.50" into 1850).
func row(id, typ, fra, til string, timer int64, kode string) Row {
	r := Row{ID: id, Type: parseType([]byte(typ)), Kommune: 101, Fra: td(fra), Til: td(til), Timer: timer, Kode: kode}
	if r.Type == 0 {
		panic("bad type " + typ)
	}
	copy(r.CPR[:], testCPR)
	if r.Type == TypeKontaktgruppe {
		if r.Group = parseGroup([]byte(kode)); r.Group == GroupNone {
			panic("bad group " + kode)
		}
	}
	return r
}

func kg(id, fra, til, kode string, kommune uint16) Row {
	r := row(id, "KONTAKTGRUPPE", fra, til, 0, kode)
	r.Kommune = kommune
	return r
}
func dpp(id, fra string) Row                 { return row(id, "DAGPENGEPERIODE", fra, "", 0, "") }
func ledig(id, fra, til string, t int64) Row { return row(id, "LEDIG", fra, til, t, "") }
func job(id, fra string) Row                 { return row(id, "SAMTALE", fra, "", 0, KodeJob) }
func faelles(id, fra string) Row             { return row(id, "SAMTALE", fra, "", 0, KodeFaelles) }
func indk(id, fra string) Row                { return row(id, "INDKALDELSE", fra, "", 0, KodeJob) }
func akt(id, fra, til string) Row            { return row(id, "AKTIVERING", fra, til, 0, "PRAK") }
func fri(id, fra, til string) Row            { return row(id, "FRITAGELSE", fra, til, 0, "SYG") }

// base is the base DP citizen (see the top of the file) plus extra rows.
func base(extra ...Row) []Row {
	rows := []Row{
		kg("k1", "2016-01-04", "", "DP", 101),
		dpp("d1", "2016-01-04"),
		ledig("l1", "2016-01-04", "", 3700),
	}
	return append(rows, extra...)
}

// want is the expected Result. Date fields: "" = empty, "*" = not checked.
// sum = -1: not checked.
type want struct {
	in       bool
	group    string
	kommune  uint16
	computed bool
	sum      int64
	n        int
	l        string
	vej      string
	fael     string
	frist    string
	opf      string
}

func wantDP(sum int64, n int, l, vej, fael, frist, opf string) want {
	return want{in: true, group: "DP", kommune: 101, computed: true, sum: sum, n: n, l: l, vej: vej, fael: fael, frist: frist, opf: opf}
}

func wantKH(group string, kommune uint16, n int, l, vej string) want {
	return want{in: true, group: group, kommune: kommune, computed: true, n: n, l: l, vej: vej}
}

type ruleCase struct {
	name string
	cpr  string // "" = testCPR
	rows []Row
	asOf string
	cal  *Calendar // nil = plain Danish calendar
	want want
}

func runRuleCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows := append([]Row(nil), c.rows...)
			if c.cpr != "" {
				for i := range rows {
					copy(rows[i].CPR[:], c.cpr)
				}
			}
			cal := c.cal
			if cal == nil {
				cal = NewCalendar(nil, nil)
			}
			r := Evaluate(rows, td(c.asOf), cal)
			w := c.want
			check := func(field string, got, want any) {
				t.Helper()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v", field, got, want)
				}
			}
			checkDate := func(field string, got Date, want string) {
				t.Helper()
				if want != "*" && got.String() != want {
					t.Errorf("%s = %q, want %q", field, got.String(), want)
				}
			}
			check("InSnapshot", r.InSnapshot, w.in)
			check("Group", r.Group.String(), w.group)
			check("Kommune", r.Kommune, w.kommune)
			check("Computed", r.Computed, w.computed)
			check("HasCum", r.HasCum, w.computed && w.group == "DP")
			if w.sum >= 0 {
				check("CumSum", r.CumSum, w.sum)
			}
			check("N", r.N, w.n)
			checkDate("L", r.L, w.l)
			checkDate("Vejledende", r.Vejledende, w.vej)
			checkDate("Faelles", r.Faelles, w.fael)
			checkDate("Frist", r.Frist, w.frist)
			checkDate("Opfyldt", r.Opfyldt, w.opf)
			// Evaluate is pure: the same input gives the same result.
			if r2 := Evaluate(rows, td(c.asOf), cal); fmt.Sprint(r2) != fmt.Sprint(r) {
				t.Error("Evaluate is not deterministic")
			}
		})
	}
}

// TestRulesBase: the base citizen and the docs/rules.md#guiding-interview-date rule for n = 0…5.
func TestRulesDPInterviewsUnderSix(t *testing.T) {
	t.Parallel()
	// Interviews on Jan 5, 6, 7, 8, 11 (all in [P, A] = [Jan 4, Jan 20]).
	iv := []Row{job("s1", "2016-01-05"), job("s2", "2016-01-06"), job("s3", "2016-01-07"), job("s4", "2016-01-08"), job("s5", "2016-01-11")}
	// Faelles f = 0 → 222 h → Fri 2016-02-12; Frist 481 h → Fri 2016-04-01 in all of these.
	runRuleCases(t, []ruleCase{
		// n = 0 → 1M → i = 30 → 2016-02-03 Wed.
		{name: "n=0", rows: base(), asOf: "2016-01-20", want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "2016-04-01", "")},
		// n = 1 → 2M → i = 60 → 2016-03-04 Fri.
		{name: "n=1", rows: base(iv[:1]...), asOf: "2016-01-20", want: wantDP(62900, 1, "2016-01-05", "2016-03-04", "2016-02-12", "2016-04-01", "")},
		// n = 2 → 3M → i = 90 → Sun 2016-04-03 → back to Fri 2016-04-01.
		{name: "n=2", rows: base(iv[:2]...), asOf: "2016-01-20", want: wantDP(62900, 2, "2016-01-06", "2016-04-01", "2016-02-12", "2016-04-01", "")},
		// n = 3 → 4M → i = 121 → 2016-05-04 Wed.
		{name: "n=3", rows: base(iv[:3]...), asOf: "2016-01-20", want: wantDP(62900, 3, "2016-01-07", "2016-05-04", "2016-02-12", "2016-04-01", "")},
		// n = 4 → 5M → i = 151 → 2016-06-03 Fri.
		{name: "n=4", rows: base(iv[:4]...), asOf: "2016-01-20", want: wantDP(62900, 4, "2016-01-08", "2016-06-03", "2016-02-12", "2016-04-01", "")},
		// n = 5 → 6M → i = 181 → Sun 2016-07-03 → Fri 2016-07-01.
		{name: "n=5", rows: base(iv...), asOf: "2016-01-20", want: wantDP(62900, 5, "2016-01-11", "2016-07-01", "2016-02-12", "2016-04-01", "")},
		// Order of rows does not matter: L is the latest date, not the last row.
		{name: "n=3 unsorted", rows: base(iv[2], iv[0], iv[1]), asOf: "2016-01-20", want: wantDP(62900, 3, "2016-01-07", "2016-05-04", "2016-02-12", "2016-04-01", "")},
		// Not counted: a JOB interview before P (2015-12-28), a summons (INDKALDELSE JOB) in
		// [P, A], and a JOB interview dated after A. Counted: Jan 5 → n = 1 → 2016-03-04.
		{name: "n=1 with uncounted rows", rows: base(job("s0", "2015-12-28"), iv[0], indk("i1", "2016-01-12"), job("s9", "2016-01-21")), asOf: "2016-01-20",
			want: wantDP(62900, 1, "2016-01-05", "2016-03-04", "2016-02-12", "2016-04-01", "")},
		// An interview on P itself and one on A itself count (closed interval): n = 2 → 3M → 2016-04-01.
		{name: "n=2 on P and on A", rows: base(job("s1", "2016-01-04"), job("s2", "2016-01-20")), asOf: "2016-01-20",
			want: wantDP(62900, 2, "2016-01-20", "2016-04-01", "2016-02-12", "2016-04-01", "")},
		// Two interviews on the same day count twice: n = 2.
		{name: "n=2 same day", rows: base(job("s1", "2016-01-05"), job("s2", "2016-01-05")), asOf: "2016-01-20",
			want: wantDP(62900, 2, "2016-01-05", "2016-04-01", "2016-02-12", "2016-04-01", "")},
	})
}

func TestRulesDPInterviewsSixAndMore(t *testing.T) {
	t.Parallel()
	// A = 2016-08-01 = P+210 → S(A) = 211·3700 = 780700. Faelles (f = 0) and Frist are
	// unchanged (2016-02-12 and 2016-04-01, in the past: reported as they are).
	const a = "2016-08-01"
	early := []Row{job("s1", "2016-01-05"), job("s2", "2016-01-06"), job("s3", "2016-01-07"), job("s4", "2016-01-08"), job("s5", "2016-01-11"), job("s6", "2016-01-12")}
	late := []Row{job("t1", "2016-01-05"), job("t2", "2016-02-05"), job("t3", "2016-03-04"), job("t4", "2016-04-05"), job("t5", "2016-06-06"), job("t6", "2016-07-29")}
	runRuleCases(t, []ruleCase{
		// n = 5 → 6M → 2016-07-01, before A: an overdue date is reported as it is.
		{name: "n=5 overdue", rows: base(early[:5]...), asOf: a, want: wantDP(780700, 5, "2016-01-11", "2016-07-01", "2016-02-12", "2016-04-01", "")},
		// n = 6, L = Jan 12 = P+8: S(L) = 9·3700 = 33300 < 6M (673386) → target 6M + 3M = 9M
		// (1010079) → i = 272 → Sun 2016-10-02 → Fri 2016-09-30.
		{name: "n=6 cum(L)<6M", rows: base(early...), asOf: a, want: wantDP(780700, 6, "2016-01-12", "2016-09-30", "2016-02-12", "2016-04-01", "")},
		// n = 6, L = Jul 29 = P+207 (day of year 211 − 4): S(L) = 208·3700 = 769600 > 673386 →
		// target 769600 + 3M (336693) = 1106293 → ⌈1106293/3700⌉ = 299 (299·3700 = 1106300,
		// 298·3700 = 1102600) → i = 298 → Oct 2 is i = 272, +26 → 2016-10-28, Mon + 298 mod 7
		// (= 4) → Friday, a working day.
		{name: "n=6 cum(L)>6M", rows: base(late...), asOf: a, want: wantDP(780700, 6, "2016-07-29", "2016-10-28", "2016-02-12", "2016-04-01", "")},
		// n = 7 (an extra interview on Jul 1), L still Jul 29, plus one before P (not counted).
		{name: "n=7", rows: base(append([]Row{job("t0", "2015-12-30"), job("t7", "2016-07-01")}, late...)...), asOf: a,
			want: wantDP(780700, 7, "2016-07-29", "2016-10-28", "2016-02-12", "2016-04-01", "")},
		// n = 8, L = Aug 1 = A = P+210: S(L) = 211·3700 = 780700 → target 780700 + 336693 =
		// 1117393 → ⌈301.99⌉ = 302 (302·3700 = 1117400) → i = 301 → 2016-10-31, Mon + 0 → Monday.
		{name: "n=8 L=A", rows: base(append([]Row{job("t7", "2016-07-01"), job("t8", "2016-08-01")}, late...)...), asOf: a,
			want: wantDP(780700, 8, "2016-08-01", "2016-10-31", "2016-02-12", "2016-04-01", "")},
		// n = 8 but all early: L = Jan 14 = P+10, S(L) = 11·3700 = 40700 < 6M → 9M → 2016-09-30.
		{name: "n=8 cum(L)<6M", rows: base(append(early, job("s7", "2016-01-13"), job("s8", "2016-01-14"))...), asOf: a,
			want: wantDP(780700, 8, "2016-01-14", "2016-09-30", "2016-02-12", "2016-04-01", "")},
		// n = 6 with unemployment ending Jul 31 (= P+209, 210 days, S = 777000 = 1110,00 h): the
		// 9M target (1010079) is never reached → empty. With f = 1 the 6M date (i = 181 ≤ 209)
		// is still reached → 2016-07-01.
		{name: "n=6 unreachable", rows: []Row{kg("k1", "2016-01-04", "", "DP", 101), dpp("d1", "2016-01-04"), ledig("l1", "2016-01-04", "2016-07-31", 3700), early[0], early[1], early[2], early[3], early[4], early[5], faelles("f1", "2016-02-01")}, asOf: a,
			want: wantDP(777000, 6, "2016-01-12", "", "2016-07-01", "2016-04-01", "")},
	})
}

func TestRulesDPJointInterviews(t *testing.T) {
	t.Parallel()
	// Vejledende (n = 0) 2016-02-03 and Frist 2016-04-01 as in the base case.
	runRuleCases(t, []ruleCase{
		// f = 0 → 222 h → i = 41 → Sun 2016-02-14 → Fri 2016-02-12 (S(P+41) = 42·3700 = 155400 = 7·22200 exactly).
		{name: "f=0", rows: base(), asOf: "2016-01-20", want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "2016-04-01", "")},
		// f = 1 → 6M → i = 181 → Sun 2016-07-03 → Fri 2016-07-01.
		{name: "f=1", rows: base(faelles("f1", "2016-01-06")), asOf: "2016-01-20", want: wantDP(62900, 0, "", "2016-02-03", "2016-07-01", "2016-04-01", "")},
		// f = 2 → 16M → i = 485 → 2017-05-03 Wed (Store Bededag 2017 is Fri May 12).
		{name: "f=2", rows: base(faelles("f1", "2016-01-06"), faelles("f2", "2016-01-07")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2017-05-03", "2016-04-01", "")},
		// f = 3 → empty.
		{name: "f=3", rows: base(faelles("f1", "2016-01-06"), faelles("f2", "2016-01-07"), faelles("f3", "2016-01-08")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "", "2016-04-01", "")},
		// f = 4 → empty as well.
		{name: "f=4", rows: base(faelles("f1", "2016-01-06"), faelles("f2", "2016-01-07"), faelles("f3", "2016-01-08"), faelles("f4", "2016-01-20")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "", "2016-04-01", "")},
		// A joint interview before P and a summons for one do not count; a JOB interview
		// counts for n, not for f: f = 1 → 2016-07-01; n = 1 → 2M → 2016-03-04.
		{name: "f=1 with uncounted rows", rows: base(faelles("f0", "2015-12-28"), faelles("f1", "2016-01-06"), row("i1", "INDKALDELSE", "2016-01-15", "", 0, KodeFaelles), job("s1", "2016-01-07")), asOf: "2016-01-20",
			want: wantDP(62900, 1, "2016-01-07", "2016-03-04", "2016-07-01", "2016-04-01", "")},
		// Joint interviews do not count as job interviews: f = 2, n = 0.
		{name: "f=2 n=0", rows: base(faelles("f1", "2016-01-05"), faelles("f2", "2016-01-06")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2017-05-03", "2016-04-01", "")},
	})
}

func TestRulesDPDagpengeperiode(t *testing.T) {
	t.Parallel()
	// Several dagpengeperioder: d0 2015-03-02, d1 2016-01-04, d2 2016-01-25 (after A).
	// Unemployment has run full time since 2015-03-02.
	multi := []Row{
		kg("k1", "2015-03-02", "", "DP", 101),
		dpp("d2", "2016-01-25"), // listed first: the latest with fra ≤ A wins, not the last row
		dpp("d0", "2015-03-02"),
		dpp("d1", "2016-01-04"),
		ledig("l1", "2015-03-02", "", 3700),
		job("s0", "2015-06-01"),     // before P = 2016-01-04 (in the previous period): not counted
		job("s1", "2016-01-12"),     // counted when P = 2016-01-04
		faelles("f0", "2015-09-01"), // before P: not counted
		akt("a0", "2015-10-01", ""), // before P: no Opfyldt
	}
	runRuleCases(t, []ruleCase{
		// A = 2016-01-20: P = 2016-01-04 (d2 is after A). Only days from P count:
		// S(A) = 17·3700 = 62900. n = 1 (Jan 12) → 2M → 2016-03-04. f = 0 → 2016-02-12.
		// Frist 2016-04-01. Opfyldt: a0 starts before P → empty.
		{name: "latest before A", rows: multi, asOf: "2016-01-20", want: wantDP(62900, 1, "2016-01-12", "2016-03-04", "2016-02-12", "2016-04-01", "")},
		// A = 2016-01-25: P = 2016-01-25 (fra = A counts). S(A) = 1·3700. n = 0 (Jan 12 < P).
		// 1M: i = 30 → Jan 25 + 6 = Jan 31, + 24 = 2016-02-24 (Mon + 2 → Wed).
		// 222 h: i = 41 → Feb 24 + 5 = Feb 29, + 6 = Mar 6 (Sun) → Fri 2016-03-04.
		// 481 h: i = 90 → Jan 31 (+6), Feb 29 (+35), Mar 31 (+66), Apr 24 (+90), Sunday →
		// back: Sat Apr 23, Fri Apr 22 = Store Bededag 2016 (Easter + 26) → Thu 2016-04-21.
		{name: "period starts on A", rows: multi, asOf: "2016-01-25", want: wantDP(3700, 0, "", "2016-02-24", "2016-03-04", "2016-04-21", "")},
		// LEDIG rows that began before P count only from P: same as the base case.
		{name: "ledig from before P", rows: []Row{kg("k1", "2016-01-04", "", "DP", 101), dpp("d1", "2016-01-04"), ledig("l1", "2015-12-01", "", 3700), ledig("l0", "2015-06-01", "2015-11-30", 3700)}, asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "2016-04-01", "")},
	})

	// A DP citizen without a dagpengeperiode (none at all, or only one after A): every
	// computed field is empty, n and L too, even with interviews and unemployment.
	none := want{in: true, group: "DP", kommune: 101, computed: false, sum: 0, n: 0, l: "", vej: "", fael: "", frist: "", opf: ""}
	runRuleCases(t, []ruleCase{
		{name: "no dagpengeperiode", rows: []Row{kg("k1", "2016-01-04", "", "DP", 101), ledig("l1", "2016-01-04", "", 3700), job("s1", "2016-01-05"), faelles("f1", "2016-01-06"), akt("a1", "2016-01-11", "")}, asOf: "2016-01-20", want: none},
		{name: "dagpengeperiode after A", rows: []Row{kg("k1", "2016-01-04", "", "DP", 101), dpp("d1", "2016-01-21"), ledig("l1", "2016-01-04", "", 3700), job("s1", "2016-01-05")}, asOf: "2016-01-20", want: none},
	})
}

func TestRulesDPLedig(t *testing.T) {
	t.Parallel()
	kd := []Row{kg("k1", "2016-01-04", "", "DP", 101), dpp("d1", "2016-01-04")}
	with := func(extra ...Row) []Row { return append(append([]Row(nil), kd...), extra...) }
	runRuleCases(t, []ruleCase{
		// Overlapping rows take the max, never the sum: 37 h on Jan 4–10 (7 days), 18,5 h from
		// Jan 4 open-ended → rate 3700 for 7 days, then 1850. S(A) = 7·3700 + 10·1850 = 25900 +
		// 18500 = 44400 (the sum would give 5550 a day in the first week).
		// 1M: 112231 − 25900 = 86331 → ⌈86331/1850⌉ = ⌈46.66⌉ = 47 more days → i = 7 + 47 − 1 =
		//   53 → 2016-02-26 (Jan 31 = +27, +26), Mon + 53 mod 7 (= 4) = Fri.
		//   Check: S(P+53) = 25900 + 47·1850 = 112850 ≥ 112231, S(P+52) = 111000 < it.
		// 222 h: 155400 − 25900 = 129500 = 70·1850 exactly → i = 76 → Mar 20 (Feb 29 = +56, +20),
		//   Sunday → Fri 2016-03-18 (reached with S = 155400 exactly: ≥, not >).
		// 481 h: 336700 − 25900 = 310800 = 168·1850 exactly → i = 174 → Mar 31 (+87), Apr 30
		//   (+117), May 31 (+148), Jun 26 (+174), Sunday → Fri 2016-06-24.
		{name: "overlap max not sum", rows: with(ledig("l1", "2016-01-04", "", 1850), ledig("l2", "2016-01-04", "2016-01-10", 3700)), asOf: "2016-01-20",
			want: wantDP(44400, 0, "", "2016-02-26", "2016-03-18", "2016-06-24", "")},
		// The same with the rows in the other order and a third, lower, overlapping row.
		{name: "overlap max not sum, reordered", rows: with(ledig("l2", "2016-01-04", "2016-01-10", 3700), ledig("l3", "2016-01-06", "2016-01-08", 1000), ledig("l1", "2016-01-04", "", 1850)), asOf: "2016-01-20",
			want: wantDP(44400, 0, "", "2016-02-26", "2016-03-18", "2016-06-24", "")},
		// Two overlapping rows with the same rate count once: 37 h on Jan 4–17 and on Jan 11–17
		// → 14 days at 3700 = 51800, then nothing. Unreachable targets: all empty.
		{name: "overlap same rate, then none", rows: with(ledig("l1", "2016-01-04", "2016-01-17", 3700), ledig("l2", "2016-01-11", "2016-01-17", 3700)), asOf: "2016-01-20",
			want: wantDP(51800, 0, "", "", "", "", "")},
		// Adjacent rows with the same rate: Jan 4–10 and Jan 11–17 at 3700 → 14 days = 51800,
		// then nothing after Jan 17. S stays 51800 < 1M (112231): every target unreachable.
		{name: "adjacent same rate, then none", rows: with(ledig("l1", "2016-01-04", "2016-01-10", 3700), ledig("l2", "2016-01-11", "2016-01-17", 3700)), asOf: "2016-01-20",
			want: wantDP(51800, 0, "", "", "", "", "")},
		// Adjacent same rate, then 18,5 h from Jan 18: S(A) = 14·3700 + 3·1850 = 51800 + 5550 = 57350.
		// 1M: 112231 − 51800 = 60431 → ⌈32.66⌉ = 33 days from Jan 18 → Jan 18 + 32 = Feb 19
		//   (Jan 31 = +13, +19), Mon + 32 mod 7 (= 4) = Fri.
		// 222 h: 155400 − 51800 = 103600 = 56·1850 → Jan 18 + 55 = Mar 13 (Feb 29 = +42, +13),
		//   Sunday → Fri 2016-03-11.
		// 481 h: 336700 − 51800 = 284900 = 154·1850 → Jan 18 + 153 = Jun 19 (Mar 31 = +73,
		//   Apr 30 = +103, May 31 = +134, +19), Sunday → Fri 2016-06-17.
		{name: "adjacent same rate, then part time", rows: with(ledig("l1", "2016-01-04", "2016-01-10", 3700), ledig("l2", "2016-01-11", "2016-01-17", 3700), ledig("l3", "2016-01-18", "", 1850)), asOf: "2016-01-20",
			want: wantDP(57350, 0, "", "2016-02-19", "2016-03-11", "2016-06-17", "")},
		// A gap: 37 h Jan 4–10, nothing Jan 11–17, 37 h from Jan 18. S(A) = (7 + 3)·3700 = 37000.
		// 1M needs 31 days of rate: 7 + 24 → Jan 18 + 23 = 2016-02-10 Wed.
		// 222 h needs 42: 7 + 35 → Jan 18 + 34 = Feb 21 Sun → Fri 2016-02-19.
		// 481 h needs 91: 7 + 84 → Jan 18 + 83 = Apr 10 (Mar 31 = +73, +10) Sun → Fri 2016-04-08.
		{name: "gap", rows: with(ledig("l1", "2016-01-04", "2016-01-10", 3700), ledig("l2", "2016-01-18", "", 3700)), asOf: "2016-01-20",
			want: wantDP(37000, 0, "", "2016-02-10", "2016-02-19", "2016-04-08", "")},
		// LEDIG ends: 37 h from Jan 4 to Mar 31 = P+87 → 88 days, S = 325600 < 336700 (481 h):
		// the activation frist is never reached → empty; 1M and 222 h are reached before.
		{name: "ledig ends before 481 h", rows: with(ledig("l1", "2016-01-04", "2016-03-31", 3700)), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "", "")},
		// LEDIG ends on the very day 481 h is reached (Apr 3 = P+90: S = 336700): still reached.
		{name: "ledig ends on the day 481 h is reached", rows: with(ledig("l1", "2016-01-04", "2016-04-03", 3700)), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "2016-04-01", "")},
		// LEDIG ends one day earlier (Apr 2: 90 days, S = 333000 < 336700): never reached.
		{name: "ledig ends a day before 481 h", rows: with(ledig("l1", "2016-01-04", "2016-04-02", 3700)), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "", "")},
		// No LEDIG at all: S = 0, everything unreachable.
		{name: "no ledig", rows: with(), asOf: "2016-01-20", want: wantDP(0, 0, "", "", "", "", "")},
		// LEDIG starting after A is part of the projection: 37 h from Feb 1 (P+28). S(A) = 0.
		// 1M: 31 days from Feb 1 → Mar 2 (Feb 1 + 28 = Feb 29, + 2) Wed.
		// 222 h: 42 days → Feb 1 + 41 = Mar 13 Sun → Fri 2016-03-11.
		// 481 h: 91 days → Feb 1 + 90 = May 1 (Feb 29 = +28, Mar 31 = +59, Apr 30 = +89, +1) Sun →
		//   Sat Apr 30, Fri Apr 29 → 2016-04-29.
		{name: "ledig starts after A", rows: with(ledig("l1", "2016-02-01", "", 3700)), asOf: "2016-01-20",
			want: wantDP(0, 0, "", "2016-03-02", "2016-03-11", "2016-04-29", "")},
	})
}

func TestRulesDPHorizon(t *testing.T) {
	t.Parallel()
	// 0,30 h/week (30 centi) from P = 2016-01-04: 1M needs ⌈112231/30⌉ = ⌈3741.03⌉ = 3742
	// days → i = 3741. 222 h needs 155400/30 = 5180 days, 481 h 11224 days: beyond the horizon.
	// (The 481 h / 961,98 h frist for someone born 1990 is decades away: empty.)
	rows := []Row{kg("k1", "2016-01-04", "", "DP", 101), dpp("d1", "2016-01-04"), ledig("l1", "2016-01-04", "", 30)}
	runRuleCases(t, []ruleCase{
		// A = 2016-04-04 = P+91 → horizon A + 3650 = P+3741: the date is exactly A + 3650 and is
		// kept. 2016-04-04 → 2026-04-04 is 3652 days (Feb 29 of 2020 and 2024), so A + 3650 =
		// 2026-04-02, a Thursday: Maundy Thursday (Easter 2026 = Apr 5) → back to Wed 2026-04-01.
		// S(A) = 92·30 = 2760.
		{name: "exactly A+3650", rows: rows, asOf: "2016-04-04", want: wantDP(2760, 0, "", "2026-04-01", "", "", "")},
		// A = 2016-04-03 = P+90 → horizon P+3740 < P+3741 → empty. S(A) = 91·30 = 2730.
		{name: "A+3651", rows: rows, asOf: "2016-04-03", want: wantDP(2730, 0, "", "", "", "", "")},
	})
}

func TestRulesDPActivationAge(t *testing.T) {
	t.Parallel()
	// Base citizen with other CPR numbers; P = 2016-01-04, 37 h. 481 h (336700) is reached at
	// i = 90 (Sun Apr 3, S = 336700 exactly), 6M (673386) at i = 181 (Sun Jul 3).
	// Vejledende 2016-02-03 and Faelles 2016-02-12 are as in the base case.
	c := func(name, cpr, frist string) ruleCase {
		return ruleCase{name: name, cpr: cpr, rows: base(), asOf: "2016-01-20", want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", frist, "")}
	}
	runRuleCases(t, []ruleCase{
		c("age 25 throughout: 481 h at Apr 3 → Fri Apr 1", testCPR, "2016-04-01"),
		c("age 35 throughout: 961,98 h at Jul 3 → Fri Jul 1", "1005801234", "2016-07-01"),
		// Born 1986-04-03: 30 on Apr 3 = the day 481 h is reached; on that day the threshold is
		// already 961,98 h (and on Apr 2, age 29, S = 333000 < 336700) → 6M at Jul 3 → Jul 1.
		c("turns 30 on the day 481 h is reached", "0304861234", "2016-07-01"),
		// Born 1986-04-04: still 29 on Apr 3 with S = 336700 → Apr 3 → back to Fri Apr 1.
		c("turns 30 the day after 481 h is reached", "0404861234", "2016-04-01"),
		// Born 1986-04-02: 30 on Apr 2, one day before 481 h → 6M → Jul 1.
		c("turns 30 the day before 481 h is reached", "0204861234", "2016-07-01"),
		// Born 1966-04-03: 50 on Apr 3 = the day 481 h is reached → 481 h applies → Apr 3 → Apr 1.
		c("turns 50 on the day 481 h is reached", "0304661234", "2016-04-01"),
		// Born 1966-04-04: 49 on Apr 3 (961,98 h not reached); 50 on Apr 4 with S = 92·3700 =
		// 340400 ≥ 336700 → the frist is the birthday itself, Mon 2016-04-04.
		c("turns 50 the day after 481 h is reached", "0404661234", "2016-04-04"),
		// Born 1966-04-02: 50 on Apr 2 (S = 333000 < 336700); Apr 3 reaches it → Apr 1.
		c("turns 50 the day before 481 h is reached", "0204661234", "2016-04-01"),
		// Born 1966-06-02: 49 until Jun 1 (S(Jun 1) = 150·3700 = 555000 < 673386), 50 on Jun 2 =
		// P+150 with S = 151·3700 = 558700 ≥ 336700 → Thu 2016-06-02 (the birthday).
		c("drops to 481 h on the 50th birthday", "0206661234", "2016-06-02"),
		// Born 1966-12-01: still 49 when 6M is reached (Jul 3) → Jul 1.
		c("turns 50 after 961,98 h is reached", "0112661234", "2016-07-01"),
		// 7th digit 4 with YY 86 > 36 → 1986: the same person as "0404861234".
		c("century digit 4", "0404864234", "2016-04-01"),
		// 7th digit 5 with YY 66 > 57 → 1866: age 149 → 481 h → Apr 1.
		c("century digit 5, born 1866", "0404665234", "2016-04-01"),
		// 7th digit 5 with YY 06 ≤ 57 → 2006: age 9 → 481 h → Apr 1.
		c("century digit 5, born 2006", "0404065234", "2016-04-01"),
	})

	// Born 29 Feb 1988 ("2902881234"): 30th birthday 2018-03-01 (2018 is not a leap year).
	leapRows := func(p string) []Row {
		return []Row{kg("k1", p, "", "DP", 101), dpp("d1", p), ledig("l1", p, "", 3700)}
	}
	runRuleCases(t, []ruleCase{
		// P = 2017-11-30 (Thu): i = 90 → Dec 31 (+31), Jan 31 (+62), Feb 28 (+90) = 2018-02-28,
		// age 29 that day (the birthday is Mar 1) → 481 h reached → Wed 2018-02-28.
		// 1M: i = 30 → Dec 30 (Sat) → Fri 2017-12-29. 222 h: i = 41 → 2018-01-10 (Wed).
		// A = 2017-12-15 = P+15 → S = 16·3700 = 59200.
		{name: "29 Feb birth, still 29 on 28 Feb", cpr: "2902881234", rows: leapRows("2017-11-30"), asOf: "2017-12-15",
			want: wantDP(59200, 0, "", "2017-12-29", "2018-01-10", "2018-02-28", "")},
		// P = 2017-12-01 (Fri): i = 90 → 2018-03-01 = 30th birthday → 961,98 h → i = 181 →
		// Mar 1 (+90), Mar 31 (+120), Apr 30 (+150), May 31 (+181) = 2018-05-31, Fri + 181 mod 7
		// (= 6) → Thursday; Ascension 2018 is May 10, Whit Monday May 21 → a working day.
		// 1M: i = 30 → Dec 31 (Sun) → Fri 2017-12-29. 222 h: i = 41 → 2018-01-11 (Thu).
		// A = 2017-12-15 = P+14 → S = 15·3700 = 55500.
		{name: "29 Feb birth, 30 on 1 March", cpr: "2902881234", rows: leapRows("2017-12-01"), asOf: "2017-12-15",
			want: wantDP(55500, 0, "", "2017-12-29", "2018-01-11", "2018-05-31", "")},
	})
}

func TestRulesExemptions(t *testing.T) {
	t.Parallel()
	// Base citizen, raw dates before docs/rules.md#adjusting-a-due-date: Vejledende Wed 2016-02-03, Faelles Sun 2016-02-14,
	// Frist Sun 2016-04-03 (after step 2: Feb 3, Feb 12, Apr 1).
	runRuleCases(t, []ruleCase{
		// Feb 1–5 covers Feb 3 → E + 1 = Sat Feb 6 → forward to Mon 2016-02-08.
		{name: "exemption moves forward to a working day", rows: base(fri("x1", "2016-02-01", "2016-02-05")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-08", "2016-02-12", "2016-04-01", "")},
		// Feb 10–14 covers the raw Faelles date Sun Feb 14 → E + 1 = Mon 2016-02-15. Not moved back
		// to Fri Feb 12 (step 2 only applies when step 1 did not move the date).
		{name: "exemption over a weekend due date", rows: base(fri("x1", "2016-02-10", "2016-02-14")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2016-02-15", "2016-04-01", "")},
		// A one-day exemption on the due date itself: Feb 3–3 → Thu 2016-02-04.
		{name: "one-day exemption on the date", rows: base(fri("x1", "2016-02-03", "2016-02-03")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-04", "2016-02-12", "2016-04-01", "")},
		// An exemption ending the day before and one starting the day after do not cover it.
		{name: "exemptions next to the date", rows: base(fri("x1", "2016-01-10", "2016-02-02"), fri("x2", "2016-02-04", "2016-02-11")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "2016-04-01", "")},
		// Activation frist: Mar 20 – Apr 5 covers Apr 3 → E + 1 month = May 5 = Ascension 2016
		// (Thu) → forward to Fri 2016-05-06.
		{name: "frist: E + 1 month onto a holiday", rows: base(fri("x1", "2016-03-20", "2016-04-05")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "2016-05-06", "")},
		// Activation frist chained: Apr 1–3 covers Apr 3 → May 3 (Tue); May 1–31 covers it →
		// May 31 + 1 month = Jun 30 (clamped, Thu, working) → 2016-06-30.
		{name: "frist: chained, clamped month end", rows: base(fri("x1", "2016-04-01", "2016-04-03"), fri("x2", "2016-05-01", "2016-05-31")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "2016-06-30", "")},
		// Open-ended exemption from Feb 1 covers every raw date (Feb 3, Feb 14, Apr 3) → empty.
		{name: "open-ended exemption", rows: base(fri("x1", "2016-02-01", "")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "", "", "", "")},
		// Open-ended exemption starting after the raw Vejledende/Faelles dates (Mar 1): only the
		// frist (Apr 3) is covered → empty; the others are untouched.
		{name: "open-ended exemption later", rows: base(fri("x1", "2016-03-01", "")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "", "")},
		// Overlapping, both covering Feb 3: Feb 1–10 and Feb 3–7 → E = max til = Feb 10 → Thu
		// 2016-02-11. Faelles raw Feb 14 not covered → Feb 12.
		{name: "overlapping exemptions: latest til", rows: base(fri("x1", "2016-02-03", "2016-02-07"), fri("x2", "2016-02-01", "2016-02-10")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-11", "2016-02-12", "2016-04-01", "")},
		// Chained: Feb 1–10 covers Feb 3 → Feb 11; Feb 11–16 covers that → Feb 17 (Wed).
		// Faelles raw Feb 14 (covered by x2 only) → Feb 17 too.
		{name: "chained exemptions", rows: base(fri("x1", "2016-02-01", "2016-02-10"), fri("x2", "2016-02-11", "2016-02-16")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-17", "2016-02-17", "2016-04-01", "")},
		// Chained into an open-ended one: Feb 1–10 → Feb 11, covered by Feb 11– (open) → empty.
		// Faelles (Feb 14) and the frist (Apr 3) are in the open one too → empty.
		{name: "chained into open-ended", rows: base(fri("x1", "2016-02-01", "2016-02-10"), fri("x2", "2016-02-11", "")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "", "", "", "")},
		// Feb 3 – Mar 24 covers Vejledende (Feb 3) and Faelles (Feb 14) → E + 1 = Mar 25, Good
		// Friday → Sat 26, Easter Sun 27, Easter Mon 28 → Tue 2016-03-29. The frist (Apr 3) is
		// outside → back to Fri Apr 1.
		{name: "exemption ends before Easter", rows: base(fri("x1", "2016-02-03", "2016-03-24")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-03-29", "2016-03-29", "2016-04-01", "")},
		// An exemption long over (all of 2015) covers none of the due dates: no effect.
		{name: "old exemption", rows: base(fri("x1", "2015-01-01", "2015-12-31")), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "2016-04-01", "")},
	})
}

func TestRulesOpfyldt(t *testing.T) {
	t.Parallel()
	d := func(name string, opf string, extra ...Row) ruleCase {
		return ruleCase{name: name, rows: base(extra...), asOf: "2016-01-20", want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "2016-04-01", opf)}
	}
	runRuleCases(t, []ruleCase{
		d("none", ""),
		// Feb 1–13: 13 − 1 + 1 = 13 days < 14 → does not count.
		d("13 days", "", akt("a1", "2016-02-01", "2016-02-13")),
		// Feb 1–14: 14 days → counts.
		d("14 days", "2016-02-01", akt("a1", "2016-02-01", "2016-02-14")),
		// Open-ended counts.
		d("open-ended", "2016-03-01", akt("a1", "2016-03-01", "")),
		// Before P (Dec 1 2015, long): ignored, even though it overlaps P.
		d("before P", "", akt("a0", "2015-12-01", "2016-06-30")),
		// fra = P counts: Jan 4–17 = 14 days.
		d("on P", "2016-01-04", akt("a1", "2016-01-04", "2016-01-17")),
		// The earliest qualifying one, whatever the row order: Feb 15–28 (14 days) before Mar 1.
		d("earliest", "2016-02-15", akt("a2", "2016-03-01", ""), akt("a1", "2016-02-15", "2016-02-28")),
		// A short one first (Jan 10–22, 13 days), then a qualifying one (Jan 25 – Feb 7, 14 days).
		d("short then long", "2016-01-25", akt("a1", "2016-01-10", "2016-01-22"), akt("a2", "2016-01-25", "2016-02-07")),
		// Opfyldt is a registered start, not a due date: a Saturday stays (docs/rules.md#adjusting-a-due-date does not apply).
		d("saturday start", "2016-02-06", akt("a1", "2016-02-06", "")),
		// Not moved by exemptions either.
		d("under exemption", "2016-01-25", akt("a1", "2016-01-25", ""), fri("x1", "2016-01-20", "2016-01-31")),
		// A planned activation that starts after A counts too (docs/rules.md#first-activation only asks fra ≥ P).
		d("after A", "2016-02-22", akt("a1", "2016-02-22", "2016-03-06")),
	})
}

func TestRulesKontaktgruppeChoice(t *testing.T) {
	t.Parallel()
	dp := base()
	runRuleCases(t, []ruleCase{
		// Two rows cover A; the later fra wins: KH-J from Jan 10 in kommune 147. S = Jan 10,
		// n = 0 → S + 7 = Sun Jan 17 → Fri 2016-01-15.
		{name: "latest fra", rows: append(dp[:len(dp):len(dp)], kg("k2", "2016-01-10", "", "KH-J", 147)), asOf: "2016-01-20",
			want: wantKH("KH-J", 147, 0, "", "2016-01-15")},
		// The same fra: the greatest id ("k2" > "k1") wins, whatever the row order.
		// KH-A from Jan 4: n = 0 → S + 7 = Mon 2016-01-11.
		{name: "same fra, greatest id", rows: []Row{kg("k2", "2016-01-04", "", "KH-A", 147), kg("k1", "2016-01-04", "", "DP", 101), dpp("d1", "2016-01-04")}, asOf: "2016-01-20",
			want: wantKH("KH-A", 147, 0, "", "2016-01-11")},
		{name: "same fra, greatest id (DP)", rows: []Row{kg("k1", "2016-01-04", "", "KH-A", 147), kg("k2", "2016-01-04", "", "DP", 101), dpp("d1", "2016-01-04"), ledig("l1", "2016-01-04", "", 3700)}, asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "2016-04-01", "")},
		// A later row that ended before A (Jan 10–19) is not in the snapshot: DP (base case).
		{name: "later row ended before A", rows: append(dp[:len(dp):len(dp)], kg("k2", "2016-01-10", "2016-01-19", "KH-J", 147)), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "2016-04-01", "")},
		// Ending on A still covers A → KH-J (as in "latest fra").
		{name: "later row ends on A", rows: append(dp[:len(dp):len(dp)], kg("k2", "2016-01-10", "2016-01-20", "KH-J", 147)), asOf: "2016-01-20",
			want: wantKH("KH-J", 147, 0, "", "2016-01-15")},
		// Starting after A does not cover A → DP.
		{name: "row starting after A", rows: append(dp[:len(dp):len(dp)], kg("k2", "2016-01-21", "", "KH-J", 147)), asOf: "2016-01-20",
			want: wantDP(62900, 0, "", "2016-02-03", "2016-02-12", "2016-04-01", "")},
		// Starting on A covers A: S = A = Jan 20 → S + 7 = Wed 2016-01-27.
		{name: "row starting on A", rows: append(dp[:len(dp):len(dp)], kg("k2", "2016-01-20", "", "UH-J", 173)), asOf: "2016-01-20",
			want: wantKH("UH-J", 173, 0, "", "2016-01-27")},
		// No row covers A: not in the snapshot, nothing computed.
		{name: "not in snapshot", rows: []Row{kg("k1", "2015-06-01", "2016-01-19", "DP", 101), dpp("d1", "2015-06-01"), ledig("l1", "2015-06-01", "", 3700)}, asOf: "2016-01-20",
			want: want{sum: 0, vej: "", fael: "", frist: "", opf: ""}},
		{name: "no rows", rows: nil, asOf: "2016-01-20", want: want{sum: 0}},
		// DP interviews count whatever the group was then: KH-J Jan 4–9 with an interview on
		// Jan 5, DP from Jan 10, P = Jan 4 → n = 1 → 2M → 2016-03-04.
		{name: "DP counts interviews from another group's time", rows: []Row{kg("k1", "2016-01-04", "2016-01-09", "KH-J", 101), kg("k2", "2016-01-10", "", "DP", 101), dpp("d1", "2016-01-04"), ledig("l1", "2016-01-04", "", 3700), job("s1", "2016-01-05")}, asOf: "2016-01-20",
			want: wantDP(62900, 1, "2016-01-05", "2016-03-04", "2016-02-12", "2016-04-01", "")},
	})
}

func TestRulesJobparat(t *testing.T) {
	t.Parallel()
	kh := func(group, s string, extra ...Row) []Row {
		return append([]Row{kg("k1", s, "", group, 101)}, extra...)
	}
	runRuleCases(t, []ruleCase{
		// n = 0: S + 7 days = Jan 4 + 7 = Mon 2016-01-11.
		{name: "KH-J n=0", rows: kh("KH-J", "2016-01-04"), asOf: "2016-01-20", want: wantKH("KH-J", 101, 0, "", "2016-01-11")},
		// Not counted: a JOB interview before S (Jan 2), joint interviews, a summons.
		{name: "KH-J n=0 uncounted", rows: kh("KH-J", "2016-01-04", job("s0", "2016-01-02"), faelles("f1", "2016-01-05"), indk("i1", "2016-01-06")), asOf: "2016-01-20",
			want: wantKH("KH-J", 101, 0, "", "2016-01-11")},
		// n = 1, L = Jan 15: L + 1 month = Mon Feb 15 < S + 3 months = Mon Apr 4 → 2016-02-15.
		{name: "KH-J n=1 L+1M earlier", rows: kh("KH-J", "2016-01-04", job("s1", "2016-01-15")), asOf: "2016-01-20",
			want: wantKH("KH-J", 101, 1, "2016-01-15", "2016-02-15")},
		// n = 1, L = Mar 10 (A = Mar 20): L + 1M = Sun Apr 10 > S + 3M = Mon Apr 4 → 2016-04-04.
		{name: "KH-J n=1 S+3M earlier", rows: kh("KH-J", "2016-01-04", job("s1", "2016-03-10")), asOf: "2016-03-20",
			want: wantKH("KH-J", 101, 1, "2016-03-10", "2016-04-04")},
		// n = 1, L = Jan 31: L + 1M = Feb 31 → clamped Mon 2016-02-29 < Apr 4.
		{name: "KH-J n=1 clamped", rows: kh("KH-J", "2016-01-04", job("s1", "2016-01-31")), asOf: "2016-02-01",
			want: wantKH("KH-J", 101, 1, "2016-01-31", "2016-02-29")},
		// n = 1, S = Sat Jan 9: S + 3M = Sat Apr 9 < L + 1M (L = Mar 25 → Apr 25) → back to Fri 2016-04-08.
		{name: "KH-J n=1 S+3M on a Saturday", rows: kh("KH-J", "2016-01-09", job("s1", "2016-03-25")), asOf: "2016-03-31",
			want: wantKH("KH-J", 101, 1, "2016-03-25", "2016-04-08")},
		// n = 2 (UH-J), L = Mar 10: Sun Apr 10 vs S + 3M = Mon Apr 4 → 2016-04-04.
		{name: "UH-J n=2 S+3M earlier", rows: kh("UH-J", "2016-01-04", job("s1", "2016-01-15"), job("s2", "2016-03-10")), asOf: "2016-03-20",
			want: wantKH("UH-J", 101, 2, "2016-03-10", "2016-04-04")},
		// n = 2 (IY-J), L = Jan 15: Feb 15 < Apr 4 → 2016-02-15.
		{name: "IY-J n=2 L+1M earlier", rows: kh("IY-J", "2016-01-04", job("s1", "2016-01-08"), job("s2", "2016-01-15")), asOf: "2016-01-20",
			want: wantKH("IY-J", 101, 2, "2016-01-15", "2016-02-15")},
		// n = 3: L + 3 months, L = Mar 10 → Fri 2016-06-10.
		{name: "KH-J n=3", rows: kh("KH-J", "2016-01-04", job("s1", "2016-01-08"), job("s2", "2016-02-05"), job("s3", "2016-03-10")), asOf: "2016-03-20",
			want: wantKH("KH-J", 101, 3, "2016-03-10", "2016-06-10")},
		// n = 4: L = Mar 18 → Jun 18 (Sat) → Fri 2016-06-17.
		{name: "UH-J n=4", rows: kh("UH-J", "2016-01-04", job("s1", "2016-01-08"), job("s2", "2016-02-05"), job("s3", "2016-03-10"), job("s4", "2016-03-18")), asOf: "2016-03-20",
			want: wantKH("UH-J", 101, 4, "2016-03-18", "2016-06-17")},
		// Overdue: S = 2015-06-01, n = 0 → S + 7 = Mon 2015-06-08, long before A: reported as is.
		{name: "KH-J overdue", rows: kh("KH-J", "2015-06-01"), asOf: "2016-01-20", want: wantKH("KH-J", 101, 0, "", "2015-06-08")},
		// S + 7 = Dec 31 2018 (Monday): 31 Dec is an ordinary working day.
		{name: "KH-J S+7 on 31 Dec", rows: kh("KH-J", "2018-12-24"), asOf: "2018-12-27", want: wantKH("KH-J", 101, 0, "", "2018-12-31")},
		// S + 7 = Jun 5 2019 (Wednesday): 5 June is an ordinary working day.
		{name: "KH-J S+7 on 5 June", rows: kh("KH-J", "2019-05-29"), asOf: "2019-05-31", want: wantKH("KH-J", 101, 0, "", "2019-06-05")},
		// S + 7 = Sat Jan 9 → Fri 2016-01-08.
		{name: "IY-J S+7 on Saturday", rows: kh("IY-J", "2016-01-02"), asOf: "2016-01-05", want: wantKH("IY-J", 101, 0, "", "2016-01-08")},
		// Non-DP groups: no cumulative fields, no joint interview, no activation frist/opfyldt,
		// even with DP rows present.
		{name: "KH-J ignores DP rows", rows: kh("KH-J", "2016-01-04", dpp("d1", "2016-01-04"), ledig("l1", "2016-01-04", "", 3700), akt("a1", "2016-01-05", "")), asOf: "2016-01-20",
			want: wantKH("KH-J", 101, 0, "", "2016-01-11")},
	})
}

func TestRulesAktivitetsparat(t *testing.T) {
	t.Parallel()
	kh := func(group, s string, extra ...Row) []Row {
		return append([]Row{kg("k1", s, "", group, 101)}, extra...)
	}
	runRuleCases(t, []ruleCase{
		// n = 0: S + 7. S = Fri Mar 18 2016 → Mar 25 = Good Friday → Thu Mar 24 (Maundy Thursday)
		// → Wed 2016-03-23.
		{name: "KH-A n=0 onto Easter", rows: kh("KH-A", "2016-03-18"), asOf: "2016-03-20", want: wantKH("KH-A", 101, 0, "", "2016-03-23")},
		// n = 1: L + 3 months. L = Jan 22 → Apr 22 2016 = Store Bededag (Fri) → Thu 2016-04-21.
		{name: "KH-A n=1 onto Store Bededag 2016", rows: kh("KH-A", "2016-01-04", job("s1", "2016-01-22")), asOf: "2016-01-25",
			want: wantKH("KH-A", 101, 1, "2016-01-22", "2016-04-21")},
		// 2023 (last year): L = Feb 5 → May 5 2023 = Store Bededag → Thu 2023-05-04.
		{name: "IY-A n=1 onto Store Bededag 2023", rows: kh("IY-A", "2023-01-02", job("s1", "2023-02-05")), asOf: "2023-02-10",
			want: wantKH("IY-A", 101, 1, "2023-02-05", "2023-05-04")},
		// 2024: L = Jan 26 → Apr 26 2024 = Easter + 26, a working Friday now → 2024-04-26.
		{name: "UH-A n=1 onto former Store Bededag 2024", rows: kh("UH-A", "2024-01-02", job("s1", "2024-01-26")), asOf: "2024-01-31",
			want: wantKH("UH-A", 101, 1, "2024-01-26", "2024-04-26")},
		// n = 2 → L + 3 months: L = Feb 16 → May 16 2016 = Whit Monday → Sun 15 (Whit Sunday),
		// Sat 14 → Fri 2016-05-13.
		{name: "KH-A n=2 onto Whitsun", rows: kh("KH-A", "2016-01-04", job("s1", "2016-01-08"), job("s2", "2016-02-16")), asOf: "2016-02-20",
			want: wantKH("KH-A", 101, 2, "2016-02-16", "2016-05-13")},
		// L = Feb 5 → May 5 2016 = Ascension (Thu) → Wed 2016-05-04.
		{name: "UH-A n=1 onto Ascension", rows: kh("UH-A", "2016-01-04", job("s1", "2016-02-05")), asOf: "2016-02-10",
			want: wantKH("UH-A", 101, 1, "2016-02-05", "2016-05-04")},
		// L = Sep 26 → Dec 26 2016 (Mon, 2nd Christmas Day) → Sun 25, Sat 24 → Fri 2016-12-23.
		{name: "KH-A n=1 onto Christmas", rows: kh("KH-A", "2016-09-01", job("s1", "2016-09-26")), asOf: "2016-09-30",
			want: wantKH("KH-A", 101, 1, "2016-09-26", "2016-12-23")},
		// L = Oct 1 2017 → Jan 1 2018 (Monday, New Year's Day) → Sun, Sat → Fri 2017-12-29.
		{name: "KH-A n=1 onto New Year", rows: kh("KH-A", "2017-10-01", job("s1", "2017-10-01")), asOf: "2017-10-05",
			want: wantKH("KH-A", 101, 1, "2017-10-01", "2017-12-29")},
		// L = Sep 24 2018 → Dec 24 2018 (Monday): Christmas Eve is a working day → 2018-12-24.
		{name: "KH-A n=1 onto Christmas Eve", rows: kh("KH-A", "2018-09-01", job("s1", "2018-09-24")), asOf: "2018-09-28",
			want: wantKH("KH-A", 101, 1, "2018-09-24", "2018-12-24")},
		// L + 3 months with clamping: L = Nov 30 2015 → Feb 30 → Mon 2016-02-29.
		{name: "IY-A clamped", rows: kh("IY-A", "2015-11-02", job("s1", "2015-11-30")), asOf: "2015-12-01",
			want: wantKH("IY-A", 101, 1, "2015-11-30", "2016-02-29")},
		// n = 1 with an interview before S: only those in [S, A] count → n = 0 → S + 7 = Jan 11.
		{name: "KH-A interview before S", rows: kh("KH-A", "2016-01-04", job("s0", "2015-12-20")), asOf: "2016-01-20",
			want: wantKH("KH-A", 101, 0, "", "2016-01-11")},
	})
}

func TestRulesCalendarConfig(t *testing.T) {
	t.Parallel()
	// KH-A with L = Dec 25 2015 → L + 3 months = Fri Mar 25 2016 (Good Friday).
	goodFriday := []Row{kg("k1", "2015-12-01", "", "KH-A", 101), job("s1", "2015-12-25")}
	// KH-J from Jan 4, n = 0 → Mon Jan 11.
	khj := []Row{kg("k1", "2016-01-04", "", "KH-J", 101)}
	runRuleCases(t, []ruleCase{
		// Default calendar: Good Friday → Maundy Thursday → Wed 2016-03-23.
		{name: "default", rows: goodFriday, asOf: "2016-01-20", want: wantKH("KH-A", 101, 1, "2015-12-25", "2016-03-23")},
		// not_holidays = [2016-03-25]: Good Friday is a working day → stays 2016-03-25.
		{name: "not_holidays", rows: goodFriday, asOf: "2016-01-20", cal: NewCalendar(nil, []Date{td("2016-03-25")}),
			want: wantKH("KH-A", 101, 1, "2015-12-25", "2016-03-25")},
		// extra_holidays = [2016-01-11]: the due Monday is off → back over Sun, Sat → Fri 2016-01-08.
		{name: "extra_holidays", rows: khj, asOf: "2016-01-20", cal: NewCalendar([]Date{td("2016-01-11")}, nil),
			want: wantKH("KH-J", 101, 0, "", "2016-01-08")},
		// DP: extra holiday on the Vejledende date Wed Feb 3 → Tue 2016-02-02; and on Fri Feb 12
		// (Faelles, moved back from Sun Feb 14) → Thu 2016-02-11.
		{name: "extra_holidays DP", rows: base(), asOf: "2016-01-20", cal: NewCalendar([]Date{td("2016-02-03"), td("2016-02-12")}, nil),
			want: wantDP(62900, 0, "", "2016-02-02", "2016-02-11", "2016-04-01", "")},
	})
}

func TestRulesKontanthjaelpExemptions(t *testing.T) {
	t.Parallel()
	khj := func(extra ...Row) []Row { return append([]Row{kg("k1", "2016-01-04", "", "KH-J", 101)}, extra...) }
	runRuleCases(t, []ruleCase{
		// S + 7 = Mon Jan 11, exemption Jan 8–12 → Wed 2016-01-13.
		{name: "moved", rows: khj(fri("x1", "2016-01-08", "2016-01-12")), asOf: "2016-01-20", want: wantKH("KH-J", 101, 0, "", "2016-01-13")},
		// Exemption Jan 11–15 → Sat Jan 16 → forward to Mon 2016-01-18 (E + 1 day, not + 1 month:
		// only the activation frist uses a month).
		{name: "moved to weekend then forward", rows: khj(fri("x1", "2016-01-11", "2016-01-15")), asOf: "2016-01-20", want: wantKH("KH-J", 101, 0, "", "2016-01-18")},
		// Open-ended → empty.
		{name: "open-ended", rows: khj(fri("x1", "2016-01-05", "")), asOf: "2016-01-20", want: wantKH("KH-J", 101, 0, "", "")},
	})
}

func TestRulesDST(t *testing.T) {
	t.Parallel()
	// Dates around the DST changes are ordinary days.
	runRuleCases(t, []ruleCase{
		// P = Tue 2019-10-01, 37 h; the clocks go back on Sun Oct 27. A = Oct 31 = P+30 →
		// S = 31·3700 = 114700.
		// 1M: i = 30 → Thu 2019-10-31. 222 h: i = 41 → Oct 31 + 11 = Mon 2019-11-11.
		// 481 h: i = 90 → Oct 31 (+30), Nov 30 (+60), Dec 30 (+90) = Mon 2019-12-30.
		{name: "October 2019", rows: []Row{kg("k1", "2019-10-01", "", "DP", 101), dpp("d1", "2019-10-01"), ledig("l1", "2019-10-01", "", 3700)}, asOf: "2019-10-31",
			want: wantDP(114700, 0, "", "2019-10-31", "2019-11-11", "2019-12-30", "")},
		// 37 h on Mar 25 – Apr 7 2019 (14 days, across Sun Mar 31): S = 14·3700 = 51800, then
		// nothing → targets unreachable.
		{name: "March 2019", rows: []Row{kg("k1", "2019-03-01", "", "DP", 101), dpp("d1", "2019-03-01"), ledig("l1", "2019-03-25", "2019-04-07", 3700)}, asOf: "2019-04-30",
			want: wantDP(51800, 0, "", "", "", "", "")},
		// KH-J from Sat 2016-03-19: S + 7 = Sat Mar 26 (the day before the March 2016 change and
		// Easter Saturday) → Fri 25 Good Friday, Thu 24 Maundy Thursday → Wed 2016-03-23.
		{name: "March 2016", rows: []Row{kg("k1", "2016-03-19", "", "KH-J", 101)}, asOf: "2016-03-20", want: wantKH("KH-J", 101, 0, "", "2016-03-23")},
		// KH-J from Sun 2016-10-23: S + 7 = Sun Oct 30 (DST ends) → Fri 2016-10-28.
		{name: "October 2016", rows: []Row{kg("k1", "2016-10-23", "", "KH-J", 101)}, asOf: "2016-10-25", want: wantKH("KH-J", 101, 0, "", "2016-10-28")},
	})
}

func TestRounding(t *testing.T) {
	t.Parallel()
	// HoursCenti = S/7 and WeeksCenti = S/(7·37) = S/259, each rounded half up.
	cases := []struct {
		sum          int64
		hours, weeks int64
		why          string
	}{
		{0, 0, 0, "nothing"},
		{3, 0, 0, "3/7 = 0,43 → 0; 3/259 → 0"},
		{4, 1, 0, "4/7 = 0,57 → 1 (up); 4/259 → 0"},
		{7, 1, 0, "exactly 1 centi-hour"},
		{129, 18, 0, "129/7 = 18,43 → 18; 129/259 = 0,498 → 0"},
		{130, 19, 1, "130/7 = 18,57 → 19; 130/259 = 0,502 → 1"},
		{3700, 529, 14, "one full-time day: 3700/7 = 528,57 → 529 (5,29 h); 3700/259 = 14,29 → 14"},
		{62900, 8986, 243, "17 days full time: 8985,71 → 89,86 h; 242,86 → 2,43 weeks"},
		{44400, 6343, 171, "6342,86 → 63,43 h; 171,43 → 1,71 weeks"},
		{51800, 7400, 200, "14 full-time days: 74,00 h, 2,00 weeks exactly"},
		{57350, 8193, 221, "8192,86 → 81,93 h; 221,43 → 2,21 weeks"},
		{18500, 2643, 71, "10 days of 18,5 h: 2642,86 → 26,43 h; 71,43 → 0,71 weeks"},
		{673386, 96198, 2600, "6M exactly: 961,98 h; 673386/259 = 2599,95 → 26,00 weeks"},
		{780700, 111529, 3014, "211 full-time days: 111528,57 → 1115,29 h; 3014,29 → 30,14 weeks"},
		{2760, 394, 11, "2760/7 = 394,29 → 3,94 h; 2760/259 = 10,66 → 0,11 weeks"},
	}
	for _, c := range cases {
		r := Result{CumSum: c.sum}
		if got := r.HoursCenti(); got != c.hours {
			t.Errorf("HoursCenti(S=%d) = %d, want %d (%s)", c.sum, got, c.hours, c.why)
		}
		if got := r.WeeksCenti(); got != c.weeks {
			t.Errorf("WeeksCenti(S=%d) = %d, want %d (%s)", c.sum, got, c.weeks, c.why)
		}
	}
	// S/7 and S/259 never end in exactly one half (7 and 259 are odd), so a tie cannot occur
	// for real sums; the rounding helper itself rounds ties up (not to even).
	ties := []struct{ a, b, want int64 }{
		{1, 2, 1}, {3, 2, 2}, {5, 10, 1}, {15, 10, 2}, {25, 10, 3}, {4, 10, 0}, {14, 10, 1}, {6, 10, 1},
		{1005, 1000, 1}, {1004, 1000, 1}, {1500, 1000, 2}, {2500, 1000, 3}, {1499, 1000, 1},
	}
	for _, c := range ties {
		if got := roundDiv(c.a, c.b); got != c.want {
			t.Errorf("roundDiv(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestParseHours(t *testing.T) {
	t.Parallel()
	// LEDIG timer: > 0 and ≤ 37, at most 2 decimals, decimal comma or point → centi-hours.
	ok := map[string]int64{
		"37": 3700, "37,00": 3700, "37.00": 3700, "37,0": 3700,
		"18,5": 1850, "18.5": 1850, "18,50": 1850, "18.50": 1850,
		"0,01": 1, "0.01": 1, "7": 700, "07": 700, "7,25": 725, "36,99": 3699, "1,05": 105, "1,5": 150,
	}
	for in, want := range ok {
		if got, valid := parseHours([]byte(in)); !valid || got != want {
			t.Errorf("parseHours(%q) = %d, %v; want %d", in, got, valid, want)
		}
	}
	for _, in := range []string{"", "0", "0,00", "37,01", "38", "100", "18,505", "18.", ",5", "18,5,0", "1 8", "-1", "18;5", "18,a", "+5", "1e1"} {
		if got, valid := parseHours([]byte(in)); valid {
			t.Errorf("parseHours(%q) = %d, want invalid", in, got)
		}
	}
}
