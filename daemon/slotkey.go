package daemon

import (
	"fmt"
	"strings"

	"leverance/compute"
)

// SlotKey names a slot: one product, on one delivery day, for one vendor.
// In the state file it is written "product/YYYYMMDD/vendor".
type SlotKey struct {
	Product compute.Product
	Day     compute.Date
	Vendor  string
}

func (k SlotKey) String() string { return k.Product.String() + "/" + k.Day.Compact() + "/" + k.Vendor }

// MarshalText writes the key as the state file has it.
func (k SlotKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a key as the state file has it.
func (k *SlotKey) UnmarshalText(b []byte) error {
	p, err := ParseSlotKey(string(b))
	if err == nil {
		*k = p
	}
	return err
}

// ParseSlotKey reads "product/YYYYMMDD/vendor".
func ParseSlotKey(s string) (SlotKey, error) {
	ps, rest, _ := strings.Cut(s, "/")
	ds, v, _ := strings.Cut(rest, "/")
	p, ok1 := compute.ParseProduct(ps)
	d, ok2 := compute.ParseCompactDate(ds)
	if !ok1 || !ok2 || v == "" {
		return SlotKey{}, fmt.Errorf("bad slot key %q: want product/YYYYMMDD/vendor", s)
	}
	return SlotKey{p, d, v}, nil
}
