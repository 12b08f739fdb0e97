// The quality measures as one call, JSON in and JSON out: what the client's quality module
// (polymark_quality.wasm, loaded by the manager view on first use) and tests call. Every report
// is the core's (docs/QUALITY.md); the call only reads its inputs and picks the options.
//
//   {"op":"golden", "gt": doc, "job": doc, "frames": [..]?, "threshold"?, "sigma"?, "band"?,
//    "labelers": [{"name", "frames": [..]}]?}
//        -> {"report": quality-report, "labelers": [{"name", "frames", "report"}]}
//   {"op":"consensus", "sets": [doc, ...], "names": [..]?, "frames"?, "quorum"?, "threshold"?, ...}
//        -> {"report": consensus-report, "merged": doc}
//   {"op":"throughput", "history": history reply, "review": review reply or [decision]?, "document"?}
//        -> {"report": throughput-report}
//   {"op":"prelabels", "history": history reply, "document": doc, "band_width"?}
//        -> {"report": prelabel-report}
//
// Anything wrong answers {"errors": [{"code", "path", "message"}]}, `path` a JSON Pointer into
// the call ("/sets/1/objects/3/points", "/threshold").
#pragma once
#include "polymark/document.hpp"
#include "polymark/error.hpp"
#include "polymark/review.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace pm {

Json quality_call(const Json& call);
std::string quality_call_text(std::string_view call);

// The decisions of a review reply ({"changes": [{"kind": "decision", "value": ...}]}, oldest
// first) or of a plain array of decision values; errors carry `path` under `at`.
Expected<std::vector<Decision>> decisions_from_json(const Json& j, const std::string& at = "");

}  // namespace pm
