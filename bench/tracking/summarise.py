#!/usr/bin/python3
"""One table from the "RESULT {json}" lines the tracking runners print.

    /usr/bin/python3 bench/tracking/summarise.py OUTPUT_FILE...

Prints success AUC per sequence and tracker, then per tracker the averages over the sequences it
ran (fps, CPU fps, mean IoU, AUC, frames until the first loss, polygon IoU), then the targets.
"""
import json
import sys

ORDER = ["polymark-wasm", "polymark", "opencv-KCF", "opencv-CSRT", "opencv-MIL", "opencv-MOSSE", "opencvjs-MIL"]


def main():
    rows = []
    for path in sys.argv[1:]:
        with open(path) as f:
            for line in f:
                if line.startswith("RESULT "):
                    rows.append(json.loads(line[7:]))
    trackers = [t for t in ORDER if any(r["tracker"] == t for r in rows)]
    trackers += sorted({r["tracker"] for r in rows} - set(trackers) - {"polymark-100x100", "polymark-wasm-100x100"})
    seqs = []
    for r in rows:
        if r["sequence"] not in seqs and not r["tracker"].endswith("100x100"):
            seqs.append(r["sequence"])
    by = {(r["tracker"], r["sequence"]): r for r in rows}

    print("Success AUC (OTB, 21 thresholds) per sequence; * = best")
    print("%-20s" % "sequence" + "".join("%15s" % t for t in trackers))
    for s in seqs:
        vals = [by.get((t, s), {}).get("auc") for t in trackers]
        best = max(v for v in vals if v is not None)
        print("%-20s" % s + "".join(("%14.3f%s" % (v, "*" if v == best else " ")) if v is not None else "%15s" % "-"
                                    for v in vals))
    print()
    print("Averages over the sequences each ran")
    print("%-15s %5s %7s %9s %9s %8s %8s %11s %8s" % ("tracker", "seqs", "frames", "fps", "cpu_fps", "meanIoU", "AUC",
                                                    "first_loss", "polyIoU"))
    avg = {}
    for t in trackers + [x for x in ("polymark-100x100", "polymark-wasm-100x100") if any(r["tracker"] == x for r in rows)]:
        rs = [r for r in rows if r["tracker"] == t]
        a = {k: sum(r.get(k, 0) for r in rs) / len(rs) for k in ("fps", "cpu_fps", "mean_iou", "auc", "first_loss", "frames")}
        a["poly_iou"] = sum(r["poly_iou"] for r in rs) / len(rs) if all("poly_iou" in r for r in rs) else None
        avg[t] = a
        print("%-15s %5d %7.0f %9.1f %9.1f %8.3f %8.3f %11.1f %8s" % (t, len(rs), a["frames"], a["fps"], a["cpu_fps"], a["mean_iou"],
                                                                     a["auc"], a["first_loss"],
                                                                     "%.3f" % a["poly_iou"] if a["poly_iou"] is not None else "-"))
    print()
    print("Targets")
    ours = avg.get("polymark-wasm") or avg.get("polymark")

    def line(what, ok, detail):
        print("  [%s] %s: %s" % ("met" if ok else "MISSED", what, detail))

    if ours and "opencvjs-MIL" in avg:
        mil = avg["opencvjs-MIL"]
        # On the sequences both ran (MIL in wasm may have run on fewer frames).
        line("wasm fps >= 10x OpenCV.js MIL", ours["cpu_fps"] >= 10 * mil["cpu_fps"],
             "%.1f vs %.1f CPU fps (x%.1f); wall %.1f vs %.1f" % (ours["cpu_fps"], mil["cpu_fps"], ours["cpu_fps"] / mil["cpu_fps"],
                                                                 ours["fps"], mil["fps"]))
    sp = avg.get("polymark-wasm-100x100") or avg.get("polymark-100x100")
    if sp:
        line(">= 300 fps, 100x100 target, 1280x720, one thread (wasm)" if "polymark-wasm-100x100" in avg else ">= 300 fps, 100x100 target (native)",
             sp["cpu_fps"] >= 300, "%.1f CPU fps, %.1f wall fps" % (sp["cpu_fps"], sp["fps"]))
    if ours and "opencv-KCF" in avg:
        line("AUC >= OpenCV KCF", ours["auc"] >= avg["opencv-KCF"]["auc"], "%.3f vs %.3f" % (ours["auc"], avg["opencv-KCF"]["auc"]))
    if ours and "opencv-CSRT" in avg:
        line("AUC within 0.05 of CSRT", ours["auc"] >= avg["opencv-CSRT"]["auc"] - 0.05,
             "%.3f vs %.3f" % (ours["auc"], avg["opencv-CSRT"]["auc"]))


if __name__ == "__main__":
    main()
