/* libssh 0.10 (libssh-dev) client driver; see README.md. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>

static void die(const char *what, ssh_session s) {
	fprintf(stderr, "%s: %s\n", what, s ? ssh_get_error(s) : "");
	exit(1);
}

static void copy(sftp_file in, FILE *out, ssh_session s) {
	char buf[32768];
	ssize_t n;
	while ((n = sftp_read(in, buf, sizeof buf)) > 0)
		if (fwrite(buf, 1, n, out) != (size_t)n) die("write", NULL);
	if (n < 0) die("read", s);
}

int main(int argc, char **argv) {
	if (argc < 3) die("usage", NULL);
	const char *op = argv[1], *a = argv[2], *b = argc > 3 ? argv[3] : "";
	ssh_session s = ssh_new();
	int port = atoi(getenv("LV_PORT"));
	ssh_options_set(s, SSH_OPTIONS_HOST, getenv("LV_HOST"));
	ssh_options_set(s, SSH_OPTIONS_PORT, &port);
	ssh_options_set(s, SSH_OPTIONS_USER, getenv("LV_USER"));
	ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, getenv("LV_KNOWN"));
	ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
	if (ssh_connect(s) != SSH_OK) die("connect", s);
	if (ssh_session_is_known_server(s) != SSH_KNOWN_HOSTS_OK) die("host key not pinned", s);
	ssh_key key;
	if (ssh_pki_import_privkey_file(getenv("LV_KEY"), NULL, NULL, NULL, &key) != SSH_OK) die("key", s);
	if (ssh_userauth_publickey(s, NULL, key) != SSH_AUTH_SUCCESS) die("login refused", s);
	sftp_session sf = sftp_new(s);
	if (!sf || sftp_init(sf) != SSH_OK) die("sftp", s);
	if (!strcmp(op, "ls")) {
		sftp_dir d = sftp_opendir(sf, a);
		if (!d) die("opendir", s);
		sftp_attributes at;
		while ((at = sftp_readdir(sf, d))) {
			printf("%s\n", at->name);
			sftp_attributes_free(at);
		}
		sftp_closedir(d);
	} else if (!strcmp(op, "get") || !strcmp(op, "reget")) {
		sftp_file f = sftp_open(sf, a, O_RDONLY, 0);
		if (!f) die("open", s);
		FILE *out = fopen(b, op[0] == 'g' ? "w" : "a");
		if (!out) die("local", NULL);
		if (op[0] == 'r') {
			struct stat st;
			stat(b, &st);
			if (sftp_seek64(f, st.st_size) < 0) die("seek", s);
		}
		copy(f, out, s);
		fclose(out);
		sftp_close(f);
	} else if (!strcmp(op, "rm")) {
		if (sftp_unlink(sf, a) < 0) die("unlink", s);
	} else if (!strcmp(op, "put")) {
		sftp_file f = sftp_open(sf, b, O_WRONLY | O_CREAT | O_TRUNC, 0640);
		if (!f) die("upload refused", s);
		if (sftp_write(f, "x", 1) != 1) die("write", s);
		if (sftp_close(f) < 0) die("close", s);
	}
	sftp_free(sf);
	ssh_disconnect(s);
	ssh_free(s);
	return 0;
}
