#!/usr/bin/env python3
"""Guest instructions executed under qemu user mode, from its log.

Reads the log of `qemu-aarch64 -d in_asm,exec,nochain` (a file, or a FIFO as `arm64.sh` uses)
on stdin: each `IN:` block is one translated block, its instruction lines counted; with
`nochain` every execution of a block is one `Trace` line naming the block's guest address
(the second `/`-separated field inside `[...]`). The total is the sum over `Trace` lines of the
size of the block last translated at that address: exact and deterministic, unlike qemu's
timing, which says nothing about the real CPU.

Prints `instructions N blocks B unknown_blocks U` (U: executions of a block never seen
translated, which should be 0), and with `--top N` the N symbols executing the most.
"""
import argparse
import collections
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=0, help="print the N symbols with the most instructions")
    args = ap.parse_args()
    sizes = {}  # guest address -> instructions of the block translated there
    names = {}  # guest address -> symbol (with --top)
    by_symbol = collections.Counter()
    total = blocks = unknown = 0
    block = None  # [first address, instructions, symbol] while reading an IN: block
    for line in sys.stdin.buffer:
        if line.startswith(b"Trace "):
            try:
                pc = int(line[line.index(b"[") + 1 :].split(b"/")[1], 16)
            except (ValueError, IndexError):
                continue
            blocks += 1
            size = sizes.get(pc)
            if size is None:
                unknown += 1
                continue
            total += size
            if args.top:
                by_symbol[names[pc]] += size
        elif line.startswith(b"IN:"):
            block = [None, 0, line[3:].strip().decode("utf-8", "replace")]
        elif block is not None:
            if not line.strip():
                if block[0] is not None:
                    sizes[block[0]] = block[1]
                    names[block[0]] = block[2]
                block = None
            elif line.startswith(b"0x"):
                try:
                    pc = int(line.split(b":", 1)[0], 16)
                except ValueError:
                    continue
                if block[0] is None:
                    block[0] = pc
                block[1] += 1
    print(f"instructions {total} blocks {blocks} unknown_blocks {unknown}")
    for symbol, n in by_symbol.most_common(args.top):
        print(f"{n:>14} {100 * n / max(total, 1):5.1f}% {symbol}")


if __name__ == "__main__":
    main()
