#!/usr/bin/env python3
"""Write the README's performance section from the last `make bench` run.

The section between the markers <!-- bench:begin --> and <!-- bench:end --> is
rebuilt from build/bench.txt (quoted verbatim) and build/bench.json (every
figure in the prose): no number in it is typed by hand.
Usage: scripts/bench_readme.py [README.md]
"""
import json
import re
import sys

readme = sys.argv[1] if len(sys.argv) > 1 else "README.md"
table = open("build/bench.txt").read().rstrip("\n")
d = json.load(open("build/bench.json"))

ns = d["ns_per_packet"]
cases = {c["name"]: c for c in ns["cases"]}
floors = {c["name"]: c for c in ns.get("memory_floor", [])}
t1 = cases["tracked_1"]
nf, nfull = cases["new_client_filling"], cases["new_client_full"]
own = t1["tenace_ns"] - t1["feeder_ns"]
base_own = t1["baseline_ns"] - t1["feeder_ns"]
e2e = d["end_to_end"]["rows"]
e2e_txt = ", ".join("%d%% at %s client%s" % (round(100 * r["ratio"]), format(r["clients"], ","),
                                             "" if r["clients"] == 1 else "s") for r in e2e)
ref = d["refresh"]
mag = [r for r in d["maglev"]["rows"] if r["entries"] == 65537 and r["servers"] == 1000][0]
probes = {r["servers"]: r for r in d["probe"]["rows"]}
mem = d["memory"]
ct = mem["maps_bytes_memlock"]["conntrack"] / 2**20
total = mem["total_bytes_memlock_one_farm"] / 2**20
verdict = lambda ok: "met" if ok else "missed"

probe_txt = ""
if "cpu_us_per_check" in probes[10000]:
    p10 = probes[10000]
    probe_txt = f""" Per check that is {p10["cpu_us_per_check"]:.1f} µs of CPU
  ({p10["user_cpu_us_per_check"]:.1f} µs in user space) at 10,000 servers, {probes[1000]["cpu_us_per_check"]:.1f} µs at 1,000."""

floor_txt = ""
if "floor_10k" in floors and "floor_1m" in floors:
    f10, f1m = floors["floor_10k"], floors["floor_1m"]
    floor_txt = f"""
  The memory floor rows say how much of that is the memory itself: the same
  feeder and clients through a program that reads one 64-byte line of an
  array the conntrack's size at a pseudo-random index, then does the
  baseline's work, costs {f10["floor_ns"]:.0f} ns over {format(f10["entries"], ",")} entries and {f1m["floor_ns"]:.0f} ns over
  {format(f1m["entries"], ",")}; Tenace's tracked packet is {cases["tracked_10k"]["ratio_to_floor"]:.2f}x and {cases["tracked_1m"]["ratio_to_floor"]:.2f}x that floor."""

section = f"""Figures from one `make bench` run on the machine named in its first line (a
2-vCPU VM; run-to-run noise on it is about ±20 %). The table is that run's
`build/bench.txt`, unedited, and every figure below comes from its
`build/bench.json` (`scripts/bench_readme.py` writes this section):

```
{table}
```

![Tenace against the baseline: ns/packet and end-to-end Mpps](docs/bench.png)

What the figures say, and where the targets are missed:

- **ns/packet (targets: tracked ≤ 3x, new client ≤ 6x — {verdict(all(c.get("pass", True) for c in cases.values()))}).** Most of
  the baseline's {t1["baseline_ns"]:.0f} ns is `BPF_PROG_TEST_RUN`'s loop and the
  feeder that rebuilds each frame ({t1["feeder_ns"]:.0f} ns, paid by both); the
  baseline program itself costs about {max(base_own, 1):.0f} ns. Tenace's own work on a
  tracked packet, the VIP directory, the conntrack's set and the counters, is
  about {own:.0f} ns when the entry is in cache (1 client): {t1["ratio"]:.1f}x on the
  ratio. With {format(cases["tracked_10k"]["clients"], ",")} or {format(cases["tracked_1m"]["clients"], ",")} tracked clients the
  conntrack's sets no longer fit the CPU caches and
  each lookup waits for memory ({cases["tracked_10k"]["tenace_ns"]:.0f} and {cases["tracked_1m"]["tenace_ns"]:.0f} ns); a new client adds a
  decision on the table and the write of a way ({nf["tenace_ns"]:.0f} ns while the table fills), and once every set is full
  the way seen longest ago is given up ({nfull["tenace_ns"]:.0f} ns, on a {format(nfull["conntrack_capacity"], ",")}-entry conntrack whose {format(nfull.get("conntrack_ways", 0), ",")} ways were filled with other clients first).
  These are the costs of tracking connections in a table shared by all CPUs;
  the targets assume a baseline that does comparable work.{floor_txt}
- **End to end (target ≥ 80 % of the baseline's Mpps — {verdict(all(r["pass"] for r in e2e))}).** Generator,
  balancer and sink share one CPU (veth runs the receiver's XDP on the sending
  CPU), so every nanosecond Tenace adds is taken from the generator too:
  {e2e_txt} in this run.
- **Refresh under load (targets: 0 lost, 0 moved — {verdict(ref["pass_lost"] and ref["pass_moved"])}).**
  {ref["lost"]} packets lost and {ref["clients_moved"]} tracked clients moved across {ref["rewrites"]} table swaps at
  {ref["rate_mpps"]:.2f} Mpps; the move detector is checked by marking a server down
  ({ref["detector_check_moved_when_server_down"]} clients seen moving).
- **Maglev (target: 65537 entries, 1000 servers under 10 ms — {verdict(mag["pass"])}).** {mag["build_ms"]:.1f} ms;
  removing one of N servers re-maps about 1/N of the table plus
  {100 * mag["moved_needlessly_fraction"]:.1f} % (1000 servers); shares follow the weights within
  {mag["share_error_max_pp"]:.3f} points.
- **Probes (target: 10,000 servers at 1 s under 10 % of a core — {verdict(probes[10000].get("pass_under_10_percent", False))}).**
  {probes[1000]["cpu_percent_of_one_core"]:.0f} % of a core for 1,000 servers, {probes[10000]["cpu_percent_of_one_core"]:.0f} % for 10,000, of which the engine's
  own user-space time is {probes[10000]["user_cpu_percent"]:.1f} %: the rest is the kernel opening and
  resetting TCP connections on loopback, where both ends of every handshake
  are charged to the prober.{probe_txt}
- **Memory**: {total:.0f} MiB of BPF maps at the default settings, {ct:.0f} MiB of it
  the 1,000,000-entry conntrack (`conntrack.size` scales it)."""

if "flood" in d and "moved" in d["flood"]:
    fd = d["flood"]
    section += f"""
- **SYN flood (target: no established client moved — {verdict(fd["pass"])}).** {format(fd["established_clients"], ",")} TCP
  clients, each tracked from its handshake ACK, then {format(fd["flood_syns_sent"], ",")} SYNs from random
  spoofed sources at {fd["flood_mpps"]:.2f} Mpps ({fd["flood_ns_per_syn"]:.0f} ns per SYN, {fd["flood_to_tracked_ratio"]:.2f}x a tracked
  packet), with one server's weight changed halfway ({format(fd["table_entries_changed"], ",")} Maglev entries
  moved): {format(fd["conntrack_deferred_during_flood"], ",")} SYNs steered without an entry (`conntrack_deferred`),
  {format(fd["conntrack_new_during_flood"], ",")} inserted; the {format(fd["conntrack_capacity"], ",")}-entry conntrack held {format(fd["occupancy_before"], ",")} entries before and
  {format(fd["occupancy_after"], ",")} after; {fd["moved"]} established clients moved, {100 * fd["delivered_share"]:.1f} % of their
  packets reached their own server."""

if "ack_flood" in d and "moved" in d["ack_flood"]:
    af = d["ack_flood"]
    section += f"""
- **ACK flood (target: no established client moved, the TCP budget held — {verdict(af["pass"])}).** The same
  on a data plane at the default `conntrack.tcpAdmitRate` ({format(af["tcp_admit_rate_per_cpu"], ",")} per second per CPU) and
  conntrack size ({format(af["conntrack_capacity"], ",")}): {format(af["flood_acks_sent"], ",")} ACKs from random spoofed sources at
  {af["flood_mpps"]:.2f} Mpps ({af["flood_ns_per_ack"]:.0f} ns per ACK, {af["flood_to_tracked_ratio"]:.2f}x a tracked packet) over {af["flood_wall_s"]:.2f} s:
  {format(af["conntrack_new_during_flood"], ",")} tracked (the budget allowed at most {format(af["admitted_bound"], ",")}), {format(af["conntrack_refused_during_flood"], ",")}
  steered by the table untracked (`conntrack_refused`); occupancy {format(af["occupancy_before"], ",")} before,
  {format(af["occupancy_after"], ",")} after; {af["moved"]} established clients moved, {100 * af["delivered_share"]:.1f} % reached their own server."""

kt_rows = [c for c in ns["cases"] if c.get("katran_ns") is not None and c.get("tenace_over_katran") is not None]
if kt_rows:
    kt_e2e = [r for r in e2e if r.get("katran_mpps") is not None]
    ns_txt = "; ".join("%s %.0f ns against %.0f ns, %.2fx (target ≤ %.1fx, %s)" % (
        c["label"], c["tenace_ns"], c["katran_ns"], c["tenace_over_katran"], c["target"],
        verdict(c["tenace_over_katran"] <= c["target"])) for c in kt_rows)
    e_txt = "; ".join("%s client%s %.2f against %.2f Mpps, %.2fx%s" % (
        format(r["clients"], ","), "" if r["clients"] == 1 else "s", r["tenace_mpps"],
        r["katran_mpps"], r["tenace_over_katran"],
        "" if r.get("target") is None else " (target ≥ %.1fx, %s)" % (r["target"], verdict(r["tenace_over_katran"] >= r["target"])))
        for r in kt_e2e)
    section += f"""
- **Beside Katran (`KATRAN_OBJ=PATH make bench`), same run, same feeder.** Tenace against
  Katran's own `balancer.bpf.o`: {ns_txt}.""" + (f""" End to end on the veth at one core: {e_txt}.""" if e_txt else "")

lrus = {c["name"]: c for c in ns.get("kernel_lru", [])}
if all(k in lrus for k in ("lru_1", "lru_10k", "lru_1m", "lru_filling", "lru_full")):
    L = lambda k: lrus[k]["floor_ns"]
    rel = "; ".join("%s %.2fx" % (cases[lrus[k]["floor_of"]]["label"], cases[lrus[k]["floor_of"]]["ratio_to_kernel_lru"])
                    for k in ("lru_1", "lru_10k", "lru_1m", "lru_filling", "lru_full")
                    if cases.get(lrus[k]["floor_of"], {}).get("ratio_to_kernel_lru") is not None)
    section += f"""
- **The kernel LRU alone** (what Tenace's IPv4 conntrack was before its sets).
  The same feeder and clients through a program
  that does only what the kernel's map would do for Tenace (`bench_lru`: an
  8-byte key, the IPv4 conntrack's, looked up in an `LRU_HASH` of the conntrack's size
  with 8-byte values, inserted when absent, then the baseline's work):
  {L("lru_1"):.0f} / {L("lru_10k"):.0f} / {L("lru_1m"):.0f} ns for a hit at 1 / 10,000 / 1,000,000 entries, {L("lru_filling"):.0f} ns for a new
  key while the table fills, {L("lru_full"):.0f} ns on a {format(lrus["lru_full"]["lru_entries"], ",")}-entry LRU filled first (every
  insert evicts). Tenace over it: {rel}."""
    tg = [lrus[k] for k in ("lru_1", "lru_10k", "lru_1m", "lru_filling", "lru_full")
          if lrus[k].get("katran_target_ns") is not None]
    if tg:
        over = [c for c in tg if c["share_of_katran_target"] > 1]
        section += " Katran's targets in ns (the target ratio times Katran's ns on the row) against the map alone: " + \
            "; ".join("%s ≤ %.0f ns, the LRU alone %.0f ns (%.0f %%)" % (
                cases[c["floor_of"]]["label"], c["katran_target_ns"], c["floor_ns"],
                100 * c["share_of_katran_target"]) for c in tg) + "." + \
            ("" if not over else " Where the map alone costs more than a target allows (%s), no program built on\n  the kernel's LRU meets it: the reason for the sets." % "; ".join(
                cases[c["floor_of"]]["label"] for c in over))

if "fleet" in d:
    fl = {r["name"]: r for r in d["fleet"]["rows"]}
    fast = [fl[k] for k in ("drain", "resume", "sigterm", "all_servers_down", "servers_back")]
    section += f"""
- **Fleet (targets: withdrawals and announcements within 2 s, a restarted node
  within 10 s, a dead node within the hold time + 1 s — {verdict(all(r["pass"] for r in fl.values()))}).** With three
  nodes behind a BIRD router, a drain is withdrawn in {fl["drain"]["median_s"]:.2f} s (median, from the
  command), a resume in {fl["resume"]["median_s"]:.2f} s, a SIGTERM in {fl["sigterm"]["median_s"]:.2f} s; a node whose link
  goes down is withdrawn by the hold timer in {fl["node_death"]["median_s"]:.2f} s (hold time
  {d["fleet"]["hold_time_s"]} s), a restarted controller is announced {fl["node_restart"]["median_s"]:.2f} s after it starts;
  the slowest of these events took {max(r["max_s"] for r in fast):.2f} s. The three nodes' table
  digests {"agree" if d["fleet"]["digest"]["pass"] else "DISAGREE"}."""

text = open(readme).read()
new, n = re.subn(r"(<!-- bench:begin -->\n).*?(<!-- bench:end -->)",
                 lambda m: m.group(1) + section + "\n" + m.group(2), text, flags=re.S)
if n != 1:
    sys.exit("bench_readme.py: no <!-- bench:begin --> ... <!-- bench:end --> section in " + readme)
open(readme, "w").write(new)
print("bench_readme.py: performance section of %s rewritten" % readme)
