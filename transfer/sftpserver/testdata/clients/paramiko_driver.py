# paramiko (python3-paramiko) client driver; see README.md.
import base64, hashlib, os, sys
import paramiko

def main():
    op, args = sys.argv[1], sys.argv[2:]
    t = paramiko.Transport((os.environ["LV_HOST"], int(os.environ["LV_PORT"])))
    t.start_client(timeout=10)
    hk = t.get_remote_server_key()
    fp = "SHA256:" + base64.b64encode(hashlib.sha256(hk.asbytes()).digest()).decode().rstrip("=")
    if fp not in os.environ["LV_FPS"].split(","):
        sys.exit("host key not pinned: " + fp)
    t.auth_publickey(os.environ["LV_USER"], paramiko.Ed25519Key.from_private_key_file(os.environ["LV_KEY"]))
    sftp = paramiko.SFTPClient.from_transport(t)
    if op == "ls":
        print("\n".join(sftp.listdir(args[0])))
    elif op == "get":
        sftp.get(args[0], args[1])
    elif op == "reget":
        with sftp.open(args[0], "rb") as f, open(args[1], "ab") as out:
            f.seek(os.path.getsize(args[1]))
            while True:
                b = f.read(32768)
                if not b:
                    break
                out.write(b)
    elif op == "rm":
        sftp.remove(args[0])
    elif op == "put":
        sftp.put(args[0], args[1])
    sftp.close()
    t.close()

main()
