package compute

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Product is one of the three products of docs/formats.md#output-the-products.
type Product uint8

// The products.
const (
	DagligOpdatering Product = iota // daglig-opdatering, docs/rules.md#the-daily-update
	DagligeBeskeder                 // daglige-beskeder, docs/rules.md#the-daily-messages
	Ugeopdatering                   // ugeopdatering, docs/rules.md#the-weekly-update
	NumProducts
)

var productNames = [...]string{"daglig-opdatering", "daglige-beskeder", "ugeopdatering"}

func (p Product) String() string { return productNames[p] }

// ParseProduct returns the product named s.
func ParseProduct(s string) (Product, bool) {
	for i, n := range productNames {
		if n == s {
			return Product(i), true
		}
	}
	return 0, false
}

// Products lists all products in their fixed order.
func Products() []Product { return []Product{DagligOpdatering, DagligeBeskeder, Ugeopdatering} }

// Header is the product's header row.
func (p Product) Header() string {
	return [...]string{
		"cpr;kommune;kontaktgruppe;sammenlagt_ledighed_timer;sammenlagt_ledighed_uger;antal_jobsamtaler;seneste_jobsamtale;vejledende_samtaledato;naeste_faelles_samtale;foerstegangsaktivering_frist;foerstegangsaktivering_opfyldt",
		"cpr;kommune;beskedtype;dato;registreringsid;vejledende_samtaledato;foerstegangsaktivering_frist",
		"cpr;kommune;posttype;registreringsid;kode;fra;til;sammenlagt_ledighed_timer;sammenlagt_ledighed_uger",
	}[p]
}

// Due reports whether the product is built from an extract with as-of date A:
// the daily products always, the weekly one when A is a Sunday.
func (p Product) Due(asOf Date) bool { return p != Ugeopdatering || asOf.Weekday() == 6 }

// FileName is the product's file name for an extract with as-of date A:
// the daily ones are named by the delivery day D = A + 1, the weekly one by
// the ISO week of A.
func (p Product) FileName(asOf Date) string {
	if p == Ugeopdatering {
		y, w := asOf.ISOWeek()
		return fmt.Sprintf("ugeopdatering_%04d-W%02d.csv", y, w)
	}
	return p.String() + "_" + asOf.AddDays(1).Compact() + ".csv"
}

// Vendor is a receiver of products (docs/operations.md#onboarding-a-vendor), as far as compute needs it.
type Vendor struct {
	Name     string
	All      bool // serves every municipality ("*")
	Kommuner map[uint16]bool
	Products []Product
}

// Serves reports whether the vendor serves municipality k.
func (v *Vendor) Serves(k uint16) bool { return v.All || v.Kommuner[k] }

// Takes reports whether the vendor takes product p.
func (v *Vendor) Takes(p Product) bool {
	for _, q := range v.Products {
		if q == p {
			return true
		}
	}
	return false
}

// FileSum describes one written product file.
type FileSum struct {
	Vendor  string
	Product Product
	Name    string
	Rows    int
	Size    int64
	SHA256  string // hex
}

// SumLine is the content of the file's .sha256 companion, in the format of
// sha256sum, so that a vendor can run `sha256sum -c`.
func (f FileSum) SumLine() string { return f.SHA256 + "  " + f.Name + "\n" }

// productWriter writes one product file and hashes what it writes.
type productWriter struct {
	sum FileSum
	w   *bufio.Writer
	h   hash.Hash
	n   countWriter
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newProductWriter(vendor string, p Product, asOf Date, w io.Writer) *productWriter {
	pw := &productWriter{sum: FileSum{Vendor: vendor, Product: p, Name: p.FileName(asOf)}, h: sha256.New()}
	pw.n.w = io.MultiWriter(w, pw.h)
	pw.w = bufio.NewWriterSize(&pw.n, 64<<10)
	pw.w.WriteString(p.Header())
	pw.w.WriteByte('\n')
	return pw
}

// write appends rendered rows to the file.
func (pw *productWriter) write(p *piece) {
	if p.rows > 0 {
		pw.w.Write(p.buf)
		pw.sum.Rows += p.rows
	}
}

func (pw *productWriter) close() (FileSum, error) {
	pw.w.WriteString("SLUT;" + strconv.Itoa(pw.sum.Rows) + "\n")
	if err := pw.w.Flush(); err != nil {
		return pw.sum, fmt.Errorf("write %s for %s: %w", pw.sum.Name, pw.sum.Vendor, err)
	}
	pw.sum.Size = pw.n.n
	pw.sum.SHA256 = hex.EncodeToString(pw.h.Sum(nil))
	return pw.sum, nil
}

// piece is rendered rows of one product file, not yet written: what a
// worker makes of its part of the extract, written in order by one
// goroutine.
type piece struct {
	buf  []byte
	rows int
}

func (p *piece) reset() { p.buf, p.rows = p.buf[:0], 0 }

// Field formatting helpers: every append* appends a field and its ';'.

func appendCentis(b []byte, c int64) []byte {
	b = strconv.AppendInt(b, c/100, 10)
	return append(b, ',', byte('0'+c/10%10), byte('0'+c%10))
}

func appendKommune(b []byte, k uint16) []byte {
	return append(b, byte('0'+k/100), byte('0'+k/10%10), byte('0'+k%10))
}

func (pw *piece) dagligOpdatering(r *Result) {
	b := append(pw.buf, r.CPR[:]...)
	b = append(b, ';')
	b = appendKommune(b, r.Kommune)
	b = append(b, ';')
	b = append(b, r.Group.String()...)
	b = append(b, ';')
	if r.HasCum {
		b = appendCentis(b, r.HoursCenti())
		b = append(b, ';')
		b = appendCentis(b, r.WeeksCenti())
	} else {
		b = append(b, ';')
	}
	b = append(b, ';')
	if r.Computed {
		b = strconv.AppendInt(b, int64(r.N), 10)
	}
	for _, d := range [...]Date{r.L, r.Vejledende, r.Faelles, r.Frist, r.Opfyldt} {
		b = append(b, ';')
		b = AppendDate(b, d)
	}
	pw.buf = append(b, '\n')
	pw.rows++
}

// Kinds of daglige-beskeder rows, in their sort order (docs/rules.md#the-daily-messages).
const (
	beskedNY = iota
	beskedIndkaldelse
	beskedSamtale
	beskedAendring
	beskedUdgaaet
)

var beskedNames = [...]string{"NY", "INDKALDELSE", "SAMTALE", "AENDRING", "UDGAAET"}

type beskedRow struct {
	kind int
	dato Date
	id   string
}

// beskeder writes the daglige-beskeder rows of one citizen in the vendor's
// snapshot at A; prev is its state at B, or nil when it was not in the
// vendor's snapshot then. basis is B's date; compare is false on a first
// delivery. rows is scratch space; beskeder returns it for reuse.
func (pw *piece) beskeder(r *Result, prev *State, basis Date, compare bool, rows []beskedRow) []beskedRow {
	rows = rows[:0]
	if compare && prev == nil {
		rows = append(rows, beskedRow{kind: beskedNY, dato: NoDate})
	}
	for i := range r.Rows {
		x := &r.Rows[i]
		if x.Registreret <= basis {
			continue
		}
		switch x.Type {
		case TypeIndkaldelse:
			rows = append(rows, beskedRow{kind: beskedIndkaldelse, dato: x.Fra, id: x.ID})
		case TypeSamtale:
			rows = append(rows, beskedRow{kind: beskedSamtale, dato: x.Fra, id: x.ID})
		}
	}
	if compare && prev != nil && prev.differs(StateOf(r)) {
		rows = append(rows, beskedRow{kind: beskedAendring, dato: NoDate})
	}
	if len(rows) > 1 {
		slices.SortFunc(rows, func(a, b beskedRow) int {
			if a.kind != b.kind {
				return a.kind - b.kind
			}
			return strings.Compare(a.id, b.id)
		})
	}
	b := pw.buf
	for _, x := range rows {
		b = append(b, r.CPR[:]...)
		b = append(b, ';')
		b = appendKommune(b, r.Kommune)
		b = append(b, ';')
		b = append(b, beskedNames[x.kind]...)
		b = append(b, ';')
		b = AppendDate(b, x.dato)
		b = append(b, ';')
		b = append(b, x.id...)
		b = append(b, ';')
		b = AppendDate(b, r.Vejledende)
		b = append(b, ';')
		b = AppendDate(b, r.Frist)
		b = append(b, '\n')
	}
	pw.buf = b
	pw.rows += len(rows)
	return rows
}

// udgaaet writes the UDGAAET row of a citizen that left the vendor's snapshot.
func (pw *piece) udgaaet(s *State) {
	b := append(pw.buf, s.CPR[:]...)
	b = append(b, ';')
	b = appendKommune(b, s.Kommune)
	pw.buf = append(b, ";UDGAAET;;;;\n"...)
	pw.rows++
}

// ugeopdatering writes the weekly rows of one citizen: its activations
// registered in the week [weekStart, A], then its L row. acts is scratch
// space; ugeopdatering returns it for reuse.
func (pw *piece) ugeopdatering(r *Result, weekStart, asOf Date, acts []*Row) []*Row {
	acts = acts[:0]
	for i := range r.Rows {
		x := &r.Rows[i]
		if x.Type == TypeAktivering && x.Registreret >= weekStart && x.Registreret <= asOf {
			acts = append(acts, x)
		}
	}
	if len(acts) > 1 {
		slices.SortFunc(acts, func(a, b *Row) int { return strings.Compare(a.ID, b.ID) })
	}
	b := pw.buf
	for _, x := range acts {
		b = append(b, r.CPR[:]...)
		b = append(b, ';')
		b = appendKommune(b, r.Kommune)
		b = append(b, ";A;"...)
		b = append(b, x.ID...)
		b = append(b, ';')
		b = append(b, x.Kode...)
		b = append(b, ';')
		b = AppendDate(b, x.Fra)
		b = append(b, ';')
		b = AppendDate(b, x.Til)
		b = append(b, ";;\n"...)
	}
	pw.rows += len(acts)
	if r.HasCum {
		b = append(b, r.CPR[:]...)
		b = append(b, ';')
		b = appendKommune(b, r.Kommune)
		b = append(b, ";L;;;;;"...)
		b = appendCentis(b, r.HoursCenti())
		b = append(b, ';')
		b = appendCentis(b, r.WeeksCenti())
		b = append(b, '\n')
		pw.rows++
	}
	pw.buf = b
	return acts
}
