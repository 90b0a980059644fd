// JCraft JSch 0.1.5x (libjsch-java) client driver; see README.md.
import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.Session;

public class JschDriver {
	public static void main(String[] args) throws Exception {
		JSch j = new JSch();
		j.setKnownHosts(System.getenv("LV_KNOWN"));
		j.addIdentity(System.getenv("LV_KEY"));
		Session s = j.getSession(System.getenv("LV_USER"), System.getenv("LV_HOST"), Integer.parseInt(System.getenv("LV_PORT")));
		s.setConfig("StrictHostKeyChecking", "yes");
		s.connect(10000);
		try {
			run(s, args);
		} catch (Exception e) {
			System.err.println(e);
			System.exit(1); // JSch's session thread would keep the JVM alive
		} finally {
			s.disconnect();
		}
	}

	static void run(Session s, String[] args) throws Exception {
		ChannelSftp c = (ChannelSftp) s.openChannel("sftp");
		c.connect(10000);
		switch (args[0]) {
		case "ls":
			for (Object o : c.ls(args[1])) System.out.println(((ChannelSftp.LsEntry) o).getFilename());
			break;
		case "get": c.get(args[1], args[2]); break;
		case "reget": c.get(args[1], args[2], null, ChannelSftp.RESUME); break;
		case "rm": c.rm(args[1]); break;
		case "put": c.put(args[1], args[2]); break;
		}
		c.disconnect();
	}
}
