#!/usr/bin/env python3
"""Check a Grafana dashboard against a real /metrics output: every tenace_*
metric its expressions name must be a family the controller exports, and
every label it groups or filters by must be one of that family's labels
(or one Prometheus adds: instance, job). Prints one line per problem, then a
summary; exit status 1 when there is any problem.

usage: grafana-check.py DASHBOARD.json METRICS.txt
"""
import json
import re
import sys

ADDED = {"instance", "job", "le"}


def exprs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("expr", "query") and isinstance(v, str):
                out.append(v)
            elif k == "query" and isinstance(v, dict) and isinstance(v.get("query"), str):
                out.append(v["query"])
            else:
                exprs(v, out)
    elif isinstance(node, list):
        for v in node:
            exprs(v, out)
    return out


def families(text):
    fam = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s", line)
        if not m:
            continue
        labels = fam.setdefault(m.group(1), set())
        for lm in re.finditer(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or ""):
            labels.add(lm.group(1))
    return fam


def main():
    dash = json.load(open(sys.argv[1]))
    fam = families(open(sys.argv[2]).read())
    problems, named = [], set()
    all_exprs = exprs(dash, [])
    for e in all_exprs:
        metrics = set(re.findall(r"\b(tenace_[a-z0-9_]+)\b", e))
        named |= metrics
        labels = set()
        for m in metrics:
            if m not in fam:
                problems.append("%s: not in /metrics (expression: %s)" % (m, e))
            else:
                labels |= fam[m]
        used = set()
        for g in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", e):
            used |= {x.strip() for x in g.split(",") if x.strip()}
        for sel in re.findall(r"tenace_[a-z0-9_]+\{([^}]*)\}", e):
            used |= set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", sel))
        for l in sorted(used - ADDED):
            if metrics and l not in labels:
                problems.append("label %s: not a label of %s (expression: %s)" % (l, ", ".join(sorted(metrics)), e))
    for p in problems:
        print(p)
    if not named:
        problems.append("no tenace_* metric named at all")
        print(problems[-1])
    print("%d expressions, %d metrics named, %d problems" % (len(all_exprs), len(named), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
