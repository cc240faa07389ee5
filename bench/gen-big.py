#!/usr/bin/env python3
"""Write a large MV_T302_V002 logger file for benchmarks.

    python3 bench/gen-big.py --rows 50000 --out /tmp/big.tsv

R rows x 30 channels: master 02001171 (tri: Ph 1-3 V, Voie1-3 W) and slaves
04000466, 04000477, 04001293, 04001344 (Voie1-6 W each). Rows every 10 minutes
from 01/01/24 00:00:00, the naive wall-clock time simply stepped (so the
spring-forward hour, e.g. 31/03/24 02:00-02:50 in Europe/Paris, is written and
the parser counts those rows as invalid timestamps). Values have 1 or 2
decimals. Deterministic (fixed seed), Python 3 standard library only.
"""

import argparse
import datetime as dt
import random
import sys

MASTER = "02001171"
SLAVES = ("04000466", "04000477", "04001293", "04001344")


def columns():
    serials, labels = [], []
    for i in (1, 2, 3):
        serials.append(MASTER)
        labels.append("Ph %d V" % i)
    for i in (1, 2, 3):
        serials.append(MASTER)
        labels.append("Voie%d W" % i)
    for sn in SLAVES:
        for i in range(1, 7):
            serials.append(sn)
            labels.append("Voie%d W" % i)
    return serials, labels


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--rows", type=int, default=50000, help="number of data rows (default 50000)")
    ap.add_argument("--out", default="-", help="output file (default: standard output)")
    ap.add_argument("--seed", type=int, default=20240101, help="random seed (default 20240101)")
    args = ap.parse_args()
    if args.rows < 0:
        ap.error("--rows must be >= 0")

    rng = random.Random(args.seed)
    serials, labels = columns()
    # Per channel: (kind, level, step). kind "v": voltage, 2 decimals; "w": power, 1 decimal.
    chans = [("v", 242.0 + rng.uniform(-1.0, 1.0), 0.15) for _ in range(3)]
    for _ in range(len(serials) - 3):
        kind = rng.choice(("idle", "idle", "small", "small", "load", "load", "big"))
        if kind == "idle":
            chans.append(("w", 0.0, 0.05))
        elif kind == "small":
            chans.append(("w", rng.uniform(-8.0, 40.0), 0.3))
        elif kind == "load":
            chans.append(("w", rng.uniform(50.0, 2500.0), 25.0))
        else:
            chans.append(("w", rng.uniform(-25000.0, 25000.0), 150.0))
    centers = [c[1] for c in chans]
    levels = list(centers)
    lo = [230.5 if c[0] == "v" else -1e9 for c in chans]
    hi = [250.0 if c[0] == "v" else 1e9 for c in chans]
    steps = [c[2] for c in chans]
    fmts = ["%.2f" if c[0] == "v" else "%.1f" for c in chans]
    idx = range(len(chans))
    gauss = rng.gauss

    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8", newline="")
    try:
        write = out.write
        write("\t".join([MASTER] + serials) + "\n")
        write("\t".join(["MV_T302_V002"] + labels) + "\n")
        t = dt.datetime(2024, 1, 1, 0, 0, 0)
        step = dt.timedelta(minutes=10)
        buf = []
        gap_rows = 0
        for _ in range(args.rows):
            # Europe/Paris spring-forward gap: last Sunday of March, 02:00-02:59.
            if t.month == 3 and t.hour == 2 and t.day >= 25 and t.weekday() == 6:
                gap_rows += 1
            cells = [t.strftime("%d/%m/%y %H:%M:%S")]
            for i in idx:
                lv = levels[i]
                v = lv + 0.05 * (centers[i] - lv) + steps[i] * gauss(0.0, 1.0)
                v = lo[i] if v < lo[i] else hi[i] if v > hi[i] else v
                levels[i] = v
                cells.append(fmts[i] % v)
            buf.append("\t".join(cells))
            if len(buf) >= 2048:
                write("\n".join(buf) + "\n")
                buf = []
            t += step
        if buf:
            write("\n".join(buf) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    print("gen-big: %d rows x %d channels = %d cells (%s); %d rows in the Europe/Paris "
          "spring-forward gap; expected_points=%d" % (
              args.rows, len(serials), args.rows * len(serials), args.out, gap_rows,
              (args.rows - gap_rows) * len(serials)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
