// The quality report: one self-contained HTML file (inline SVG and CSS, no script, nothing
// fetched) with the summary table, a per-layer SQNR bar chart, per task the error
// Δ = int8 − float against the float score and the histogram of |Δ| (mean, p99 and max
// marked) on a scale chosen from the data, and the gates' mean weight per expert and task as a
// heatmap. The markup is well-formed XML (XHTML), so a checker can parse it strictly.
#pragma once

#include <string>
#include <vector>

#include "mmoe/converter/evaluate.h"

namespace mmoe::cli {

struct ReportInput {
  std::string title;               // e.g. "mmoe eval: model.mmoe"
  std::string source;              // what was measured, e.g. "1,767 rows of eval.npy"
  std::vector<std::string> notes;  // extra lines under the title (e.g. the conversion's options)
  const converter::EvalResult* result = nullptr;
};

std::string RenderReport(const ReportInput& in);
// RenderReport written atomically to `path`.
void WriteReport(const std::string& path, const ReportInput& in);

}  // namespace mmoe::cli
