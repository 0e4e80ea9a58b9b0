#!/usr/bin/env python3
"""Many HTTP clients from many source addresses, in one process.

Usage: http_loader.py DIR STOP_FILE PERIOD URL_HOST PORT NAME=SOURCE [NAME=SOURCE ...]

For each NAME=SOURCE, one client loop: connect from SOURCE to URL_HOST:PORT
(a new TCP connection per request, as `curl` in a shell loop would), GET /,
read the whole answer, sleep PERIOD seconds, again, until STOP_FILE exists.
Each request appends one line to DIR/NAME:
    START END server K      (the body, "server K", of the nginx that answered)
    START END fail          (refused, reset, timed out after 3 s, or not a 200)
with CLOCK_REALTIME seconds, like $EPOCHREALTIME. One process with asyncio
instead of one shell and one curl per request: the load costs the machine a
few percent of a core, so the balancer and the controller under test are not
starved on a small machine.
"""
import asyncio
import os
import sys
import time

TIMEOUT = 3.0


async def one_request(host, port, source):
    family_host = host.strip("[]")
    reader, writer = await asyncio.open_connection(family_host, port, local_addr=(source, 0))
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host.encode())
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        return None
    text = body.decode(errors="replace").strip()
    return text if text.startswith("server ") else None


async def client(path, stop, period, host, port, source):
    with open(path, "a", buffering=1) as out:
        while not os.path.exists(stop):
            t0 = time.time()
            try:
                r = await asyncio.wait_for(one_request(host, port, source), TIMEOUT)
            except (OSError, asyncio.TimeoutError) as e:
                # why, on stderr (the test's log): refused, reset, unreachable or timed out
                print("%s: %.6f %r" % (os.path.basename(path), t0, e), file=sys.stderr, flush=True)
                r = None
            out.write("%.6f %.6f %s\n" % (t0, time.time(), r or "fail"))
            await asyncio.sleep(period)


async def main():
    d, stop, period, host, port = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    tasks = []
    for spec in sys.argv[6:]:
        name, source = spec.split("=", 1)
        tasks.append(client(os.path.join(d, name), stop, period, host, port, source))
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    asyncio.run(main())
