package compute

import (
	"fmt"
	"testing"

	"leverance/compute/internal/linescan"
)

// parseSplitRef is parseSplit as it was before the checks that depend on
// the type were put under one branch: the reference for FuzzParseSplit.
func (p *rowParser) parseSplitRef(line []byte, semis, lineNo int, row *Row) (ok bool) {
	*row = Row{Line: lineNo}
	p.line, p.failed, p.hasID = lineNo, false, false
	if n, ok := p.split(line, semis); !ok {
		p.bad("", fmt.Sprintf("has %d fields, the header has %d", n, p.nfields))
		return false
	}

	id := p.get(colID)
	if h, ok := hashID(id); ok {
		row.ID = p.str(id)
		p.idHash, p.hasID = h, true
		if p.dup != nil {
			if first, dup := p.dup(h, lineNo); dup {
				p.bad("id", fmt.Sprintf("repeats the id of line %d", first))
			}
		}
	} else {
		p.bad("id", "must be 1–40 characters of A–Z, a–z, 0–9, _ and -")
	}

	cpr := p.get(colCPR)
	switch {
	case len(cpr) != 10:
		p.bad("cpr", "must be 10 digits")
	case p.lastCPROK && cprCompare((*[10]byte)(cpr), &p.lastCPR) == 0:
		row.CPR = p.lastCPR
	default:
		if _, valid := cprBirth((*[10]byte)(cpr)); valid {
			copy(row.CPR[:], cpr)
			p.lastCPR, p.lastCPROK = row.CPR, true
		} else if !allDigits(cpr) {
			p.bad("cpr", "must be 10 digits")
		} else {
			p.bad("cpr", "the birth date in it does not exist")
		}
	}

	row.Type = parseType(p.get(colType))
	if row.Type == 0 {
		p.bad("type", fmt.Sprintf("unknown type %s", safeQuote(p.get(colType))))
	}

	if k := p.get(colKommune); len(k) == 3 && isDigit(k[0]) && isDigit(k[1]) && isDigit(k[2]) {
		n := uint16(k[0]-'0')*100 + uint16(k[1]-'0')*10 + uint16(k[2]-'0')
		if n >= 101 && n <= 860 {
			row.Kommune = n
		} else {
			p.bad("kommune", "must be a municipality code of 3 digits, 101–860")
		}
	} else {
		p.bad("kommune", "must be a municipality code of 3 digits, 101–860")
	}

	fraOK := false
	if d, dok := ParseDate(p.get(colFra)); dok {
		row.Fra, fraOK = d, true
	} else {
		p.bad("fra", dateProblem(p.get(colFra)))
	}

	row.Til = NoDate
	if til := p.get(colTil); len(til) > 0 {
		if d, dok := ParseDate(til); !dok {
			p.bad("til", dateProblem(til))
		} else {
			row.Til = d
			switch {
			case row.Type == TypeDagpengeperiode || row.Type == TypeSamtale || row.Type == TypeIndkaldelse:
				p.bad("til", "must be empty for "+row.Type.String())
			case fraOK && d < row.Fra:
				p.bad("til", "is before fra")
			}
		}
	}

	timer := p.get(colTimer)
	switch {
	case row.Type == TypeLedig:
		if t, tok := parseHours(timer); !tok {
			p.bad("timer", hoursProblem(timer))
		} else {
			row.Timer = t
		}
	case len(timer) > 0 && row.Type != 0:
		p.bad("timer", "must be empty for "+row.Type.String())
	}

	p.parseKodeRef(row, p.get(colKode))

	if fraOK && row.Type == TypeSamtale && row.Fra > p.asOf {
		p.bad("fra", "an interview (SAMTALE) cannot be dated after the extract's as-of date")
	}

	if d, dok := p.timestamp(p.get(colRegistreret)); !dok {
		p.bad("registreret", "must be a local time YYYY-MM-DDTHH:MM:SS that exists")
	} else if d > p.asOf {
		p.bad("registreret", "is after the end of the extract's as-of date")
	} else {
		row.Registreret = d
	}
	return !p.failed
}

func (p *rowParser) parseKodeRef(row *Row, kode []byte) {
	switch row.Type {
	case TypeKontaktgruppe:
		if g := parseGroup(kode); g != GroupNone {
			row.Group, row.Kode = g, g.String()
			return
		}
	case TypeDagpengeperiode, TypeLedig:
		if len(kode) == 0 {
			return
		}
		p.bad("kode", "must be empty for "+row.Type.String())
		return
	case TypeSamtale, TypeIndkaldelse:
		switch string(kode) {
		case KodeJob:
			row.Kode = KodeJob
			return
		case KodeFaelles:
			row.Kode = KodeFaelles
			return
		}
	case TypeAktivering:
		for _, c := range activationCodes {
			if string(kode) == c {
				row.Kode = c
				return
			}
		}
	case TypeFritagelse:
		if len(kode) >= 1 && len(kode) <= 10 && allUpperDigits(kode) {
			row.Kode = p.str(kode)
			return
		}
		p.bad("kode", "must be a reason code of 1–10 characters A–Z and 0–9")
		return
	default:
		return // unknown type: already reported
	}
	p.bad("kode", fmt.Sprintf("unknown code %s for type %s", safeQuote(kode), row.Type))
}

// FuzzParseSplit checks parseSplit against parseSplitRef on any line: the
// same row, the same verdict, the same problems in the same order.
func FuzzParseSplit(f *testing.F) {
	for _, s := range []string{
		"00000001;0101490040;KONTAKTGRUPPE;259;2013-08-14;;;DP;2013-08-15T12:30:31",
		"00000001;0101490040;KONTAKTGRUPPE;259;2013-08-14;2013-08-01;5;XX;2013-08-15T12:30:31",
		"1;0101490040;LEDIG;259;2013-08-14;2013-09-11;37.00;;2013-08-17T10:31:22",
		"1;0101490040;LEDIG;259;2013-08-14;2013-08-11;0;X;2013-08-17T10:31:22",
		"2;0101490040;DAGPENGEPERIODE;101;2014-01-01;2014-02-01;1;DP;2014-01-02T00:00:00",
		"3;0101490040;SAMTALE;101;2016-02-01;2016-03-01;1;JOB;2016-01-02T00:00:00",
		"3;0101490040;INDKALDELSE;101;2016-02-01;;;FAELLES;2016-01-02T00:00:00",
		"4;0101490040;AKTIVERING;101;2016-02-01;2016-01-01;;VEJL;2016-01-02T00:00:00",
		"5;0101490040;FRITAGELSE;101;2016-02-01;;;SYG1;2016-01-02T00:00:00",
		"5;0101490040;FRITAGELSE;101;2016-02-01;;;syg;2016-01-02T00:00:00",
		"6;3201490040;UKENDT;1011;2016-02-31;2016-01-01;x;?;2016-01-02T25:00:00",
		"7;0101490040;LEDIG;259;2013-08-14;",
	} {
		f.Add([]byte(s))
	}
	asOf := MkDate(2016, 1, 24)
	f.Fuzz(func(t *testing.T, line []byte) {
		var got, want Row
		var rg, rw Report
		p := rowParser{nfields: numCols, canonical: true, asOf: asOf, rep: &rg}
		q := rowParser{nfields: numCols, canonical: true, asOf: asOf, rep: &rw}
		_, semis, _ := linescan.ScanLine(line, &p.pos)
		q.pos = p.pos
		ok := p.parseSplit(line, semis, 7, &got)
		wok := q.parseSplitRef(line, semis, 7, &want)
		if ok != wok || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) || fmt.Sprintf("%+v", rg) != fmt.Sprintf("%+v", rw) {
			t.Fatalf("%q:\nparseSplit    %v %+v %+v\nparseSplitRef %v %+v %+v", line, ok, got, rg, wok, want, rw)
		}
	})
}
