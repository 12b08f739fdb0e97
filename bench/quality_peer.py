"""Peers of bench/quality_bench.cpp, on the inputs it wrote: shapely's polygon IoU (GEOS) and
scipy's linear_sum_assignment. Prints median [min-max] of the same number of runs, and the sums
so that the answers can be compared with Polymark's. Run by the bench under /usr/bin/python3."""
import statistics
import sys
import time


def timed(runs, f):
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def show(what, runs):
    print("  %-58s %9.1f ms  [%.1f-%.1f]" % (what, statistics.median(runs), min(runs), max(runs)))


def main(path):
    with open(path) as f:
        lines = f.read().split("\n")
    runs, n = int(lines[0]), int(lines[1])
    at = 2
    polys = []
    for _ in range(n):
        a = [float(v) for v in lines[at].split()]
        b = [float(v) for v in lines[at + 1].split()]
        polys.append((a, b))
        at += 2
    m = int(lines[at]); at += 1
    mats = [[float(v) for v in lines[at + i].split()] for i in range(m)]
    try:
        from shapely.geometry import Polygon
    except ImportError:
        print("  shapely: not installed (Debian python3-shapely)")
        Polygon = None
    if Polygon:
        shapes = [(Polygon(list(zip(a[0::2], a[1::2]))), Polygon(list(zip(b[0::2], b[1::2])))) for a, b in polys]
        total = [0.0]

        def ious():
            s = 0.0
            for p, q in shapes:
                i = p.intersection(q).area
                u = p.area + q.area - i
                s += i / u if u > 0 else 0.0
            total[0] = s
        show("shapely %s: the same 10,000 IoUs (polygons built beforehand)" % __import__("shapely").__version__, timed(runs, ious))
        print("  sum of IoUs %.6f" % total[0])
    try:
        import numpy as np
        from scipy.optimize import linear_sum_assignment
    except ImportError:
        print("  scipy: not installed (Debian python3-scipy)")
        return
    arrays = [np.array(row).reshape(100, 100) for row in mats]
    total = [0.0]

    def assign():
        s = 0.0
        for c in arrays:
            r, k = linear_sum_assignment(c)
            s += float(c[r, k].sum())
        total[0] = s
    show("scipy %s linear_sum_assignment: the same 100 assignments" % __import__("scipy").__version__, timed(runs, assign))
    print("  sum of optimal costs %.6f" % total[0])


if __name__ == "__main__":
    main(sys.argv[1])
