package daemon

import "leverance/compute"

func mk(y, m, d int) compute.Date { return compute.MkDate(y, m, d) }

// sk is the slot key "product/YYYYMMDD/vendor".
func sk(s string) SlotKey {
	k, err := ParseSlotKey(s)
	if err != nil {
		panic(err)
	}
	return k
}
