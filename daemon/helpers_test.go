package daemon

import "leverance/compute"

func mk(y, m, d int) compute.Date { return compute.MkDate(y, m, d) }
