package sftpserver_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"leverance/internal/sshdtest"
	"leverance/transfer/sftpserver"
)

// python3 is Debian's (the drivers need its paramiko and asyncssh), even
// where another python3 comes first on PATH.
func python3() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

func opensshArgs(m *matrix) []string {
	return []string{"-F", "/dev/null", "-i", m.keys["vendor-a"], "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "UserKnownHostsFile=" + m.known, "-o", "StrictHostKeyChecking=yes"}
}

// batch turns a step into the command of an sftp-like batch language.
func batch(op string, args []string, ls, get, reget, rm, put string) string {
	switch op {
	case "ls":
		return fmt.Sprintf(ls, args[0])
	case "get":
		return fmt.Sprintf(get, args[0], args[1])
	case "reget":
		return fmt.Sprintf(reget, args[0], args[1])
	case "rm":
		return fmt.Sprintf(rm, args[0])
	}
	return fmt.Sprintf(put, args[0], args[1])
}

func rcloneRemote(m *matrix, p string) string {
	return fmt.Sprintf(":sftp,host=127.0.0.1,port=%s,user=vendor-a,key_file=%s,known_hosts_file=%s:%s",
		m.port, m.keys["vendor-a"], m.known, strings.TrimPrefix(p, "/"))
}

func curlURL(m *matrix, p string) string { return "sftp://127.0.0.1:" + m.port + p }

// javaDriver compiles a driver against a jar of Debian's and returns how
// to run it; known_hosts is limited to the key types old Java clients read.
func javaDriver(class, jar string, keyTypes ...string) (func(*matrix) error, func(*matrix, string, ...string) (string, error)) {
	setup := func(m *matrix) error {
		var keys []ssh.PublicKey
		for _, k := range m.srv.HostKeys() {
			for _, t := range keyTypes {
				if k.Type() == t {
					keys = append(keys, k)
				}
			}
		}
		m.known = filepath.Join(m.dir, "known_hosts_java")
		sshdtest.WriteKnownHosts(m.t, m.known, m.addr, keys...)
		out, err := m.exec(os.Environ(), "", "javac", "-cp", jar, "-d", m.bin, testdata(class+".java"))
		if err != nil {
			return fmt.Errorf("javac: %v\n%s", err, out)
		}
		return nil
	}
	run := func(m *matrix, op string, args ...string) (string, error) {
		return driver(rsaKey, "java", "-cp", jar+":"+m.bin, class)(m, op, args...)
	}
	return setup, run
}

func matrixClients() []matrixClient { return append(commandClients(), libraryClients()...) }

// commandClients are the command-line clients.
func commandClients() []matrixClient {
	return []matrixClient{
		{name: "openssh-sftp", tools: []string{"sftp"}, run: func(m *matrix, op string, args ...string) (string, error) {
			a := append(opensshArgs(m), "-b", "-", "-P", m.port, "vendor-a@127.0.0.1")
			return m.exec(os.Environ(), batch(op, args, "ls -1 %s", "get %s %s", "reget %s %s", "rm %s", "put %s %s")+"\n", "sftp", a...)
		}},
		{name: "openssh-scp", tools: []string{"scp"}, run: func(m *matrix, op string, args ...string) (string, error) {
			a := append(opensshArgs(m), "-P", m.port)
			if op == "get" {
				return m.exec(os.Environ(), "", "scp", append(a, "vendor-a@127.0.0.1:"+args[0], args[1])...)
			}
			return m.exec(os.Environ(), "", "scp", append(a, args[0], "vendor-a@127.0.0.1:"+args[1])...)
		}, cannot: map[string]string{"ls": "scp does not list", "rm": "scp does not delete", "reget": "scp cannot resume"}},
		{name: "lftp", tools: []string{"lftp", "ssh"}, run: func(m *matrix, op string, args ...string) (string, error) {
			script := fmt.Sprintf(`set sftp:connect-program "ssh -a -x %s"; set net:max-retries 1; set net:timeout 10; `+
				`set cmd:fail-exit yes; open -u vendor-a, -p %s sftp://127.0.0.1; %s`,
				strings.Join(opensshArgs(m), " "), m.port,
				batch(op, args, "cls -1 %s", "get %s -o %s", "get -c %s -o %s", "rm %s", "put %s -o %s"))
			return m.exec(os.Environ(), "", "lftp", "-c", script)
		}},
		{name: "rclone", tools: []string{"rclone"}, run: func(m *matrix, op string, args ...string) (string, error) {
			base := []string{"--config", "/dev/null", "--retries", "1", "--low-level-retries", "1"}
			switch op {
			case "ls":
				return m.exec(os.Environ(), "", "rclone", append(base, "lsf", rcloneRemote(m, args[0]))...)
			case "get":
				return m.exec(os.Environ(), "", "rclone", append(base, "copyto", rcloneRemote(m, args[0]), args[1])...)
			case "rm":
				return m.exec(os.Environ(), "", "rclone", append(base, "deletefile", rcloneRemote(m, args[0]))...)
			}
			return m.exec(os.Environ(), "", "rclone", append(base, "copyto", args[0], rcloneRemote(m, args[1]))...)
		}, cannot: map[string]string{"reget": "rclone downloads whole files (to a temporary name); it does not resume"}},
		{name: "curl", tools: []string{"curl"}, setup: func(m *matrix) error {
			os.MkdirAll(filepath.Join(m.dir, ".ssh"), 0o700)
			b, _ := os.ReadFile(m.known)
			return os.WriteFile(filepath.Join(m.dir, ".ssh", "known_hosts"), b, 0o600)
		}, run: func(m *matrix, op string, args ...string) (string, error) {
			a := []string{"-sS", "--fail", "--key", m.keys["vendor-a"], "--pubkey", m.keys["vendor-a"] + ".pub", "-u", "vendor-a:"}
			switch op {
			case "ls":
				a = append(a, curlURL(m, args[0]))
			case "get":
				a = append(a, "-o", args[1], curlURL(m, args[0]))
			case "reget":
				a = append(a, "-C", "-", "-o", args[1], curlURL(m, args[0]))
			case "rm":
				a = append(a, "-Q", "rm "+args[0], curlURL(m, "/"))
			case "put":
				a = append(a, "-T", args[0], curlURL(m, args[1]))
			}
			return m.exec(append(os.Environ(), "HOME="+m.dir), "", "curl", a...)
		}},
		{name: "putty-psftp", tools: []string{"psftp", "puttygen"}, setup: puttyKey, run: psftp},
	}
}

// libraryClients are libraries, driven by small programs (testdata/clients).
func libraryClients() []matrixClient {
	jschSetup, jschRun := javaDriver("JschDriver", "/usr/share/java/jsch.jar", ssh.KeyAlgoRSA, ssh.KeyAlgoECDSA256)
	trileadSetup, trileadRun := javaDriver("TrileadDriver", "/usr/share/java/trilead-ssh2.jar", ssh.KeyAlgoRSA)
	return []matrixClient{
		// PHP ssh2 crashes (SIGSEGV, php-ssh2 1.3.1 with libssh2 1.10) on
		// keys in OpenSSH's format, and libssh2 1.10 signs RSA with SHA-1
		// only: an ECDSA key in PEM.
		{name: "php-ssh2", tools: []string{"php"}, run: driver(ecKey, "php", testdata("ssh2_driver.php"))},
		{name: "phpseclib", tools: []string{"php"}, run: driver(edKey, "php", testdata("phpseclib_driver.php"))},
		{name: "paramiko", tools: []string{python3()}, run: driver(edKey, python3(), testdata("paramiko_driver.py"))},
		{name: "asyncssh", tools: []string{python3()}, run: driver(edKey, python3(), testdata("asyncssh_driver.py"))},
		{name: "libssh", tools: []string{"gcc"}, setup: func(m *matrix) error {
			out, err := m.exec(os.Environ(), "", "gcc", "-O", "-Wall", "-o", filepath.Join(m.bin, "libssh_driver"), testdata("libssh_driver.c"), "-lssh")
			if err != nil {
				return fmt.Errorf("gcc: %v\n%s", err, out)
			}
			return nil
		}, run: func(m *matrix, op string, args ...string) (string, error) {
			return driver(edKey, filepath.Join(m.bin, "libssh_driver"))(m, op, args...)
		}},
		{name: "ruby-net-sftp", tools: []string{"ruby"}, run: driver(rsaKey, "ruby", testdata("netsftp_driver.rb"))},
		{name: "go-pkg-sftp", run: goSFTP},
		{name: "jsch-legacy", tools: []string{"javac", "java"}, profile: sftpserver.Legacy, setup: jschSetup, run: jschRun},
		{name: "trilead-legacy", tools: []string{"javac", "java"}, profile: sftpserver.Legacy, setup: trileadSetup, run: trileadRun},
	}
}

// goSFTP is pkg/sftp's client, in the test process.
func goSFTP(m *matrix, op string, args ...string) (string, error) {
	sc, err := m.sshClient(m.t, "vendor-a", "vendor-a")
	if err != nil {
		return "", err
	}
	defer sc.Close()
	c, err := sftp.NewClient(sc)
	if err != nil {
		return "", err
	}
	defer c.Close()
	switch op {
	case "ls":
		fis, err := c.ReadDir(args[0])
		var names []string
		for _, fi := range fis {
			names = append(names, fi.Name())
		}
		return strings.Join(names, "\n"), err
	case "get", "reget":
		f, err := c.Open(args[0])
		if err != nil {
			return "", err
		}
		defer f.Close()
		flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		if op == "reget" {
			flag = os.O_WRONLY | os.O_APPEND
		}
		out, err := os.OpenFile(args[1], flag, 0o640)
		if err != nil {
			return "", err
		}
		defer out.Close()
		if op == "reget" {
			st, _ := out.Stat()
			if _, err := f.Seek(st.Size(), io.SeekStart); err != nil {
				return "", err
			}
		}
		_, err = f.WriteTo(out)
		return "", err
	case "rm":
		return "", c.Remove(args[0])
	}
	f, err := c.Create(args[1])
	if err == nil {
		f.Close()
	}
	return "", err
}

// puttyKey converts the ed25519 key to PuTTY's format.
func puttyKey(m *matrix) error {
	m.ppk = filepath.Join(m.dir, "key.ppk")
	out, err := m.exec(os.Environ(), "", "puttygen", m.keys["vendor-a"], "-O", "private", "-o", m.ppk)
	if err != nil {
		return fmt.Errorf("puttygen: %v\n%s", err, out)
	}
	return nil
}

// psftp runs PuTTY's psftp with the step as its batch file, pinning the
// host keys by fingerprint.
func psftp(m *matrix, op string, args ...string) (string, error) {
	a := []string{"-batch", "-P", m.port, "-i", m.ppk}
	for _, fp := range strings.Split(m.fps, ",") {
		if strings.HasPrefix(fp, "SHA256:") {
			a = append(a, "-hostkey", fp)
		}
	}
	script := filepath.Join(m.dir, "psftp.batch")
	os.WriteFile(script, []byte(batch(op, args, "ls %s", "get %s %s", "reget %s %s", "rm %s", "put %s %s")+"\n"), 0o600)
	return m.exec(os.Environ(), "", "psftp", append(a, "-b", script, "vendor-a@127.0.0.1")...)
}
