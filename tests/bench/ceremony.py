#!/usr/bin/env python3
"""Ceremony benchmark (issue 5): real `dkgd dkg` processes on 127.0.0.1 via a local relay.

For each configuration it prints, per node, the wall time from "all peers connected" to
"artifacts committed" (timestamps taken here as each `--progress-json` line arrives) and
the node's peak RSS (ru_maxrss of the reaped child), plus the slowest node. Keystores are
written at full KDF cost unless --insecure-keystores. This is a measurement, not a test:
it asserts nothing but that every node exits 0.

    cargo build --release -p dkgd
    python3 tests/bench/ceremony.py [--bin target/release/dkgd] [--configs 4x1,4x100,10x100]
"""

import argparse
import json
import os
import resource
import selectors
import subprocess
import sys
import tempfile
import time


def run(bin_, *args):
    out = subprocess.run([bin_, *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"dkgd {' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
    return out.stdout


def start_relay(bin_, root):
    relay = subprocess.Popen(
        [bin_, "relay", "--listen", "/ip4/127.0.0.1/tcp/0", "--http", "127.0.0.1:0",
         "--data-dir", os.path.join(root, "relay")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = relay.stdout.readline()
        if line.startswith("relay http="):
            return relay, line.strip()[len("relay http="):]
    relay.kill()
    sys.exit("the relay did not print its URL")


def bench(bin_, n, v, insecure, timeout):
    root = tempfile.mkdtemp(prefix=f"dkgd-bench-{n}x{v}-")
    dirs = [os.path.join(root, f"node{i}") for i in range(n)]
    for d in dirs:
        run(bin_, "enr", "create", "--data-dir", d)
    definition = os.path.join(root, "cluster-definition.json")
    args = ["create", "cluster-definition", "--validators", str(v), "--output", definition]
    for d in dirs:
        args += ["--operator-dir", d]
    run(bin_, *args)
    relay, url = start_relay(bin_, root)
    extra = ["--insecure-keystores"] if insecure else []
    sel = selectors.DefaultSelector()
    procs = []
    for i, d in enumerate(dirs):
        p = subprocess.Popen(
            [bin_, "dkg", "--definition", definition, "--data-dir", d, "--relay", url,
             "--progress-json", *extra],
            stdout=subprocess.PIPE, stderr=open(d + ".log", "w"), text=True)
        procs.append(p)
        sel.register(p.stdout, selectors.EVENT_READ, i)
    started = time.monotonic()
    connected = [None] * n
    committed = [None] * n
    rss = [None] * n
    cpu = [None] * n
    codes = [None] * n
    # Per node: the time each step was first seen, to break the run down by step.
    steps = [dict() for _ in range(n)]
    open_fds = n
    while open_fds and time.monotonic() - started < timeout:
        for key, _ in sel.select(timeout=1):
            i = key.data
            line = key.fileobj.readline()
            now = time.monotonic()
            if not line:
                sel.unregister(key.fileobj)
                open_fds -= 1
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("event") == "connected" and ev["peers"] == ev["total"] and connected[i] is None:
                connected[i] = now
            if ev.get("event") == "step":
                steps[i].setdefault(ev.get("step"), now)
            if ev.get("event") == "step" and ev.get("step") == "commit" and ev.get("done") == 1:
                committed[i] = now
    for i, p in enumerate(procs):
        try:
            _, status, ru = os.wait4(p.pid, 0)
        except ChildProcessError:
            continue
        codes[i] = os.waitstatus_to_exitcode(status)
        rss[i] = ru.ru_maxrss  # KiB on Linux
        cpu[i] = ru.ru_utime + ru.ru_stime
    relay.kill()
    relay.wait()
    total = time.monotonic() - started
    if any(c != 0 for c in codes):
        sys.exit(f"{n}x{v}: exit codes {codes}; logs in {root}")
    rows = []
    for i in range(n):
        rows.append((i, committed[i] - connected[i], rss[i] / 1024, cpu[i]))
    # The slowest node's steps: seconds from each step's start to the next one's.
    slow = max(range(n), key=lambda i: committed[i] - connected[i])
    marks = sorted((t, name) for name, t in steps[slow].items())
    marks.append((committed[slow], "end"))
    breakdown = [(name, t2 - t1) for (t1, name), (t2, _) in zip(marks, marks[1:])]
    return total, rows, root, breakdown


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="target/release/dkgd")
    ap.add_argument("--configs", default="4x1,4x100,10x100")
    ap.add_argument("--insecure-keystores", action="store_true")
    ap.add_argument("--timeout", type=float, default=900)
    a = ap.parse_args()
    print(f"dkgd ceremony benchmark: {os.cpu_count()} CPUs, keystores "
          f"{'insecure test KDF' if a.insecure_keystores else 'full KDF (pbkdf2 2^18)'}")
    for cfg in a.configs.split(","):
        n, v = (int(x) for x in cfg.split("x"))
        total, rows, _, breakdown = bench(a.bin, n, v, a.insecure_keystores, a.timeout)
        print(f"\nn={n} V={v}: whole run (start to last exit) {total:.1f} s")
        print("  node  connected→committed  peak RSS  CPU")
        for i, t, mb, c in rows:
            print(f"  {i:>4}  {t:>17.2f} s  {mb:>6.1f} MB  {c:>6.1f} s")
        slowest = max(t for _, t, _, _ in rows)
        cpu_bound = sum(c for _, _, _, c in rows) / (os.cpu_count() or 1)
        print(f"  slowest node {slowest:.2f} s, "
              f"largest RSS {max(mb for _, _, mb, _ in rows):.1f} MB")
        print(f"  all nodes' CPU / cores {cpu_bound:.2f} s (whole processes, start-up included); "
              f"slowest node / that {slowest / cpu_bound if cpu_bound else 0:.2f}")
        print("  slowest node by step: " + ", ".join(f"{name} {d:.2f} s" for name, d in breakdown))


if __name__ == "__main__":
    main()
