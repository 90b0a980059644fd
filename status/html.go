package status

import (
	"embed"

	"html/template"
	"io"
	"leverance/compute"
	"time"
)

//go:embed page.html
var pageFS embed.FS

var page = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"clock": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Format("02.01.06") + " kl. " + clock(*t)
	},
	"now": func(t time.Time) string { return t.Format("02.01.06") + " kl. " + clock(t) },
	"dmy": func(date string) string {
		d, ok := compute.ParseDate([]byte(date))
		if !ok {
			return date
		}
		return dmy(d)
	},
	"mark": func(o string) string {
		return map[string]string{"rettidig": "✓", "forsinket": "!", "udeladt": "✗", "afventer": "…", "": "–"}[o]
	},
	"label": func(o string) string {
		return map[string]string{"rettidig": "rettidig", "forsinket": "forsinket", "udeladt": "udeladt",
			"afventer": "afventer", "leveret": "leveret", "": "ingen levering"}[o]
	},
	"weekday": func(date string) string {
		t, err := time.Parse("2006-01-02", date)
		if err != nil {
			return ""
		}
		return [...]string{"søn", "man", "tir", "ons", "tor", "fre", "lør"}[t.Weekday()]
	},
	"weekdayLong": func(date string) string {
		t, err := time.Parse("2006-01-02", date)
		if err != nil {
			return ""
		}
		return [...]string{"søndag", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag"}[t.Weekday()]
	},
	"short": func(date string) string {
		t, err := time.Parse("2006-01-02", date)
		if err != nil {
			return date
		}
		return t.Format("2")
	},
}).ParseFS(pageFS, "page.html"))

// Weeks groups the calendar in rows of seven days.
func (s *Status) Weeks() [][]Day {
	var out [][]Day
	for i := 0; i < len(s.Calendar); i += 7 {
		out = append(out, s.Calendar[i:min(i+7, len(s.Calendar))])
	}
	return out
}

// First and Last are the calendar's first and last dates.
func (s *Status) First() string {
	if len(s.Calendar) == 0 {
		return ""
	}
	return s.Calendar[0].Date
}

func (s *Status) Last() string {
	if len(s.Calendar) == 0 {
		return ""
	}
	return s.Calendar[len(s.Calendar)-1].Date
}

// Today is the date of Now (YYYY-MM-DD), in the calendar's time zone.
func (s *Status) Today() string { return s.Now.Format("2006-01-02") }

// WriteHTML writes the status page: the public box exactly as docs/status.md#the-public-lines, a
// detail table per product and vendor, and a calendar of the last 8 weeks
// coloured by outcome. It refreshes itself and needs no JavaScript.
func (s *Status) WriteHTML(w io.Writer, refreshSeconds int) error {
	return page.Execute(w, struct {
		*Status
		Refresh int
	}{s, refreshSeconds})
}
