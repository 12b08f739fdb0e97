#!/usr/bin/python3
"""Tables from the "RESULT {json}" lines the tracking runners print.

    /usr/bin/python3 bench/tracking/summarise.py [--groups FILE] OUTPUT_FILE...

--groups FILE: lines "GROUP NAME" (run_all.sh writes them: `real` and `synthetic`); each group gets
its own tables, in the order the file names them. Without it, every sequence is in one group.
Per group: success AUC, precision at 20 px and CPU fps per sequence and tracker, then per tracker
the averages over the group's sequences it ran. Then the 100x100 speed lines and the targets
(issue 20), which the real group is judged by.
"""
import argparse
import json

ORDER = ["polymark-wasm", "polymark", "opencv-KCF", "opencv-CSRT", "opencv-MIL", "opencv-MOSSE", "opencvjs-MIL"]
SPEED = ("polymark-100x100", "polymark-wasm-100x100")


def read_results(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            for line in f:
                if line.startswith("RESULT "):
                    rows.append(json.loads(line[7:]))
    return rows


def read_groups(path):
    groups = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                groups.setdefault(parts[0], []).append(parts[1])
    return groups


def averages(rs):
    a = {k: sum(r.get(k, 0) for r in rs) / len(rs)
         for k in ("fps", "cpu_fps", "mean_iou", "auc", "precision20", "first_loss", "frames")}
    a["absent"] = sum(r.get("absent", 0) for r in rs)
    a["absent_boxed"] = sum(r.get("absent_boxed", 0) for r in rs)
    polys = [r["poly_iou"] for r in rs if "poly_iou" in r]
    a["poly_iou"] = sum(polys) / len(polys) if polys else None  # over the sequences with polygons
    a["seqs"] = len(rs)
    return a


def per_sequence(title, key, fmt, seqs, trackers, by, best=max):
    print(title)
    print("%-20s" % "sequence" + "".join("%15s" % t for t in trackers))
    for s in seqs:
        vals = [by.get((t, s), {}).get(key) for t in trackers]
        known = [v for v in vals if v is not None]
        top = best(known) if known and best else None
        print("%-20s" % s + "".join(((fmt % v) + ("*" if v == top else " ")) if v is not None else "%15s" % "-"
                                    for v in vals))
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", default="")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    rows = read_results(a.files)
    trackers = [t for t in ORDER if any(r["tracker"] == t for r in rows)]
    trackers += sorted({r["tracker"] for r in rows} - set(trackers) - set(SPEED))
    seqs = []
    for r in rows:
        if r["sequence"] not in seqs and r["tracker"] not in SPEED:
            seqs.append(r["sequence"])
    groups = read_groups(a.groups) if a.groups else {"all": seqs}
    named = {s for g in groups.values() for s in g}
    if any(s not in named for s in seqs):
        groups["other"] = [s for s in seqs if s not in named]
    by = {(r["tracker"], r["sequence"]): r for r in rows if r["tracker"] not in SPEED}

    avg = {}
    for g, members in groups.items():
        members = [s for s in members if s in seqs]
        if not members:
            continue
        print("=" * 20, "%s: %d sequences" % (g, len(members)), "=" * 20)
        per_sequence("Success AUC (OTB, 21 thresholds) per sequence; * = best", "auc", "%14.3f", members, trackers, by)
        per_sequence("Precision at 20 px (centre within 20 px) per sequence; * = best", "precision20", "%14.3f", members,
                     trackers, by)
        per_sequence("CPU fps (update() only) per sequence", "cpu_fps", "%14.1f", members, trackers, by, best=None)
        print("Averages over the %s sequences each ran (absent: frames without the target where the tracker still "
              "reported it / such frames)" % g)
        print("%-15s %5s %7s %9s %9s %8s %8s %8s %11s %9s %8s" % ("tracker", "seqs", "frames", "fps", "cpu_fps", "meanIoU",
                                                               "AUC", "prec20", "first_loss", "absent", "polyIoU"))
        for t in trackers:
            rs = [by[(t, s)] for s in members if (t, s) in by]
            if not rs:
                continue
            v = avg[(g, t)] = averages(rs)
            print("%-15s %5d %7.0f %9.1f %9.1f %8.3f %8.3f %8.3f %11.1f %9s %8s" % (
                t, v["seqs"], v["frames"], v["fps"], v["cpu_fps"], v["mean_iou"], v["auc"], v["precision20"],
                v["first_loss"], "%d/%d" % (v["absent_boxed"], v["absent"]),
                "%.3f" % v["poly_iou"] if v["poly_iou"] is not None else "-"))
        print()

    speed = {}
    for t in SPEED:
        rs = [r for r in rows if r["tracker"] == t]
        if rs:
            speed[t] = rs[0]
            print("%-22s on %s: %.1f CPU fps, %.1f wall fps" % (t, rs[0]["sequence"], rs[0]["cpu_fps"], rs[0]["fps"]))
    if speed:
        print()

    print("Targets (issue 20)")

    def line(what, ok, detail):
        print("  [%s] %s: %s" % ("met" if ok else "MISSED", what, detail))

    ours_name = "polymark-wasm" if any(r["tracker"] == "polymark-wasm" for r in rows) else "polymark"
    for g in groups:
        ours, csrt = avg.get((g, ours_name)), avg.get((g, "opencv-CSRT"))
        if not ours or not csrt:
            continue
        line("%s: mean AUC >= OpenCV CSRT's" % g, ours["auc"] >= csrt["auc"],
             "%s %.3f vs %.3f" % (ours_name, ours["auc"], csrt["auc"]))
        below = [s for s in groups[g] if (ours_name, s) in by and ("opencv-CSRT", s) in by
                 and by[(ours_name, s)]["auc"] < 0.5 < by[("opencv-CSRT", s)]["auc"]]
        line("%s: no sequence below 0.5 AUC where CSRT is above 0.5" % g, not below,
             ", ".join("%s %.3f vs %.3f" % (s, by[(ours_name, s)]["auc"], by[("opencv-CSRT", s)]["auc"]) for s in below)
             or "none")
    # Speed against OpenCV.js MIL on the sequences both ran (MIL may have run on fewer frames of each).
    both = [s for s in seqs if (ours_name, s) in by and ("opencvjs-MIL", s) in by]
    if both:
        o = sum(by[(ours_name, s)]["cpu_fps"] for s in both) / len(both)
        m = sum(by[("opencvjs-MIL", s)]["cpu_fps"] for s in both) / len(both)
        ow = sum(by[(ours_name, s)]["fps"] for s in both) / len(both)
        mw = sum(by[("opencvjs-MIL", s)]["fps"] for s in both) / len(both)
        line("%s fps >= 10x OpenCV.js MIL (%d sequences)" % (ours_name, len(both)), o >= 10 * m,
             "%.1f vs %.1f CPU fps (x%.1f); wall %.1f vs %.1f" % (o, m, o / m if m else float("inf"), ow, mw))
    sp = speed.get("polymark-wasm-100x100") or speed.get("polymark-100x100")
    if sp:
        line(">= 300 fps, 100x100 target, 1280x720, one thread (%s)" % ("wasm" if "polymark-wasm-100x100" in speed else "native"),
             sp["cpu_fps"] >= 300, "%.1f CPU fps, %.1f wall fps" % (sp["cpu_fps"], sp["fps"]))
    else:
        print("  [not measured] >= 300 fps, 100x100 target: no speed line (the translation sequence was not run)")


if __name__ == "__main__":
    main()
