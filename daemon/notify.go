package daemon

import (
	"net"
	"os"
	"strconv"
	"time"
)

// Notifier speaks systemd's sd_notify protocol: a datagram to the socket in
// $NOTIFY_SOCKET. Without one it does nothing.
type Notifier struct {
	addr string
}

// NewNotifier reads $NOTIFY_SOCKET.
func NewNotifier() *Notifier {
	return &Notifier{addr: os.Getenv("NOTIFY_SOCKET")}
}

// Notify sends one state line such as "READY=1". Errors are returned for
// logging; the daemon never stops because systemd cannot be told.
func (n *Notifier) Notify(state string) error {
	if n == nil || n.addr == "" {
		return nil
	}
	addr := n.addr
	if addr[0] == '@' {
		addr = "\x00" + addr[1:] // abstract socket
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}

// WatchdogInterval returns half of $WATCHDOG_USEC (the interval at which to
// send WATCHDOG=1), or 0 when the watchdog is off or meant for another
// process ($WATCHDOG_PID).
func WatchdogInterval() time.Duration {
	us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || us <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(us) * time.Microsecond / 2
}
