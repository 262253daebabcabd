#include "eval_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "mmoe/converter/io.h"

namespace mmoe::cli {
namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string Text(double x, double y, const std::string& s, const char* anchor = "start",
                 const char* extra = "") {
  return "<text x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.1f", y) + "\" text-anchor=\"" + anchor + "\" " +
         extra + ">" + Escape(s) + "</text>\n";
}

std::string Cell(double v, const char* format) {
  return "<td>" + (std::isfinite(v) ? Fmt(format, v) : std::string()) + "</td>";
}

std::string SummaryTable(const converter::EvalResult& r) {
  bool classification = false, regression = false;
  for (const converter::TaskEval& e : r.task_evals) {
    classification = classification || (e.has_labels && !e.regression);
    regression = regression || (e.has_labels && e.regression);
  }
  const double none = std::nan("");
  std::string h = "<table>\n<tr><th>task</th>";
  if (classification) {
    h += "<th>AUC float</th><th>AUC int8</th><th>&#916;AUC</th><th>log loss float</th><th>log loss int8</th>";
  }
  if (regression) {
    h += "<th>RMSE float</th><th>RMSE int8</th><th>MAE float</th><th>MAE int8</th><th>Spearman with labels, "
         "float</th><th>int8</th>";
  }
  h += "<th>max |&#916;|</th><th>mean |&#916;|</th><th>p99 |&#916;|</th><th>Spearman</th><th>flipped "
       "pairs</th></tr>\n";
  for (size_t t = 0; t < r.tasks.size(); ++t) {
    const converter::TaskEval& e = r.task_evals[t];
    const bool c = e.has_labels && !e.regression, g = e.has_labels && e.regression;
    h += "<tr><td>" + Escape(r.tasks[t]) + "</td>";
    if (classification) {
      h += Cell(c ? e.auc_float : none, "%.5f") + Cell(c ? e.auc_int8 : none, "%.5f") +
           Cell(c ? e.auc_int8 - e.auc_float : none, "%+.5f") + Cell(c ? e.logloss_float : none, "%.5f") +
           Cell(c ? e.logloss_int8 : none, "%.5f");
    }
    if (regression) {
      h += Cell(g ? e.rmse_float : none, "%.5g") + Cell(g ? e.rmse_int8 : none, "%.5g") +
           Cell(g ? e.mae_float : none, "%.5g") + Cell(g ? e.mae_int8 : none, "%.5g") +
           Cell(g ? e.spearman_float : none, "%.5f") + Cell(g ? e.spearman_int8 : none, "%.5f");
    }
    h += "<td>" + Fmt("%.5f", e.agreement.max_abs) + "</td><td>" + Fmt("%.5f", e.agreement.mean_abs) +
         "</td><td>" + Fmt("%.5f", e.agreement.p99_abs) + "</td><td>" + Fmt("%.6f", e.agreement.spearman) +
         "</td><td>" + Fmt("%.2e", e.flipped_pairs) + "</td></tr>\n";
  }
  return h + "</table>\n";
}

// Horizontal bars, one per layer; an exact layer (no noise) gets a full bar marked "exact".
std::string SqnrChart(const converter::EvalResult& r) {
  const double row = 18, left = 190, width = 420, top = 24;
  double max_db = 10.0;
  for (const auto& l : r.layers)
    if (std::isfinite(l.sqnr_db())) max_db = std::max(max_db, l.sqnr_db());
  max_db = std::ceil(max_db / 10.0) * 10.0;
  const double height = top + row * static_cast<double>(r.layers.size()) + 24;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Fmt("%.0f", left + width + 70) +
                  "\" height=\"" + Fmt("%.0f", height) + "\" class=\"chart\" id=\"sqnr\">\n";
  for (int tick = 0; tick <= static_cast<int>(max_db); tick += 10) {
    const double x = left + width * tick / max_db;
    s += "<line x1=\"" + Fmt("%.1f", x) + "\" y1=\"" + Fmt("%.1f", top - 4) + "\" x2=\"" + Fmt("%.1f", x) +
         "\" y2=\"" + Fmt("%.1f", height - 20) + "\" stroke=\"#ddd\"/>\n";
    s += Text(x, height - 6, std::to_string(tick) + " dB", "middle", "class=\"tick\"");
  }
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const double db = r.layers[i].sqnr_db();
    const double y = top + row * static_cast<double>(i);
    const bool exact = std::isinf(db) && db > 0;
    const double w = exact ? width : std::clamp(db, 0.0, max_db) / max_db * width;
    // Colour by quality: under 20 dB red, under 30 dB amber, else blue.
    const char* colour = exact ? "#7a9cc6" : db < 20 ? "#d9534f" : db < 30 ? "#f0ad4e" : "#3465a4";
    s += Text(left - 6, y + 12, r.layers[i].name, "end");
    s += "<rect x=\"" + Fmt("%.1f", left) + "\" y=\"" + Fmt("%.1f", y + 2) + "\" width=\"" + Fmt("%.1f", w) +
         "\" height=\"" + Fmt("%.1f", row - 4) + "\" fill=\"" + colour + "\"/>\n";
    s += Text(left + w + 4, y + 12, exact ? "exact" : Fmt("%.1f", db));
  }
  return s + "</svg>\n";
}

// Float score on x, int8 score on y, with the diagonal.
std::string Scatter(const converter::EvalResult& r, size_t t) {
  const double size = 260, pad = 36;
  const converter::Matrix& f = r.float_sample;
  const converter::Matrix& q = r.int8_sample;
  double lo = 0.0, hi = 1.0;
  for (int64_t i = 0; i < f.rows; ++i) {
    for (float v : {f.row(i)[t], q.row(i)[t]}) lo = std::min<double>(lo, v), hi = std::max<double>(hi, v);
  }
  const auto px = [&](double v) { return pad + (v - lo) / (hi - lo) * size; };
  const auto py = [&](double v) { return pad + size - (v - lo) / (hi - lo) * size; };
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Fmt("%.0f", size + 2 * pad) +
                  "\" height=\"" + Fmt("%.0f", size + 2 * pad) + "\" class=\"chart scatter\">\n";
  s += "<rect x=\"" + Fmt("%.1f", pad) + "\" y=\"" + Fmt("%.1f", pad) + "\" width=\"" + Fmt("%.0f", size) +
       "\" height=\"" + Fmt("%.0f", size) + "\" fill=\"#fafafa\" stroke=\"#999\"/>\n";
  s += "<line x1=\"" + Fmt("%.1f", px(lo)) + "\" y1=\"" + Fmt("%.1f", py(lo)) + "\" x2=\"" +
       Fmt("%.1f", px(hi)) + "\" y2=\"" + Fmt("%.1f", py(hi)) + "\" stroke=\"#bbb\"/>\n";
  s += "<g fill=\"#3465a4\" fill-opacity=\"0.45\">\n";
  for (int64_t i = 0; i < f.rows; ++i) {
    s += "<circle cx=\"" + Fmt("%.1f", px(f.row(i)[t])) + "\" cy=\"" + Fmt("%.1f", py(q.row(i)[t])) +
         "\" r=\"1.8\"/>\n";
  }
  s += "</g>\n";
  s += Text(pad + size / 2, 20, r.tasks[t], "middle", "font-weight=\"bold\"");
  s += Text(pad + size / 2, pad + size + 26, "float score", "middle");
  s += Text(12, pad + size / 2, "int8 score", "middle",
            ("transform=\"rotate(-90 12 " + Fmt("%.1f", pad + size / 2) + ")\"").c_str());
  s += Text(pad, pad + size + 14, Fmt("%.2g", lo), "middle", "class=\"tick\"");
  s += Text(pad + size, pad + size + 14, Fmt("%.2g", hi), "middle", "class=\"tick\"");
  return s + "</svg>\n";
}

// Rows: gated mixtures; columns: the tensors they mix (e0, e1, ... named below); darker is a
// larger mean gate weight; blank where a mixture does not mix that tensor.
std::string Heatmap(const converter::EvalResult& r) {
  std::vector<std::string> experts;
  for (const converter::MixtureUse& m : r.mixtures) {
    for (const std::string& e : m.experts) {
      if (std::find(experts.begin(), experts.end(), e) == experts.end()) experts.push_back(e);
    }
  }
  const double cell = 56, left = 200, top = 30;
  const double legend = 16 * static_cast<double>(experts.size());
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                  Fmt("%.0f", std::max(left + cell * static_cast<double>(experts.size()) + 20, 520.0)) +
                  "\" height=\"" +
                  Fmt("%.0f", top + cell * static_cast<double>(r.mixtures.size()) + 20 + legend) +
                  "\" class=\"chart\" id=\"gates\">\n";
  for (size_t e = 0; e < experts.size(); ++e) {
    s += Text(left + cell * (static_cast<double>(e) + 0.5), top - 8, "e" + std::to_string(e), "middle");
    s += Text(left, top + cell * static_cast<double>(r.mixtures.size()) + 20 + 16 * static_cast<double>(e),
              "e" + std::to_string(e) + ": " + experts[e]);
  }
  for (size_t t = 0; t < r.mixtures.size(); ++t) {
    const converter::MixtureUse& m = r.mixtures[t];
    const double y = top + cell * static_cast<double>(t);
    s += Text(left - 8, y + cell / 2 + 4, m.name, "end");
    for (size_t j = 0; j < m.experts.size(); ++j) {
      const size_t e =
          static_cast<size_t>(std::find(experts.begin(), experts.end(), m.experts[j]) - experts.begin());
      const double w = std::clamp(m.mean_weight[j], 0.0, 1.0);
      // White (0) to dark blue (1).
      const int red = static_cast<int>(255 - 203 * w), green = static_cast<int>(255 - 154 * w),
                blue = static_cast<int>(255 - 91 * w);
      char fill[16];
      std::snprintf(fill, sizeof(fill), "#%02x%02x%02x", red, green, blue);
      const double x = left + cell * static_cast<double>(e);
      s += "<rect x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.1f", y) + "\" width=\"" +
           Fmt("%.0f", cell - 2) + "\" height=\"" + Fmt("%.0f", cell - 2) + "\" fill=\"" + fill +
           "\" stroke=\"#ccc\"/>\n";
      s += Text(x + cell / 2 - 1, y + cell / 2 + 4, Fmt("%.2f", w), "middle",
                w > 0.55 ? "fill=\"#fff\"" : "fill=\"#222\"");
    }
  }
  return s + "</svg>\n";
}

}  // namespace

std::string RenderReport(const ReportInput& in) {
  const converter::EvalResult& r = *in.result;
  std::string h =
      "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta "
      "charset=\"utf-8\"/>\n"
      "<title>" +
      Escape(in.title) +
      "</title>\n"
      "<style>\n"
      "body { font-family: sans-serif; margin: 24px; color: #222; background: #fff; }\n"
      "table { border-collapse: collapse; margin: 8px 0 20px; }\n"
      "th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; font-size: 13px; }\n"
      "th { background: #eef2f7; } td:first-child { text-align: left; }\n"
      "svg.chart { font-size: 12px; margin: 4px 12px 16px 0; } .tick { fill: #666; font-size: 10px; }\n"
      "p.note { color: #555; margin: 2px 0; }\n"
      "</style>\n</head>\n<body>\n";
  h += "<h1>" + Escape(in.title) + "</h1>\n<p class=\"note\">" + Escape(in.source) + "</p>\n";
  for (const std::string& n : in.notes) h += "<p class=\"note\">" + Escape(n) + "</p>\n";
  if (r.simulation_mismatches != 0) {
    h +=
        "<p class=\"note\"><b>warning:</b> " + std::to_string(r.simulation_mismatches) +
        " scores of the default backend differ from the reference executor's; the per-tensor figures may not "
        "describe the backend in use.</p>\n";
  }
  h += "<h2>Summary: int8 against float, per task</h2>\n" + SummaryTable(r);
  h += "<h2>Signal-to-quantization-noise ratio per tensor</h2>\n" + SqnrChart(r);
  h += "<h2>Float against int8 scores (" + std::to_string(r.float_sample.rows) + " rows)</h2>\n<div>\n";
  for (size_t t = 0; t < r.tasks.size(); ++t) h += Scatter(r, t);
  h += "</div>\n";
  if (!r.mixtures.empty()) h += "<h2>Mean gate weight per mixed tensor</h2>\n" + Heatmap(r);
  return h + "</body>\n</html>\n";
}

void WriteReport(const std::string& path, const ReportInput& in) {
  const std::string html = RenderReport(in);
  converter::WriteFileAtomic(path, html.data(), html.size());
}

}  // namespace mmoe::cli
