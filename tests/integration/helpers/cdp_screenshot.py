#!/usr/bin/env python3
"""A screenshot of a page after it has run for SECONDS of real time (a live
page's charts need real samples, which --screenshot's virtual time does not
give): headless chromium with a DevTools port, Page.captureScreenshot over a
minimal WebSocket client (stdlib only).

usage: cdp_screenshot.py URL OUT.png SECONDS WIDTH HEIGHT
"""
import base64, json, os, socket, struct, subprocess, sys, tempfile, time, urllib.request


def ws_connect(url):
    host, rest = url[len("ws://"):].split("/", 1)
    h, p = host.rsplit(":", 1)
    s = socket.create_connection((h, int(p)), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (rest, host, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise RuntimeError("websocket handshake refused: %r" % head[:200])
    return s


def ws_send(s, text):
    data = text.encode()
    mask = os.urandom(4)
    n = len(data)
    hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                           bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                           bytes([0x80 | 127]) + struct.pack(">Q", n))
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise RuntimeError("websocket closed")
        b += c
    return b


def ws_recv(s):
    msg = b""
    while True:
        b0, b1 = recv_exact(s, 2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", recv_exact(s, 2))[0]
        elif n == 127:
            n = struct.unpack(">Q", recv_exact(s, 8))[0]
        msg += recv_exact(s, n)
        if b0 & 0x80:
            return msg.decode()


def main():
    url, out, secs, w, h = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]
    port = 30000 + os.getpid() % 20000
    prof = tempfile.mkdtemp(prefix="tenace-cdp-")
    p = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                          "--user-data-dir=" + prof, "--remote-debugging-port=%d" % port,
                          "--window-size=%s,%s" % (w, h), url],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json" % port, timeout=2))
                pages = [t for t in targets if t.get("type") == "page"]
                if pages:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        s = ws_connect(pages[0]["webSocketDebuggerUrl"])
        time.sleep(secs)
        ws_send(s, json.dumps({"id": 1, "method": "Page.captureScreenshot", "params": {"format": "png"}}))
        while True:
            m = json.loads(ws_recv(s))
            if m.get("id") == 1:
                break
        open(out, "wb").write(base64.b64decode(m["result"]["data"]))
        print("wrote %s" % out)
    finally:
        p.terminate()
        p.wait()
        subprocess.run(["rm", "-rf", prof])


if __name__ == "__main__":
    main()
