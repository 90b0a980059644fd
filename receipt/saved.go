package receipt

import (
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// SavedCheck is the result of CheckSaved: whether the log as it is now
// extends a checkpoint someone saved earlier (a vendor's checkpoint.txt).
type SavedCheck struct {
	Size     int64     `json:"size"`     // the saved checkpoint's size
	Root     string    `json:"root"`     // and root (base64)
	Records  int64     `json:"records"`  // the log's records now
	LogRoot  string    `json:"log_root"` // the root over them (base64)
	Proof    []string  `json:"consistency_proof,omitempty"`
	Findings []Finding `json:"findings"`
}

// OK reports whether the log extends the saved checkpoint.
func (c *SavedCheck) OK() bool { return len(c.Findings) == 0 }

func (c *SavedCheck) add(rec int64, format string, a ...any) {
	c.Findings = append(c.Findings, Finding{Record: rec, What: fmt.Sprintf(format, a...)})
}

// CheckSaved checks a checkpoint someone saved against the log in dir: it
// must be signed with the log's public key vkey, the log must verify on its
// own (Verify), and the tree over the log's records now must extend the
// saved one. The last is checked with an RFC 6962 consistency proof
// (tlog.ProveTree from the records at hand, tlog.CheckTree against both
// roots), which is returned. The error is for a bad key or an unreadable
// log; everything else is a finding.
func CheckSaved(dir, vkey string, saved []byte) (*SavedCheck, error) {
	verifier, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	c := &SavedCheck{}
	n, err := note.Open(saved, note.VerifierList(verifier))
	if err != nil {
		c.add(0, "the saved checkpoint is not signed by the log's key %s: %v", verifier.Name(), err)
		return c, nil
	}
	origin, size, root, err := ParseCheckpoint(n.Text)
	if err != nil {
		c.add(0, "the saved checkpoint: %v", err)
		return c, nil
	}
	if origin != verifier.Name() {
		c.add(0, "the saved checkpoint's origin %q is not the key's %q", origin, verifier.Name())
	}
	c.Size, c.Root = size, base64.StdEncoding.EncodeToString(root[:])
	v, err := Verify(dir, vkey)
	if err != nil {
		return nil, err
	}
	c.Records = v.Records
	now, _ := v.TreeHash(v.Records)
	c.LogRoot = base64.StdEncoding.EncodeToString(now[:])
	for _, f := range v.Altered() {
		c.Findings = append(c.Findings, Finding{Record: f.Record, What: "the log does not verify on its own: " + f.What})
	}
	c.consistent(v, size, root, now)
	return c, nil
}

// consistent proves and checks that the tree over the log's records now
// (root now) extends the saved tree of size with root.
func (c *SavedCheck) consistent(v *Verification, size int64, root, now tlog.Hash) {
	if size > v.Records {
		c.add(v.Records+1, "the saved checkpoint signs %d records but the log holds %d: records %d–%d were removed",
			size, v.Records, v.Records+1, size)
		return
	}
	if size == 0 {
		return // every log extends the empty one
	}
	proof, err := tlog.ProveTree(v.Records, size, &v.mem)
	if err == nil {
		err = tlog.CheckTree(proof, v.Records, now, size, root)
	}
	if err != nil {
		then, _ := v.TreeHash(size)
		c.add(size, "the log's first %d records are not those the saved checkpoint signed (root %s, now %s): "+
			"a record up to %d was changed, removed, inserted or reordered: history was rewritten",
			size, c.Root, base64.StdEncoding.EncodeToString(then[:]), size)
		return
	}
	for _, h := range proof {
		c.Proof = append(c.Proof, base64.StdEncoding.EncodeToString(h[:]))
	}
}
