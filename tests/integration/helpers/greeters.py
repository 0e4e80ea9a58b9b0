#!/usr/bin/env python3
"""Minimal servers for the health-probe tests (tests/integration/probes.sh).

    greeters.py [--ready FILE] PROTO:PORT:MODE ...

Listens on 0.0.0.0:PORT for each spec (a thread per connection) and speaks
just enough of PROTO to pass or fail Tenace's probe of that type:

  tcp:good      accept, then close
  tcp:hang      listen with a full accept queue: new SYNs are dropped, so a
                connect never completes (a probe times out connecting)
  http:good     200 "I am healthy" for any path
  http:wrong    503 on /status, 200 "I am sick" on any other path
  http:hang     read the request, never answer
  http:close    read the request, close without answering
  smtp:good     220 banner, 250 multi-line EHLO reply, 221 to QUIT
  smtp:wrong    554 banner (service not available)
  smtp:ehlo502  220 banner, 502 to EHLO
  mysql:good    a well-formed protocol-10 handshake packet
  mysql:garbage an SSH banner instead of a greeting packet
  mysql:close   close at once, before any greeting
  pgsql:good    'N' to an SSLRequest (8 bytes: length 8, code 80877103)
  pgsql:hang    read the SSLRequest, never answer
  pgsql:wrong   'X' to an SSLRequest

Writes "ready" to FILE once every listener is bound (and, for tcp:hang, its
queue is full); exits on SIGTERM. Python 3 standard library only.
"""
import signal
import socket
import struct
import sys
import threading

BODY_GOOD = b"I am healthy\n"
BODY_SICK = b"I am sick\n"


def read_until(conn, marker, limit=65536):
    data = b""
    while marker not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def hold(conn):
    """Keep the connection open, reading and discarding, until the peer goes."""
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


def http_reply(conn, status, body):
    reason = {200: "OK", 503: "Service Unavailable"}[status]
    conn.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                 b"Connection: close\r\n\r\n" % (status, reason.encode(), len(body)) + body)


def http(conn, mode):
    req = read_until(conn, b"\r\n\r\n")
    path = req.split(b" ", 2)[1] if req.count(b" ") >= 2 else b"/"
    if mode == "good":
        http_reply(conn, 200, BODY_GOOD)
    elif mode == "wrong":
        if path.startswith(b"/status"):
            http_reply(conn, 503, b"down for maintenance\n")
        else:
            http_reply(conn, 200, BODY_SICK)
    elif mode == "hang":
        hold(conn)
    # close: nothing


def smtp(conn, mode):
    if mode == "wrong":
        conn.sendall(b"554 5.3.2 greeter: service not available\r\n")
    else:
        conn.sendall(b"220 greeter.test ESMTP tenace-greeter\r\n")
    buf = b""
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"):
                if mode == "ehlo502":
                    conn.sendall(b"502 5.5.1 greeter: command not implemented\r\n")
                else:
                    conn.sendall(b"250-greeter.test hello\r\n250-SIZE 10240000\r\n"
                                 b"250-8BITMIME\r\n250 HELP\r\n")
            elif cmd.startswith(b"QUIT"):
                conn.sendall(b"221 2.0.0 bye\r\n")
                return
            else:
                conn.sendall(b"500 5.5.2 greeter: unknown command\r\n")


def mysql_greeting():
    """A MySQL 8 style HandshakeV10 packet (sequence 0)."""
    caps = 0x000FF7DF | 0x00080000 | 0x00008000  # ... | PLUGIN_AUTH | SECURE_CONNECTION
    auth = b"abcdefghijklmnopqrst"  # 20 bytes of scramble
    payload = (b"\x0a" + b"8.0.36-greeter\x00" + struct.pack("<I", 42) + auth[:8] + b"\x00"
               + struct.pack("<H", caps & 0xFFFF) + b"\x21" + struct.pack("<H", 0x0002)
               + struct.pack("<H", caps >> 16) + bytes([len(auth) + 1]) + b"\x00" * 10
               + auth[8:] + b"\x00" + b"mysql_native_password\x00")
    return struct.pack("<I", len(payload))[:3] + b"\x00" + payload


def mysql(conn, mode):
    if mode == "good":
        conn.sendall(mysql_greeting())
        hold(conn)
    elif mode == "garbage":
        conn.sendall(b"SSH-2.0-OpenSSH_9.6 greeter\r\n")
        hold(conn)
    # close: nothing


def pgsql(conn, mode):
    req = b""
    while len(req) < 8:
        chunk = conn.recv(8 - len(req))
        if not chunk:
            return
        req += chunk
    if mode == "hang":
        hold(conn)
        return
    conn.sendall(b"N" if mode == "good" else b"X")
    hold(conn)


def tcp(conn, mode):
    pass  # accepted: that is all a tcp probe asks


HANDLERS = {
    "tcp": (tcp, {"good", "hang"}),
    "http": (http, {"good", "wrong", "hang", "close"}),
    "smtp": (smtp, {"good", "wrong", "ehlo502"}),
    "mysql": (mysql, {"good", "garbage", "close"}),
    "pgsql": (pgsql, {"good", "hang", "wrong"}),
}


def serve_conn(handler, conn, mode):
    try:
        handler(conn, mode)
    except OSError:
        pass  # the probe resets its connections (SO_LINGER 0)
    finally:
        conn.close()


def serve(lsock, handler, mode):
    while True:
        conn, _ = lsock.accept()
        threading.Thread(target=serve_conn, args=(handler, conn, mode), daemon=True).start()


def fill_queue(port):
    """tcp:hang: one connection fills a backlog-0 queue; later SYNs are dropped."""
    keep = socket.create_connection(("127.0.0.1", port), timeout=1)
    probe = socket.socket()
    probe.settimeout(0.3)
    try:
        probe.connect(("127.0.0.1", port))
        sys.exit("tcp:hang on port %d: the accept queue is not full" % port)
    except socket.timeout:
        pass
    finally:
        probe.close()
    return keep


def main(argv):
    ready = None
    if len(argv) > 1 and argv[0] == "--ready":
        ready, argv = argv[1], argv[2:]
    if not argv:
        sys.exit(__doc__)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    keep = []
    for spec in argv:
        try:
            proto, port, mode = spec.split(":")
            port = int(port)
            handler, modes = HANDLERS[proto]
        except (ValueError, KeyError):
            sys.exit("bad spec %r: expected PROTO:PORT:MODE" % spec)
        if mode not in modes:
            sys.exit("bad spec %r: %s modes are %s" % (spec, proto, ", ".join(sorted(modes))))
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("0.0.0.0", port))
        if proto == "tcp" and mode == "hang":
            lsock.listen(0)
            keep += [lsock, fill_queue(port)]
            continue  # never accept
        lsock.listen(64)
        keep.append(lsock)
        threading.Thread(target=serve, args=(lsock, handler, mode), daemon=True).start()
    if ready:
        with open(ready, "w") as f:
            f.write("ready\n")
    threading.Event().wait()


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        pass
