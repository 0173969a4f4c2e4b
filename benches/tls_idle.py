#!/usr/bin/env python3
"""Resident memory of a TLS-terminating proxy holding idle keep-alive connections.

Opens COUNT TLS connections to 127.0.0.1:PORT (ALPN http/1.1, certificate not
checked), sends one `GET /` on each and reads its answer, then, with every
connection still open, prints PID's resident size (VmRSS) before and after
and the growth per connection. Used by `TLS=1 TLS_IDLE=COUNT benches/clients.sh`.

Usage: tls_idle.py PORT COUNT PID
"""

import asyncio
import ssl
import sys

OPENING_AT_ONCE = 100


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


async def open_one(port, context, gate):
    async with gate:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        writer.write(b"GET / HTTP/1.1\r\nhost: bench\r\n\r\n")
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"unexpected answer: {head!r}")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return writer


async def main(port, count, pid):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    before = rss_kib(pid)
    gate = asyncio.Semaphore(OPENING_AT_ONCE)
    writers = await asyncio.gather(*(open_one(port, context, gate) for _ in range(count)))
    await asyncio.sleep(1)
    held = rss_kib(pid)
    print(f"{before / 1024:.1f} {held / 1024:.1f} {(held - before) / count:.1f} {len(writers)}")
    for writer in writers:
        writer.close()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
