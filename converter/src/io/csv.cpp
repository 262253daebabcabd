// CSV reader and writer for calibration inputs and scores: numbers only, no quoting.
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csv_text.h"
#include "mmoe/converter/io.h"

namespace mmoe::converter {

namespace csv {

std::string_view Trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool IsBlank(std::string_view line) { return Trim(line).empty(); }

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    const size_t comma = line.find(',');
    fields.push_back(Trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) return fields;
    line.remove_prefix(comma + 1);
  }
}

// For a literal from_chars found out of range: whether it is too small rather than too large.
// from_chars does not say, so look at the exponent's sign, or without an exponent at the
// integer part.
static bool IsUnderflow(std::string_view number) {
  const size_t e = number.find_first_of("eE");
  if (e != std::string_view::npos) return number.substr(e + 1, 1) == "-";
  const std::string_view integer_part = number.substr(0, number.find('.'));
  return integer_part.find_first_of("123456789") == std::string_view::npos;
}

// The field as a double, or nullopt when it is not entirely a number. from_chars is
// locale-independent (a German locale would otherwise turn "0.5" into 0); it rejects a leading
// '+', which is valid CSV, so that is skipped here.
std::optional<double> ParseNumber(std::string_view field) {
  if (field.size() > 1 && field.front() == '+' && field[1] != '-') field.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  // out_of_range still means "a number"; the caller reports overflow against the float32
  // range, and underflow becomes zero as it would for any tiny float.
  if (ec == std::errc::result_out_of_range && end == field.data() + field.size()) {
    const double sign = field.front() == '-' ? -1.0 : 1.0;
    return IsUnderflow(field) ? sign * 0.0 : sign * HUGE_VAL;
  }
  if (ec != std::errc() || end != field.data() + field.size() || field.empty()) return {};
  return value;
}

std::string HeaderName(std::string_view field) {
  if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
    field = field.substr(1, field.size() - 2);
  }
  return std::string(field);
}

}  // namespace csv

namespace {

using csv::HeaderName;
using csv::IsBlank;
using csv::ParseNumber;
using csv::SplitFields;
using csv::SplitLines;
using csv::Trim;

// Doubles from here up round to float32 infinity (FLT_MAX plus half an ulp, where
// round-to-nearest-even goes up); anything smaller rounds to a finite float.
constexpr double kFloatOverflow = 0x1.ffffffp+127;

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool AllNumbers(const std::vector<std::string_view>& fields) {
  for (const auto field : fields) {
    if (!ParseNumber(field)) return false;
  }
  return true;
}

std::string At(const std::string& path, size_t line) { return path + ": line " + std::to_string(line); }

float ParseValue(std::string_view field, const std::string& path, size_t line, size_t column) {
  const std::string where = At(path, line) + ", column " + std::to_string(column);
  if (field.empty()) throw ConvertError(where + " is empty");
  const std::optional<double> value = ParseNumber(field);
  if (!value) throw ConvertError(where + ": '" + std::string(field) + "' is not a number");
  if (std::isnan(*value)) throw ConvertError(where + " is NaN");
  // "inf" is an explicit infinity; a finite literal too large for double or float is a range
  // problem, worth telling apart.
  const bool literal_inf = field.find_first_of("iI") != std::string_view::npos;
  if (std::isinf(*value) && literal_inf) {
    throw ConvertError(where + (*value > 0 ? " is +Inf" : " is -Inf"));
  }
  if (std::fabs(*value) >= kFloatOverflow) {
    throw ConvertError(where + ": '" + std::string(field) + "' is beyond the float32 range");
  }
  return static_cast<float>(*value);
}

void CheckWidth(size_t width, int64_t expected, const std::string& what) {
  if (static_cast<int64_t>(width) != expected) {
    throw ConvertError(what + " has " + std::to_string(width) + " values, expected " +
                       std::to_string(expected));
  }
}

}  // namespace

Matrix ReadCsv(const std::string& path, int64_t expected_cols, std::vector<std::string>* header) {
  return ParseCsv(ReadFileBytes(path), path, expected_cols, header);
}

Matrix ParseCsv(const std::string& bytes, const std::string& path, int64_t expected_cols,
                std::vector<std::string>* header) {
  std::string_view text = bytes;
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
  std::vector<std::string_view> lines = SplitLines(text);
  while (!lines.empty() && IsBlank(lines.back())) lines.pop_back();  // trailing blank lines
  if (lines.empty()) throw ConvertError(path + ": file is empty");
  if (header) header->clear();

  size_t first_data = 0;  // index into lines
  int64_t width = expected_cols;
  const std::vector<std::string_view> first_fields = SplitFields(lines[0]);
  if (!IsBlank(lines[0]) && !AllNumbers(first_fields)) {
    if (expected_cols >= 0) {
      CheckWidth(first_fields.size(), expected_cols, At(path, 1) + " (header)");
    }
    width = static_cast<int64_t>(first_fields.size());
    if (header) {
      for (const auto field : first_fields) header->push_back(HeaderName(field));
    }
    first_data = 1;
  }
  if (first_data == lines.size()) throw ConvertError(path + ": header only, no data rows");

  Matrix m;
  for (size_t i = first_data; i < lines.size(); ++i) {
    const size_t line_number = i + 1;
    // A blank line inside the data usually means a concatenation or editing mistake.
    if (IsBlank(lines[i])) throw ConvertError(At(path, line_number) + " is blank");
    const std::vector<std::string_view> fields = SplitFields(lines[i]);
    if (width < 0) width = static_cast<int64_t>(fields.size());
    CheckWidth(fields.size(), width, At(path, line_number));
    for (size_t c = 0; c < fields.size(); ++c) {
      m.data.push_back(ParseValue(fields[c], path, line_number, c + 1));
    }
  }
  m.cols = width;
  m.rows = static_cast<int64_t>(m.data.size()) / width;
  return m;
}

void WriteCsv(const std::string& path, const Matrix& m, const std::vector<std::string>& header) {
  if (m.rows < 0 || m.cols < 0 || m.data.size() != static_cast<size_t>(m.rows * m.cols)) {
    throw ConvertError(path + ": matrix has " + std::to_string(m.data.size()) +
                       " values, expected rows * cols = " + std::to_string(m.rows * m.cols));
  }
  if (!header.empty() && static_cast<int64_t>(header.size()) != m.cols) {
    throw ConvertError(path + ": header has " + std::to_string(header.size()) + " names for " +
                       std::to_string(m.cols) + " columns");
  }
  std::string text;
  bool header_is_numeric = !header.empty();
  for (size_t c = 0; c < header.size(); ++c) {
    if (header[c].find_first_of(",\"\r\n") != std::string::npos) {
      throw ConvertError(path + ": header name '" + header[c] + "' contains a comma, quote or line break");
    }
    header_is_numeric = header_is_numeric && ParseNumber(Trim(header[c])).has_value();
    text += (c ? "," : "") + header[c];
  }
  // ReadCsv recognises a header by a non-numeric name; an all-numeric one would read as data.
  if (header_is_numeric) {
    throw ConvertError(path + ": header names are all numbers and would read back as data");
  }
  if (!header.empty()) text += '\n';

  char buffer[32];
  for (int64_t r = 0; r < m.rows; ++r) {
    for (int64_t c = 0; c < m.cols; ++c) {
      // 9 significant digits round-trip every float32 (%.9g), independent of the locale.
      const auto result =
          std::to_chars(buffer, buffer + sizeof buffer, m.row(r)[c], std::chars_format::general, 9);
      if (c) text += ',';
      text.append(buffer, result.ptr);
    }
    text += '\n';
  }
  WriteFileAtomic(path, text.data(), text.size());
}

}  // namespace mmoe::converter
