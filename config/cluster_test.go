package config

import (
	"strings"
	"testing"
	"time"
)

func TestClusterSection(t *testing.T) {
	c, err := Parse([]byte(minimal), "l.toml")
	if err != nil || c.Cluster != nil {
		t.Fatalf("without [cluster]: %v, cluster %+v", err, c.Cluster)
	}
	c, err = Parse([]byte(minimal+"[cluster]\netcd = [\"http://10.0.0.5:2379\", \"https://e2:2379\"]\nnode = \"a\"\n"), "l.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.Node != "a" || len(c.Cluster.Etcd) != 2 || c.Cluster.TTL() != DefaultLeaseTTL {
		t.Errorf("cluster %+v ttl %v", c.Cluster, c.Cluster.TTL())
	}
	c, err = Parse([]byte(minimal+"[cluster]\netcd = [\"http://h:1\"]\nnode = \"b\"\nlease_ttl = \"3s\"\n"), "l.toml")
	if err != nil || c.Cluster.TTL() != 3*time.Second {
		t.Fatalf("lease_ttl 3s: %v", err)
	}
	for _, tc := range []struct{ body, want string }{
		{"etcd = []\nnode = \"a\"", "cluster.etcd: must list"},
		{"etcd = [\"10.0.0.5:2379\"]\nnode = \"a\"", "cluster.etcd[0]"},
		{"etcd = [\"http://h:1\"]", "cluster.node"},
		{"etcd = [\"http://h:1\"]\nnode = \"a b\"", "cluster.node"},
		{"etcd = [\"http://h:1\"]\nnode = \"a\"\nlease_ttl = \"1s\"", "cluster.lease_ttl"},
		{"etcd = [\"http://h:1\"]\nnode = \"a\"\nlease_ttl = \"2500ms\"", "cluster.lease_ttl"},
		{"etcd = [\"http://h:1\"]\nnode = \"a\"\nleader = true", "cluster.leader"},
	} {
		_, err := Parse([]byte(minimal+"[cluster]\n"+tc.body+"\n"), "l.toml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.body, err, tc.want)
		}
	}
}
