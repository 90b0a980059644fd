# asyncssh (python3-asyncssh) client driver; see README.md.
import asyncio, os, sys, warnings
warnings.simplefilter("ignore")
import asyncssh

async def main():
    op, args = sys.argv[1], sys.argv[2:]
    async with asyncssh.connect(os.environ["LV_HOST"], port=int(os.environ["LV_PORT"]),
                                username=os.environ["LV_USER"], client_keys=[os.environ["LV_KEY"]],
                                known_hosts=os.environ["LV_KNOWN"], agent_path=None) as conn:
        async with conn.start_sftp_client() as sftp:
            if op == "ls":
                for n in await sftp.listdir(args[0]):
                    print(n)
            elif op == "get":
                await sftp.get(args[0], args[1])
            elif op == "reget":
                async with sftp.open(args[0], "rb") as f:
                    await f.seek(os.path.getsize(args[1]))
                    with open(args[1], "ab") as out:
                        while True:
                            b = await f.read(32768)
                            if not b:
                                break
                            out.write(b)
            elif op == "rm":
                await sftp.remove(args[0])
            elif op == "put":
                await sftp.put(args[0], args[1])

asyncio.run(main())
