#!/usr/bin/env python3
"""Idle daemon benchmark (issue 16): how often an idle `dkgd run` wakes up, and its memory.

Two idle states are measured, each with a fresh `dkgd run` on 127.0.0.1-free local files only:

* awaiting definition: a new data dir, no definition, no pairing code;
* complete: a data dir that finished a ceremony (made here by `dkgd demo`).

After a settling period the script sums, over every thread of the process, the voluntary and
involuntary context switches (/proc/PID/task/*/status) during the window, and prints the
average per second, the threads that woke, and VmRSS/VmHWM. A wake-up is a switch onto the CPU
after sleeping; a thread that never sleeps would show as involuntary switches. This is a
measurement, not a test: it asserts nothing but that the daemon stays up.

    cargo build --release -p dkgd
    python3 tests/bench/idle.py [--bin target/release/dkgd] [--window 60]
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time


def switches(pid):
    """{thread name + tid: voluntary + involuntary switches} for every thread of `pid`."""
    out = {}
    for task in glob.glob(f"/proc/{pid}/task/*"):
        try:
            with open(os.path.join(task, "comm")) as f:
                name = f.read().strip()
            with open(os.path.join(task, "status")) as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        n = int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])
        out[f"{name}/{os.path.basename(task)}"] = n
    return out


def memory(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    kib = lambda k: int(fields[k].split()[0])  # noqa: E731
    return kib("VmRSS") / 1024, kib("VmHWM") / 1024


def measure(bin_, label, data_dir, root, settle, window):
    sock = os.path.join(root, f"{label}.sock")
    log = open(os.path.join(root, f"{label}.log"), "w")
    daemon = subprocess.Popen(
        [bin_, "run", "--data-dir", data_dir, "--socket", sock],
        stdout=log, stderr=log, env={**os.environ, "RUST_LOG": "info"})
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            if daemon.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"{label}: the daemon did not open its socket; log in {root}")
            time.sleep(0.1)
        state = subprocess.run([bin_, "status", "--socket", sock],
                               capture_output=True, text=True).stdout.strip().splitlines()
        time.sleep(settle)
        before = switches(daemon.pid)
        time.sleep(window)
        after = switches(daemon.pid)
        if daemon.poll() is not None:
            sys.exit(f"{label}: the daemon exited ({daemon.returncode}); log in {root}")
        rss, hwm = memory(daemon.pid)
    finally:
        daemon.terminate()
        daemon.wait()
    woke = {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)}
    total = sum(woke.values())
    print(f"\n{label}: {total / window:.2f} wake-ups/s over {window:.0f} s "
          f"({len(after)} threads), RSS {rss:.1f} MiB (peak {hwm:.1f} MiB)")
    print(f"  status: {state[0] if state else '(no answer)'}")
    for k, n in sorted(woke.items(), key=lambda kv: -kv[1]):
        print(f"  {k:<24} {n:>6}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="target/release/dkgd")
    ap.add_argument("--window", type=float, default=60)
    ap.add_argument("--settle", type=float, default=5)
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="dkgd-idle-")
    fresh = os.path.join(root, "fresh")
    os.makedirs(fresh, mode=0o700)
    measure(a.bin, "awaiting definition", fresh, root, a.settle, a.window)
    demo = os.path.join(root, "demo")
    out = subprocess.run([a.bin, "demo", "--validators", "1", "--insecure-keystores",
                          "--out", demo], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"dkgd demo failed ({out.returncode}):\n{out.stderr}")
    node = sorted(glob.glob(os.path.join(demo, "node*")))[0]
    measure(a.bin, "complete", node, root, a.settle, a.window)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
