#!/usr/bin/env python3
"""Whole-process timing for benches/compare.sh: runs commands interleaved, reports medians.

    compare.py ROUNDS CORPUS=PATH ... -- NAME=COMMAND ...

Each COMMAND is a shell-free argv string (split on spaces) with `{input}` for the corpus path
and `{ndjson_bytes}` for the size of rdsaudit's NDJSON on it. Every round runs every
(corpus, command) pair once, in a rotated order, stdout to /dev/null; CPU time is the
child's user+sys from wait4, wall time from a monotonic clock. Prints a Markdown table of
medians and the ratios the issue asks for: CPU share of the floor (floor / command),
2-thread wall / 1-thread wall, and each `peer-*` or `before-*` command's CPU over ours.
"""
import os
import statistics
import subprocess
import sys
import time


def run(argv):
    start = time.monotonic()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(argv, stdout=null, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    if status != 0:
        sys.exit(f"failed ({status}): {' '.join(argv)}")
    return usage.ru_utime + usage.ru_stime, wall


def ndjson_bytes(rdsaudit, path):
    out = subprocess.run([rdsaudit, "--threads", "1", "parse", "--quiet", path],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    return len(out.stdout)


def main():
    rounds = int(sys.argv[1])
    sep = sys.argv.index("--")
    corpora = [a.split("=", 1) for a in sys.argv[2:sep]]
    commands = [a.split("=", 1) for a in sys.argv[sep + 1:]]
    rdsaudit = next(c for n, c in commands if n == "rdsaudit-1t").split()[0]
    sizes = {c: ndjson_bytes(rdsaudit, p) for c, p in corpora}
    jobs = []
    for corpus, path in corpora:
        for name, command in commands:
            argv = [a.replace("{input}", path).replace("{ndjson_bytes}", str(sizes[corpus]))
                    for a in command.split()]
            jobs.append((corpus, name, argv))
    times = {(c, n): [] for c, n, _ in jobs}
    for r in range(rounds):
        shift = r % len(jobs)
        for corpus, name, argv in jobs[shift:] + jobs[:shift]:
            times[(corpus, name)].append(run(argv))
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    report(corpora, commands, sizes, times, rounds)


def report(corpora, commands, sizes, times, rounds):
    med = {k: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v))
           for k, v in times.items()}
    names = [n for n, _ in commands]
    print(f"medians of {rounds} interleaved rounds; cpu = user+sys, wall in seconds\n")
    print("| corpus | NDJSON bytes | " + " | ".join(f"{n} cpu / wall" for n in names) + " |")
    print("|---|---|" + "---|" * len(names))
    for corpus, _ in corpora:
        cells = [f"{med[(corpus, n)][0]:.3f} / {med[(corpus, n)][1]:.3f}" for n in names]
        print(f"| {corpus} | {sizes[corpus]:,} | " + " | ".join(cells) + " |")
    peers = [n for n in names if n.startswith("peer-") or n.startswith("before-")]
    print("\n| corpus | rdsaudit cpu, share of the floor | 2 threads wall / 1 thread | "
          + " | ".join(f"{n} cpu / rdsaudit cpu" for n in peers) + " |")
    print("|---|---|---|" + "---|" * len(peers))
    for corpus, _ in corpora:
        ours_cpu, ours_wall = med[(corpus, "rdsaudit-1t")]
        floor = med[(corpus, "floor")][0] / ours_cpu if (corpus, "floor") in med else 0
        two = med[(corpus, "rdsaudit-2t")][1] / ours_wall if (corpus, "rdsaudit-2t") in med else 0
        ratios = [f"{med[(corpus, p)][0] / ours_cpu:.1f}x" for p in peers]
        print(f"| {corpus} | {floor:.0%} | {two:.2f}x | " + " | ".join(ratios) + " |")


if __name__ == "__main__":
    main()
