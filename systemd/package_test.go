package systemd

import (
	"os/exec"
	"strings"
	"testing"
)

// checkRPM reads the .rpm that make package built with rpm itself: its
// files with owners and modes, the configuration as %config(noreplace), the
// scriptlets (sysusers and tmpfiles, no enable or start) and the dependency
// on systemd. The .deb is installed for real by TestBootWalk; no RPM-based
// system boots here.
func checkRPM(t *testing.T, rpm string) {
	t.Helper()
	query := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("rpm", append([]string{"-qp"}, append(args, rpm)...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("rpm -qp %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	files := query("--queryformat", `[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]`)
	for _, want := range []string{
		"-rwxr-xr-x root:root  /usr/bin/leverance\n",
		"drwxr-x--- root:root  /etc/leverance\n",
		"-rw-r----- root:root cn /etc/leverance/leverance.toml\n",
		"-rw-r--r-- root:root  /usr/lib/systemd/system/leverance.service\n",
		"-rw-r--r-- root:root  /usr/lib/systemd/system/leverance.socket\n",
		"-rw-r--r-- root:root  /usr/lib/sysusers.d/leverance.conf\n",
		"-rw-r--r-- root:root  /usr/lib/tmpfiles.d/leverance.conf\n",
		"-rw-r--r-- root:root  /usr/share/man/man1/leverance.1.gz\n",
		"-rw-r--r-- root:root  /usr/share/doc/leverance/operations.md\n",
	} {
		if !strings.Contains(files, want) {
			t.Errorf("rpm: no %q in:\n%s", want, files)
		}
	}
	scripts := query("--scripts")
	for _, want := range []string{"systemd-sysusers leverance.conf", "systemd-tmpfiles --create leverance.conf", "daemon-reload", "try-restart"} {
		if !strings.Contains(scripts, want) {
			t.Errorf("rpm scriptlets: no %q in:\n%s", want, scripts)
		}
	}
	for _, bad := range []string{"systemctl enable", "systemctl start", "systemctl --now enable", "/var/lib/leverance"} {
		if !commentOnly(scripts, bad) {
			t.Errorf("rpm scriptlets must not %q:\n%s", bad, scripts)
		}
	}
	if req := query("--requires"); !strings.Contains(req, "systemd") {
		t.Errorf("rpm does not require systemd:\n%s", req)
	}
}

// commentOnly reports whether s holds sub only in # comments.
func commentOnly(s, sub string) bool {
	for _, line := range strings.Split(s, "\n") {
		code, _, _ := strings.Cut(line, "#")
		if strings.Contains(code, sub) {
			return false
		}
	}
	return true
}
