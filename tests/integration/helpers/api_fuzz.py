#!/usr/bin/env python3
"""Send random and mutated requests to a running controller's Unix socket.

Usage: api_fuzz.py SOCKET COUNT SEED
Prints one line per unexpected answer and a summary "sent N, statuses {...}".
Exits 1 when the controller stops answering or answers outside the contract
(a status other than 200, 201, 400, 404, 405, 409, 413, or a body that is not JSON).
"""
import http.client
import json
import random
import socket
import sys

ALLOWED = {200, 201, 400, 404, 405, 409, 413}


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.path)


sock, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)

VALID_FARM = {"type": "tcp", "port": 80, "balance": "source", "stickiness": "sourceIp",
              "probe": {"type": "tcp", "interval": 1},
              "servers": [{"address": "192.0.2.10", "weight": 2, "mac": "02:00:00:00:00:0a"}]}
VALID_SERVER = {"address": "192.0.2.20", "port": 80, "weight": 1, "status": "active",
                "mac": "02:00:00:00:00:14"}
VALID_FRONTEND = {"type": "tcp", "vip": ["198.51.100.7"], "port": "8080", "defaultFarmId": 1,
                  "allowedSource": ["10.0.0.0/8"]}
ATOMS = [None, True, False, 0, -1, 1, 257, 65536, 2**31, 2**64, -2**63, 1e400, 0.5, "", "x" * 300,
         "tcp", "udp", "http", "sourceIp", "cookie", "leastconn", "10.0.0.1", "::1", "fe80::1/64",
         "80", "80,443", "1-65535", "0", "99999", [], {}, [1, 2], {"a": 1}, "\u00e9\u0000"]
PATHS = ["/v1/tcp/farm", "/v1/udp/farm", "/v1/tcp/farm/1", "/v1/tcp/farm/2", "/v1/tcp/farm/999",
         "/v1/tcp/farm/abc", "/v1/tcp/farm/1/server", "/v1/tcp/farm/1/server/1",
         "/v1/tcp/farm/1/server/7", "/v1/tcp/frontend", "/v1/tcp/frontend/1", "/v1/udp/frontend",
         "/v1/pendingChanges", "/v1/refresh", "/v1/task/1", "/v1/config", "/v1/status",
         "/v1/stats", "/metrics", "/v1/http/farm", "/v1//farm", "/v1/tcp/farm/1/server/1/x",
         "/v1/tcp/farm/4294967296", "/%00", "/v1/tcp/farm/-1"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]


def mutate(obj, depth=0):
    if isinstance(obj, dict):
        o = dict(obj)
        for _ in range(rng.randint(1, 3)):
            r = rng.random()
            if r < 0.4 and o:
                k = rng.choice(list(o))
                o[k] = mutate(o[k], depth + 1) if rng.random() < 0.5 else rng.choice(ATOMS)
            elif r < 0.6 and o:
                o.pop(rng.choice(list(o)))
            else:
                o[rng.choice(["colour", "weight", "port", "vip", "servers", "farmId", "zone"])] = \
                    rng.choice(ATOMS)
        return o
    if isinstance(obj, list):
        o = [mutate(x, depth + 1) for x in obj]
        if rng.random() < 0.3:
            o.append(rng.choice(ATOMS))
        return o
    return rng.choice(ATOMS)


# Bodies that are JSON to a lax reader but not to a strict one: invalid UTF-8
# (a stray continuation byte, a truncated sequence, an overlong "/", a UTF-16
# surrogate, 0xff), or a key given twice. Every one must be refused (400):
# what the API accepts is written to the configuration file, which must load
# again after a restart.
BAD_UTF8 = [b"\xff", b"\xc3", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"caf\xc3", b"\xf8\x88\x80\x80\x80"]


def strictly_invalid():
    base = dict(rng.choice([VALID_FARM, VALID_SERVER, VALID_FRONTEND]))
    if rng.random() < 0.7:
        base["displayName"] = "@@NAME@@"
        text = json.dumps(base).encode()
        return text.replace(b"@@NAME@@", b"web" + rng.choice(BAD_UTF8) + b"x")
    text = json.dumps(base)
    key = rng.choice(list(base))
    return (text[:-1] + ", " + json.dumps(key) + ": " + json.dumps(base[key]) + "}").encode()


def body():
    r = rng.random()
    if r < 0.1:
        return b""
    if r < 0.2:  # broken JSON
        text = json.dumps(mutate(rng.choice([VALID_FARM, VALID_SERVER, VALID_FRONTEND])))
        cut = rng.randint(0, max(0, len(text) - 1))
        return text[:cut].encode()
    if r < 0.25:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
    if r < 0.5:
        return json.dumps(rng.choice([VALID_FARM, VALID_SERVER, VALID_FRONTEND])).encode()
    return json.dumps(mutate(rng.choice([VALID_FARM, VALID_SERVER, VALID_FRONTEND])),
                      allow_nan=True).encode()


statuses = {}
bad = 0
strict_sent = strict_accepted = 0
COLLECTIONS = {"/v1/tcp/farm": VALID_FARM, "/v1/tcp/farm/1/server": VALID_SERVER,
               "/v1/tcp/frontend": VALID_FRONTEND}
for i in range(count):
    r = rng.random()
    if r < 0.4:  # mostly well-aimed creations and changes, so state really moves
        path = rng.choice(list(COLLECTIONS))
        method = "POST"
    elif r < 0.6:
        path = rng.choice(["/v1/tcp/farm/1", "/v1/tcp/farm/1/server/1", "/v1/tcp/frontend/1",
                           "/v1/tcp/farm/2", "/v1/tcp/farm/1/server/2"])
        method = rng.choice(["PUT", "PUT", "GET", "DELETE"])
    else:
        method, path = rng.choice(METHODS), rng.choice(PATHS)
    strict = method in ("POST", "PUT") and rng.random() < 0.1
    data = strictly_invalid() if strict else body()
    try:
        c = UnixConnection(sock)
        c.request(method, path, body=data if method in ("POST", "PUT", "PATCH") else None,
                  headers={"Content-Type": "application/json"})
        resp = c.getresponse()
        payload = resp.read()
        c.close()
    except Exception as e:  # the controller died or hung
        print("request %d %s %s: no answer: %s" % (i, method, path, e))
        sys.exit(1)
    statuses[resp.status] = statuses.get(resp.status, 0) + 1
    ok = resp.status in ALLOWED
    if strict:
        strict_sent += 1
        # 404/405 are fine (no such object, wrong method): the body was never read
        if resp.status not in (400, 404, 405):
            strict_accepted += 1
            ok = False
    if ok and method != "HEAD" and payload and path != "/metrics":
        try:
            json.loads(payload)
        except ValueError:
            ok = False
    if not ok:
        bad += 1
        if bad <= 10:
            print("request %d %s %s -> %d %r" % (i, method, path, resp.status, payload[:200]))
print("sent %d, statuses %s; %d invalid UTF-8 or duplicate-key bodies, %d accepted" %
      (count, dict(sorted(statuses.items())), strict_sent, strict_accepted))
sys.exit(1 if bad else 0)
