package config

import (
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// Cluster is the [cluster] table: active/passive failover on etcd. Without
// it (Cluster nil) the daemon is one node and needs no etcd.
type Cluster struct {
	// Etcd lists the etcd endpoints, http(s)://host:port.
	Etcd []string `toml:"etcd"`
	// Node names this node, unique among the nodes; it is recorded in every
	// receipt the node writes.
	Node string `toml:"node"`
	// LeaseTTL is how long the leader's lease lasts without a renewal
	// (default 10s, 2s to 5m): a dead leader is replaced after at most
	// this, and a cut-off one stops acting when it ends.
	LeaseTTL string `toml:"lease_ttl"`
}

// DefaultLeaseTTL is [cluster] lease_ttl's default.
const DefaultLeaseTTL = 10 * time.Second

var nodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// TTL is the lease's duration (validated by Parse).
func (c *Cluster) TTL() time.Duration {
	if c.LeaseTTL == "" {
		return DefaultLeaseTTL
	}
	d, _ := time.ParseDuration(c.LeaseTTL)
	return d
}

func (c *Cluster) validate(v *validator) {
	if len(c.Etcd) == 0 {
		v.add("cluster.etcd", "must list at least one etcd endpoint, http(s)://host:port")
	}
	for i, e := range c.Etcd {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Port() == "" {
			v.add(fmt.Sprintf("cluster.etcd[%d]", i), fmt.Sprintf("%q is not an endpoint http(s)://host:port", e))
		}
	}
	if !nodeRE.MatchString(c.Node) {
		v.add("cluster.node", fmt.Sprintf("%q: want 1 to 63 letters, digits, '.', '_' or '-', unique per node", c.Node))
	}
	if c.LeaseTTL != "" {
		d, err := time.ParseDuration(c.LeaseTTL)
		if err != nil || d < 2*time.Second || d > 5*time.Minute || d%time.Second != 0 {
			v.add("cluster.lease_ttl", fmt.Sprintf("%q: want whole seconds from 2s to 5m, such as \"10s\"", c.LeaseTTL))
		}
	}
}
