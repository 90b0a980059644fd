// Trilead SSH-2 (libtrilead-ssh2-java) client driver; see README.md.
import com.trilead.ssh2.Connection;
import com.trilead.ssh2.KnownHosts;
import com.trilead.ssh2.SFTPv3Client;
import com.trilead.ssh2.SFTPv3DirectoryEntry;
import com.trilead.ssh2.SFTPv3FileHandle;
import java.io.File;
import java.io.FileOutputStream;
import java.nio.file.Files;

public class TrileadDriver {
	public static void main(String[] args) throws Exception {
		KnownHosts kh = new KnownHosts(new File(System.getenv("LV_KNOWN")));
		String host = System.getenv("LV_HOST");
		int port = Integer.parseInt(System.getenv("LV_PORT"));
		Connection conn = new Connection(host, port);
		conn.connect((h, p, alg, key) -> kh.verifyHostkey("[" + h + "]:" + p, alg, key) == KnownHosts.HOSTKEY_IS_OK, 10000, 10000);
		try {
			if (!conn.authenticateWithPublicKey(System.getenv("LV_USER"), new File(System.getenv("LV_KEY")), null))
				throw new Exception("login refused");
			run(conn, args);
		} catch (Exception e) {
			System.err.println(e);
			System.exit(1);
		} finally {
			conn.close();
		}
	}

	static void run(Connection conn, String[] args) throws Exception {
		SFTPv3Client c = new SFTPv3Client(conn);
		switch (args[0]) {
		case "ls":
			for (Object o : c.ls(args[1])) System.out.println(((SFTPv3DirectoryEntry) o).filename);
			break;
		case "get":
		case "reget": {
			File local = new File(args[2]);
			long off = args[0].equals("reget") ? local.length() : 0;
			SFTPv3FileHandle h = c.openFileRO(args[1]);
			try (FileOutputStream out = new FileOutputStream(local, off > 0)) {
				byte[] buf = new byte[32768];
				int n;
				while ((n = c.read(h, off, buf, 0, buf.length)) > 0) {
					out.write(buf, 0, n);
					off += n;
				}
			}
			c.closeFile(h);
			break;
		}
		case "rm": c.rm(args[1]); break;
		case "put": {
			SFTPv3FileHandle h = c.createFile(args[2]);
			byte[] b = Files.readAllBytes(new File(args[1]).toPath());
			c.write(h, 0, b, 0, b.length);
			c.closeFile(h);
			break;
		}
		}
		c.close();
	}
}
