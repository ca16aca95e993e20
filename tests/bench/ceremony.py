#!/usr/bin/env python3
"""Ceremony benchmark (issues 5, 16): real `dkgd dkg` processes on 127.0.0.1 via a local relay.

For each configuration (n operators x V validators) it first measures the CPU lower bound:
the `work` example of dkgd-sim runs all n nodes' real `Ceremony` state machines for V
validators in one process, with no network and no disk; its CPU time (user + system, every
thread) divided by the cores is the bound no networked run on this box can beat. Then it runs
the ceremony for real and prints, per node, the wall time from "all peers connected" to
"artifacts committed" (timestamps taken here as each `--progress-json` line arrives), peak RSS
(ru_maxrss of the reaped child), CPU, and ceremony bytes sent (the node's `traffic` event);
then the slowest node, the bound, their ratio, and the slowest node's time by step. Keystores
are written at full KDF cost unless --insecure-keystores. A measurement, not a test: it
asserts nothing but that every node exits 0.

    cargo build --release -p dkgd && cargo build --release -p dkgd-sim --example work
    python3 tests/bench/ceremony.py [--configs 4x1,4x100,10x100,16x1000] [--bound-max-v 100]

--bound-max-v V': for larger V the bound is measured at V' and scaled by V/V' (all the work
is per validator), so that 16x1000 does not spend half an hour in a single-threaded sim.
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


def lower_bound(work_bin, n, v, insecure):
    """CPU seconds of every node's work in one process (see the module docs)."""
    args = [work_bin, str(n), str(v)] + (["insecure"] if insecure else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(args, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench(bin_, n, v, insecure, timeout, progress, node0=None):
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
        cmd = node0 if (i == 0 and node0) else [bin_]
        p = subprocess.Popen(
            [*cmd, "dkg", "--definition", definition, "--data-dir", d, "--relay", url,
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
    sent = [0] * n
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
            if ev.get("event") == "traffic":
                sent[i] = ev.get("sent_bytes", 0)
            if ev.get("event") == "step":
                if ev.get("step") not in steps[i] and i == 0 and progress:
                    print(f"  [{now - started:7.1f} s] node 0: step {ev.get('step')}", flush=True)
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
        rows.append((i, committed[i] - connected[i], rss[i] / 1024, cpu[i], sent[i]))
    # The slowest node's steps: seconds from each step's start to the next one's.
    slow = max(range(n), key=lambda i: committed[i] - connected[i])
    marks = sorted((t, name) for name, t in steps[slow].items())
    marks.append((committed[slow], "end"))
    breakdown = [(name, t2 - t1) for (t1, name), (t2, _) in zip(marks, marks[1:])]
    return total, rows, root, breakdown


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="target/release/dkgd")
    ap.add_argument("--work-bin", default="target/release/examples/work")
    ap.add_argument("--configs", default="4x1,4x100,10x100")
    ap.add_argument("--bound-max-v", type=int, default=1000)
    ap.add_argument("--insecure-keystores", action="store_true")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--aarch64", metavar="BIN",
                    help="run node 0 as this aarch64 dkgd under qemu-user (mixed ceremony); its "
                         "RSS and CPU are the emulator's")
    a = ap.parse_args()
    cores = os.cpu_count() or 1
    print(f"dkgd ceremony benchmark: {cores} CPUs, keystores "
          f"{'insecure test KDF' if a.insecure_keystores else 'full KDF (pbkdf2 2^18)'}")
    table = []
    for cfg in a.configs.split(","):
        n, v = (int(x) for x in cfg.split("x"))
        bv = min(v, a.bound_max_v)
        work_cpu = lower_bound(a.work_bin, n, bv, a.insecure_keystores) * v / bv
        bound = work_cpu / cores
        scaled = f", measured at V={bv} and scaled x{v / bv:g}" if bv != v else ""
        print(f"\nn={n} V={v}: lower bound {bound:.2f} s ({work_cpu:.1f} CPU-s of all nodes' "
              f"work in one process / {cores} cores{scaled})", flush=True)
        big = n * v >= 10000
        node0 = ["qemu-aarch64", "-cpu", "cortex-a72", "-L", "/", a.aarch64] if a.aarch64 else None
        if node0:
            print("  node 0 is aarch64 under qemu-user (cortex-a72)")
        total, rows, _, breakdown = bench(a.bin, n, v, a.insecure_keystores, a.timeout, big, node0)
        print(f"n={n} V={v}: whole run (start to last exit) {total:.1f} s")
        print("  node  connected→committed  peak RSS  CPU      sent")
        for i, t, mb, c, b in rows:
            print(f"  {i:>4}  {t:>17.2f} s  {mb:>6.1f} MB  {c:>6.1f} s  {b / 1e6:>7.2f} MB")
        slowest = max(t for _, t, _, _, _ in rows)
        rss = max(mb for _, _, mb, _, _ in rows)
        sent = max(b for _, _, _, _, b in rows)
        print(f"  slowest node {slowest:.2f} s, largest RSS {rss:.1f} MB")
        print(f"  lower bound {bound:.2f} s, ratio {slowest / bound if bound else 0:.2f}; "
              f"all nodes' CPU {sum(c for _, _, _, c, _ in rows):.1f} s "
              f"(whole processes) vs the work's {work_cpu:.1f} s")
        print("  slowest node by step: " + ", ".join(f"{name} {d:.2f} s" for name, d in breakdown))
        table.append((n, v, slowest, bound, rss, sent))
    print("\n| n | V | connected→committed (slowest node) | CPU lower bound | ratio "
          "| peak RSS per node | sent per node |")
    print("|---|---|---|---|---|---|---|")
    for n, v, slowest, bound, rss, sent in table:
        print(f"| {n} | {v} | {slowest:.2f} s | {bound:.2f} s | {slowest / bound if bound else 0:.2f} "
              f"| {rss:.1f} MB | {sent / 1e6:.2f} MB |")


if __name__ == "__main__":
    main()
