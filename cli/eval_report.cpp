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

// ---- Per-task error charts ------------------------------------------------------------
// A float-vs-int8 scatter is a diagonal at any accuracy a converter reaches, so the report
// plots the difference itself, on a scale taken from the data and printed with the chart.

const char* const kPointBlue = "#3465a4";  // points and bars; check_report.py looks for it
const char* const kMeanColour = "#2e7d32";
const char* const kP99Colour = "#e08a00";
const char* const kMaxColour = "#c62828";

// [lo, hi] with a tick every `step`; lo and hi are multiples of step.
struct Axis {
  double lo = 0.0, hi = 1.0, step = 0.2;
  // From integer multiples, so that labels print as 0.03 and not 0.030000000000000002.
  std::vector<double> Ticks() const {
    std::vector<double> t;
    for (long k = std::lround(lo / step); k <= std::lround(hi / step); ++k) t.push_back(k * step);
    return t;
  }
  double Fraction(double v) const { return (std::clamp(v, lo, hi) - lo) / (hi - lo); }
};

// The smallest 1, 2 or 5 times a power of ten that divides `span` into at most `ticks` steps:
// round tick labels whatever the magnitude.
double NiceStep(double span, double ticks) {
  const double raw = span / ticks;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * power >= raw * (1 - 1e-9)) return m * power;
  }
  return 10.0 * power;
}

// [-s, s], s the largest |Δ| rounded up to a whole 1-2-5 step: a model with twice the error
// gets an axis twice as long, so the printed scale is what tells two reports apart.
Axis SymmetricAxis(double max_abs) {
  if (!(max_abs > 0.0) || !std::isfinite(max_abs)) max_abs = 1e-3;  // int8 equal to float
  Axis a;
  a.step = NiceStep(max_abs, 5);
  a.hi = std::ceil(max_abs / a.step * (1 - 1e-9)) * a.step;
  a.lo = -a.hi;
  return a;
}

// Probabilities get [0, 1]; other scores (logits, regressions) their range rounded outwards.
Axis RangeAxis(double lo, double hi) {
  if (lo >= 0.0 && hi <= 1.0) return Axis{};
  if (!(hi > lo)) lo -= 1.0, hi += 1.0;
  Axis a;
  a.step = NiceStep(hi - lo, 5);
  a.lo = std::floor(lo / a.step) * a.step;
  a.hi = std::ceil(hi / a.step) * a.step;
  return a;
}

// Ticks are whole multiples of their step, so the zero tick is exactly 0 (printed without a sign).
std::string TickLabel(double v, bool with_sign) {
  if (v == 0.0) return "0";
  return Fmt(with_sign ? "%+g" : "%g", v);
}

std::string Line(double x1, double y1, double x2, double y2, const std::string& attributes) {
  return "<line x1=\"" + Fmt("%.1f", x1) + "\" y1=\"" + Fmt("%.1f", y1) + "\" x2=\"" + Fmt("%.1f", x2) +
         "\" y2=\"" + Fmt("%.1f", y2) + "\" " + attributes + "/>\n";
}

// Both charts of a task share one layout, so that they line up side by side: two header lines
// (title, scale), the plot, tick labels, the axis label and a legend row.
struct Frame {
  static constexpr double kWidth = 450, kHeight = 330;
  double left = 58, top = 48, width = 376, height = 216;
  double X(const Axis& a, double v) const { return left + a.Fraction(v) * width; }
  double Y(const Axis& a, double v) const { return top + height - a.Fraction(v) * height; }
  double bottom() const { return top + height; }
  double legend_y() const { return bottom() + 56; }
};

// The SVG element, plot background, title, scale line and both axis labels.
std::string ChartStart(const Frame& f, const char* kind, const std::string& title, const std::string& scale,
                       const std::string& x_label, const std::string& y_label) {
  const double mid_y = f.top + f.height / 2;
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Fmt("%.0f", Frame::kWidth) +
                  "\" height=\"" + Fmt("%.0f", Frame::kHeight) + "\" class=\"chart " + kind + "\">\n";
  s += "<rect x=\"" + Fmt("%.1f", f.left) + "\" y=\"" + Fmt("%.1f", f.top) + "\" width=\"" +
       Fmt("%.0f", f.width) + "\" height=\"" + Fmt("%.0f", f.height) +
       "\" fill=\"#fafafa\" stroke=\"#999\"/>\n";
  s += Text(f.left, 16, title, "start", "font-weight=\"bold\"");
  s += Text(f.left, 34, scale, "start", "class=\"scale\"");
  s += Text(f.left + f.width / 2, f.bottom() + 32, x_label, "middle");
  s +=
      Text(14, mid_y, y_label, "middle", ("transform=\"rotate(-90 14 " + Fmt("%.1f", mid_y) + ")\"").c_str());
  return s;
}

std::string XTick(const Frame& f, double x, const std::string& label) {
  return Line(x, f.top, x, f.bottom() + 3, "stroke=\"#e4e4e4\"") +
         Text(x, f.bottom() + 14, label, "middle", "class=\"tick x\"");
}

std::string YTick(const Frame& f, double y, const std::string& label) {
  return Line(f.left - 3, y, f.left + f.width, y, "stroke=\"#e4e4e4\"") +
         Text(f.left - 5, y + 3.5, label, "end", "class=\"tick y\"");
}

// One legend entry at x: a short line in the marker's colour and dash, then the text.
std::string LegendEntry(const Frame& f, double x, const char* colour, const char* dash,
                        const std::string& text) {
  const double y = f.legend_y();
  return Line(x, y - 4, x + 16, y - 4,
              std::string("stroke=\"") + colour + "\" stroke-width=\"2\" stroke-dasharray=\"" + dash + "\"") +
         Text(x + 20, y, text);
}

// int8 − float of sampled row i, task t.
double Delta(const converter::EvalResult& r, int64_t i, size_t t) {
  return static_cast<double>(r.int8_sample.row(i)[t]) - r.float_sample.row(i)[t];
}

// The Δ scale of task t: every sampled row and the largest |Δ| over all rows fit on it.
Axis DeltaAxis(const converter::EvalResult& r, size_t t) {
  double max_abs = r.task_evals[t].agreement.max_abs;
  for (int64_t i = 0; i < r.float_sample.rows; ++i) {
    if (std::isfinite(Delta(r, i, t))) max_abs = std::max(max_abs, std::fabs(Delta(r, i, t)));
  }
  return SymmetricAxis(max_abs);
}

Axis ScoreAxis(const converter::EvalResult& r, size_t t) {
  if (r.float_sample.rows == 0) return Axis{};
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < r.float_sample.rows; ++i) {
    lo = std::min<double>(lo, r.float_sample.row(i)[t]);
    hi = std::max<double>(hi, r.float_sample.row(i)[t]);
  }
  return RangeAxis(lo, hi);
}

// The printed scale, e.g. "y scale ±0.03, ticks every 0.01".
std::string ScaleText(const std::string& range, const Axis& a) {
  return range + ", ticks every " + TickLabel(a.step, false);
}

// Δ = int8 − float (y, symmetric around the zero line) against the float score (x), one point
// per sampled row (at most EvalOptions::sample_rows, as before); dashed: ±p99 |Δ| of all rows.
std::string DeltaScatter(const converter::EvalResult& r, size_t t, const Axis& dy) {
  const Axis dx = ScoreAxis(r, t);
  const Frame fr;
  std::string s = ChartStart(fr, "delta-scatter", r.tasks[t] + ": \u0394 = int8 \u2212 float, per row",
                             ScaleText("y scale \u00b1" + TickLabel(dy.hi, false), dy), "float score",
                             "\u0394 = int8 \u2212 float");
  for (double v : dx.Ticks()) s += XTick(fr, fr.X(dx, v), TickLabel(v, false));
  for (double v : dy.Ticks()) s += YTick(fr, fr.Y(dy, v), TickLabel(v, true));
  s += Line(fr.left, fr.Y(dy, 0), fr.left + fr.width, fr.Y(dy, 0), "class=\"zero\" stroke=\"#555\"");
  const double p99 = r.task_evals[t].agreement.p99_abs;
  for (double v : {p99, -p99}) {
    s += Line(fr.left, fr.Y(dy, v), fr.left + fr.width, fr.Y(dy, v),
              std::string("class=\"mark p99\" stroke=\"") + kP99Colour + "\" stroke-dasharray=\"5 3\"");
  }
  s += std::string("<g fill=\"") + kPointBlue + "\" fill-opacity=\"0.45\">\n";
  for (int64_t i = 0; i < r.float_sample.rows; ++i) {
    s += "<circle cx=\"" + Fmt("%.1f", fr.X(dx, r.float_sample.row(i)[t])) + "\" cy=\"" +
         Fmt("%.1f", fr.Y(dy, Delta(r, i, t))) + "\" r=\"1.8\"/>\n";
  }
  s += "</g>\n";
  s += LegendEntry(fr, fr.left, kP99Colour, "5 3", "\u00b1p99 |\u0394| (" + Fmt("%.3g", p99) + ")");
  return s + "</svg>\n";
}

// Sampled rows per bin of |Δ| over [0, hi); larger values (none, hi covering them) in the last.
std::vector<int64_t> AbsDeltaCounts(const converter::EvalResult& r, size_t t, double hi, int bins) {
  std::vector<int64_t> count(static_cast<size_t>(bins), 0);
  for (int64_t i = 0; i < r.float_sample.rows; ++i) {
    const double d = std::fabs(Delta(r, i, t));
    if (std::isfinite(d)) ++count[static_cast<size_t>(std::min(bins - 1, static_cast<int>(d / hi * bins)))];
  }
  return count;
}

// The bars on a log10 axis `dc` (of rows), with its ticks at powers of ten.
std::string LogBars(const Frame& fr, const Axis& dc, const std::vector<int64_t>& count) {
  std::string s;
  for (int k = 0; k <= static_cast<int>(dc.hi); ++k)
    s += YTick(fr, fr.Y(dc, k), Fmt("%.0f", std::pow(10.0, k)));
  const double bin_width = fr.width / static_cast<double>(count.size());
  for (size_t b = 0; b < count.size(); ++b) {
    if (count[b] == 0) continue;
    const double y = fr.Y(dc, std::log10(static_cast<double>(count[b])));
    s += "<rect class=\"bar\" x=\"" + Fmt("%.1f", fr.left + static_cast<double>(b) * bin_width + 0.5) +
         "\" y=\"" + Fmt("%.1f", y) + "\" width=\"" + Fmt("%.1f", bin_width - 1) + "\" height=\"" +
         Fmt("%.1f", fr.bottom() - y) + "\" fill=\"" + kPointBlue + "\"/>\n";
  }
  return s;
}

// Vertical lines at mean, p99 and max |Δ| (of all rows), named in the legend row.
std::string AbsDeltaMarks(const Frame& fr, const Axis& dx, const converter::TaskAgreement& a) {
  struct Mark {
    const char *name, *colour, *dash;
    double value;
  };
  const Mark marks[] = {{"mean", kMeanColour, "none", a.mean_abs},
                        {"p99", kP99Colour, "5 3", a.p99_abs},
                        {"max", kMaxColour, "2 2", a.max_abs}};
  std::string s;
  double legend_x = 4;
  for (const Mark& m : marks) {
    const double x = fr.X(dx, m.value);
    s += Line(x, fr.top, x, fr.bottom(),
              std::string("class=\"mark ") + m.name + "\" stroke=\"" + m.colour +
                  "\" stroke-width=\"1.5\" stroke-dasharray=\"" + m.dash + "\"");
    s += LegendEntry(fr, legend_x, m.colour, m.dash,
                     std::string(m.name) + " |\u0394| " + Fmt("%.3g", m.value));
    legend_x += 148;
  }
  return s;
}

// |Δ| of the sampled rows in 40 bins from 0 to the scatter's scale, rows on a log axis (a tail
// of a few rows would not show on a linear one), mean, p99 and max |Δ| marked.
std::string DeltaHistogram(const converter::EvalResult& r, size_t t, const Axis& dy) {
  const int bins = 40;
  const Axis dx{0.0, dy.hi, dy.step};
  const std::vector<int64_t> count = AbsDeltaCounts(r, t, dx.hi, bins);
  const int64_t most = std::max<int64_t>(1, *std::max_element(count.begin(), count.end()));
  // From just under 1 row (so that a single row shows) to a little over the tallest bar.
  const Axis dc{-0.3, std::max(1.0, std::log10(static_cast<double>(most)) + 0.25), 1.0};
  const Frame fr;
  std::string s = ChartStart(
      fr, "delta-hist", r.tasks[t] + ": |\u0394| over " + std::to_string(r.float_sample.rows) + " rows",
      ScaleText("x scale 0 to " + TickLabel(dy.hi, false), dy) + "; " + std::to_string(bins) + " bins",
      "|\u0394| = |int8 \u2212 float|", "rows (log scale)");
  for (double v : dx.Ticks()) s += XTick(fr, fr.X(dx, v), TickLabel(v, false));
  s += LogBars(fr, dc, count);
  s += AbsDeltaMarks(fr, dx, r.task_evals[t].agreement);
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

// Per task, a row of the two error charts on the same Δ scale.
std::string DeltaCharts(const converter::EvalResult& r) {
  std::string h = "<h2>int8 \u2212 float per task</h2>\n<p class=\"note\">Points and histograms: " +
                  std::to_string(r.float_sample.rows) + " rows" +
                  (r.float_sample.rows < r.rows ? " evenly spaced among " + std::to_string(r.rows) : "") +
                  "; mean, p99 and max |&#916;| over every row. Each task's &#916; scale is its own.</p>\n";
  for (size_t t = 0; t < r.tasks.size(); ++t) {
    const Axis dy = DeltaAxis(r, t);
    h += "<div>\n" + DeltaScatter(r, t, dy) + DeltaHistogram(r, t, dy) + "</div>\n";
  }
  return h;
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
      ".scale { fill: #444; font-size: 11px; }\n"
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
  h += DeltaCharts(r);
  if (!r.mixtures.empty()) h += "<h2>Mean gate weight per mixed tensor</h2>\n" + Heatmap(r);
  return h + "</body>\n</html>\n";
}

void WriteReport(const std::string& path, const ReportInput& in) {
  const std::string html = RenderReport(in);
  converter::WriteFileAtomic(path, html.data(), html.size());
}

}  // namespace mmoe::cli
