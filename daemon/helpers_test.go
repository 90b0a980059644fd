package daemon

import (
	"leverance/compute"
	"leverance/transfer"
)

type outboxI = transfer.Outbox

func mk(y, m, d int) compute.Date { return compute.MkDate(y, m, d) }
