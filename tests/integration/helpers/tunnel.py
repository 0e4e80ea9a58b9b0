#!/usr/bin/env python3
"""Tunnel frames on a real interface, for the decap tests in the routed lab.

  tunnel.py send IFACE DMAC KIND OUTER_SRC OUTER_DST SRC DST PROTO SPORT DPORT [--gue-port P] [--len N]
      one frame: the client's packet SRC:SPORT -> DST:DPORT (PROTO udp, or syn:
      a TCP SYN with MSS 1460), wrapped in KIND (ipip, gue0, gue1) from
      OUTER_SRC to OUTER_DST, sent out of IFACE to DMAC (AF_PACKET)
  tunnel.py udp-echo ADDR PORT [NAME]
      answers every datagram to ADDR:PORT with "echo " + its payload (forever),
      or with "echo NAME" when NAME is given
  tunnel.py df-probe SRC DST PORT SIZE TRIES
      sends up to TRIES datagrams of SIZE bytes with DF from SRC to DST:PORT,
      half a second apart, until one is answered or the kernel learnt a smaller
      path MTU for DST (an ICMP fragmentation-needed / packet-too-big came);
      prints "answered NAME mtu M" or "unanswered mtu M" (M: the path MTU the
      client's kernel now has for DST)
  tunnel.py trip CLIENT_NETNS SENDER_NETNS SEND-ARGUMENTS... [--timeout S]
      a round trip: listens in CLIENT_NETNS (for udp: on SRC:SPORT, printing
      "echo tenace FROM" of the first answer; for syn: on its eth0, printing
      "mss M csum ok|bad" of the first SYN-ACK from DST), then sends the frame
      from SENDER_NETNS; "timeout" when nothing came
"""
import ctypes
import os
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000


def enter_netns(name):
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET):
        raise OSError(ctypes.get_errno(), "setns " + name)
    os.close(fd)

GUE_PORT = 6080


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def ip_header(src, dst, proto, payload_len, df=True):
    if family(dst) == socket.AF_INET6:
        return struct.pack("!IHBB", 6 << 28, payload_len, proto, 64) + \
            socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, 0, 0x4000 if df else 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:]


def pseudo(src, dst, proto, length):
    f = family(dst)
    return socket.inet_pton(f, src) + socket.inet_pton(f, dst) + struct.pack("!IxxxB", length, proto)


def l4(src, dst, proto, sport, dport, size):
    if proto == "udp":
        body = b"tenace " + b"x" * max(0, size - 7)
        h = struct.pack("!HHHH", sport, dport, 8 + len(body), 0)
        c = csum(pseudo(src, dst, 17, len(h) + len(body)) + h + body) or 0xFFFF
        return 17, h[:6] + struct.pack("!H", c) + body
    opts = struct.pack("!BBH", 2, 4, 1460) + b"\x01\x01\x04\x02"
    h = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, (5 + len(opts) // 4) << 4, 0x02, 64240, 0, 0) + opts
    c = csum(pseudo(src, dst, 6, len(h)) + h)
    return 6, h[:16] + struct.pack("!H", c) + h[18:]


def frame(smac, dmac, kind, osrc, odst, src, dst, proto, sport, dport, gue_port, size):
    p, seg = l4(src, dst, proto, sport, dport, size)
    inner = ip_header(src, dst, p, len(seg)) + seg
    inner_proto = 41 if family(dst) == socket.AF_INET6 else 4
    if kind == "ipip":
        outer_proto, payload = inner_proto, inner
    else:
        gue = struct.pack("!BBH", 0, inner_proto, 0) if kind == "gue0" else b""
        payload = struct.pack("!HHHH", 40000, gue_port, 8 + len(gue) + len(inner), 0) + gue + inner
        outer_proto = 17
    pkt = ip_header(osrc, odst, outer_proto, len(payload)) + payload
    ethertype = 0x86DD if family(odst) == socket.AF_INET6 else 0x0800
    return bytes.fromhex(dmac.replace(":", "")) + smac + \
        struct.pack("!H", ethertype) + pkt


def send(a):
    gue_port = GUE_PORT
    size = 20
    if "--gue-port" in a:
        i = a.index("--gue-port")
        gue_port = int(a[i + 1])
        del a[i:i + 2]
    if "--len" in a:
        i = a.index("--len")
        size = int(a[i + 1])
        del a[i:i + 2]
    iface, dmac, kind, osrc, odst, src, dst, proto, sport, dport = a
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    smac = s.getsockname()[4]  # this namespace's interface (sysfs may be another's)
    s.send(frame(smac, dmac, kind, osrc, odst, src, dst, proto, int(sport), int(dport), gue_port, size))


def udp_answer(rx, timeout):
    rx.settimeout(timeout)
    try:
        data, peer = rx.recvfrom(4096)
    except socket.timeout:
        return "timeout"
    return " ".join(data.decode(errors="replace").split()[0:2] + [peer[0]])


def tcp_options_mss(tcp):
    i, end = 20, (tcp[12] >> 4) * 4
    while i < end and tcp[i] != 0:
        if tcp[i] == 1:
            i += 1
            continue
        if tcp[i] == 2:
            return struct.unpack("!H", tcp[i + 2:i + 4])[0]
        i += tcp[i + 1]
    return None


def synack(rx, want, timeout):
    end = time.time() + timeout
    while time.time() < end:
        rx.settimeout(max(0.01, end - time.time()))
        try:
            f = rx.recv(4096)
        except socket.timeout:
            break
        et = struct.unpack("!H", f[12:14])[0]
        if et == 0x0800 and f[23] == 6:
            ip = f[14:14 + struct.unpack("!H", f[16:18])[0]]
            hl, src, dst = (ip[0] & 15) * 4, socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        elif et == 0x86DD and f[20] == 6:
            ip = f[14:14 + 40 + struct.unpack("!H", f[18:20])[0]]
            hl = 40
            src = socket.inet_ntop(socket.AF_INET6, ip[8:24])
            dst = socket.inet_ntop(socket.AF_INET6, ip[24:40])
        else:
            continue
        tcp = ip[hl:]
        if src != want or tcp[13] & 0x12 != 0x12:
            continue
        ok = csum(pseudo(src, dst, 6, len(tcp)) + tcp) == 0
        return "mss %s csum %s" % (tcp_options_mss(tcp), "ok" if ok else "bad")
    return "timeout"


IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_MTU = 10, 2, 14
IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO, IPV6_MTU = 23, 2, 24


def df_probe(src, dst, port, size, tries):
    f = family(dst)
    s = socket.socket(f, socket.SOCK_DGRAM)
    s.bind((src, 0))
    if f == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)
        level, opt = socket.IPPROTO_IPV6, IPV6_MTU
    else:
        s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
        level, opt = socket.IPPROTO_IP, IP_MTU
    s.connect((dst, port))
    s.settimeout(0.5)
    body = b"x" * (size - (48 if f == socket.AF_INET6 else 28))
    for _ in range(tries):
        try:
            s.send(body)
        except OSError:
            pass  # EMSGSIZE: the kernel already knows a smaller path MTU
        try:
            data = s.recv(4096)
            return print("answered %s mtu %d" % (data.decode().split()[1], s.getsockopt(level, opt))) or 0
        except OSError:
            pass  # timeout, or the ICMP reported as an error on the socket
        if s.getsockopt(level, opt) < size:
            break
    print("unanswered mtu %d" % s.getsockopt(level, opt))
    return 0


def main(argv):
    cmd = argv[1]
    if cmd == "send":
        send(argv[2:])
        return 0
    if cmd == "udp-echo":
        s = socket.socket(family(argv[2]), socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((argv[2], int(argv[3])))
        name = argv[4].encode() if len(argv) > 4 else None
        while True:
            data, peer = s.recvfrom(65536)
            s.sendto(b"echo " + (name if name else data[:64]), peer)
    if cmd == "df-probe":
        return df_probe(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]))
    if cmd == "trip":
        a = argv[4:]
        timeout = 3.0
        if "--timeout" in a:
            i = a.index("--timeout")
            timeout = float(a[i + 1])
            del a[i:i + 2]
        enter_netns(argv[2])
        src, dst, proto, sport = a[5], a[6], a[7], int(a[8])
        if proto == "udp":
            rx = socket.socket(family(src), socket.SOCK_DGRAM)
            rx.bind((src, sport))
        else:
            rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
            rx.bind(("eth0", 0))
        enter_netns(argv[3])
        send(a)
        print(udp_answer(rx, timeout) if proto == "udp" else synack(rx, dst, timeout))
        return 0
    print(__doc__)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
