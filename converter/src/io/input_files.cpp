// A model's inputs from files: .npz with one array per input, named as the model names its
// inputs; .csv with a header naming each column; .npy or a headerless .csv for a model whose one
// input is dense.
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "csv_text.h"
#include "mmoe/converter/inputs.h"
#include "mmoe/converter/rows.h"

namespace mmoe::converter {
namespace {

// Inputs read whole, owned by the source.
class OwnedInputSource : public InputSource {
 public:
  OwnedInputSource(Inputs in, std::string name) : in_(std::move(in)), name_(std::move(name)) {}
  int64_t rows() const override { return in_.rows; }
  Inputs Read(int64_t first, int64_t count) override { return in_.Slice(first, count); }
  const std::string& name() const override { return name_; }

 private:
  Inputs in_;
  std::string name_;
};

std::string LowerExtension(const std::string& path) {
  const size_t dot = path.find_last_of('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::string InputList(const graph::Graph& g) {
  std::string text;
  for (const graph::Input& in : g.inputs) {
    text += (text.empty() ? "'" : ", '") + in.name + "' (" + graph::InputKindName(in.kind);
    if (in.kind == graph::InputKind::kDense)
      text += ", " + std::to_string(g.tensors[in.tensor].width) + " floats";
    text += ")";
  }
  return text;
}

std::string ShapeOf(const NpyArray& a) {
  std::string text = "[";
  for (size_t i = 0; i < a.shape.size(); ++i) text += (i ? ", " : "") + std::to_string(a.shape[i]);
  return text + "]";
}

// The CSV column names of a dense input: its feature names, or its own name when it is one
// value wide, or "<name>.<j>".
std::vector<std::string> DenseColumns(const graph::Graph& g, const graph::Input& in) {
  const int width = g.tensors[in.tensor].width;
  if (!in.feature_names.empty()) return in.feature_names;
  if (width == 1) return {in.name};
  std::vector<std::string> names;
  for (int j = 0; j < width; ++j) names.push_back(in.name + "." + std::to_string(j));
  return names;
}

}  // namespace

Inputs ReadNpzInputs(const std::string& bytes, const std::string& label, const graph::Graph& g) {
  std::map<std::string, std::string> members;
  for (NpzMember& m : ParseNpz(bytes, label)) members[m.name] = std::move(m.bytes);
  Inputs in;
  in.rows = -1;
  for (const graph::Input& input : g.inputs) {
    const auto it = members.find(input.name);
    if (it == members.end()) {
      throw ConvertError(label + ": no array '" + input.name + "'; the model's inputs are " + InputList(g));
    }
    const std::string where = label + ": '" + input.name + "'";
    const NpyArray a = ParseNpyArray(it->second, where);
    members.erase(it);
    const int64_t rows = a.floats.rows, cols = a.floats.cols;
    if (in.rows >= 0 && rows != in.rows) {
      throw ConvertError(where + " has " + std::to_string(rows) + " rows, the arrays before it " +
                         std::to_string(in.rows));
    }
    in.rows = rows;
    InputArray out;
    out.name = input.name;
    out.kind = input.kind;
    if (input.kind == graph::InputKind::kDense) {
      const int64_t width = g.tensors[input.tensor].width;
      if (cols != width) {
        throw ConvertError(where + " has shape " + ShapeOf(a) + "; the model reads " + std::to_string(width) +
                           " floats per row ([N, " + std::to_string(width) + "]" +
                           (width == 1 ? " or [N]" : "") + ")");
      }
      out.floats = a.floats;
      if (a.integer) {
        out.floats.data.resize(a.ints.size());
        for (size_t i = 0; i < a.ints.size(); ++i) out.floats.data[i] = static_cast<float>(a.ints[i]);
      }
    } else {
      if (!a.integer) {
        throw ConvertError(where + " holds floats; a sparse input's ids are integers (int32 or int64)");
      }
      if (input.kind == graph::InputKind::kIds && (a.shape.size() != 1 && cols != 1)) {
        throw ConvertError(where + " has shape " + ShapeOf(a) + "; one id per row is [N]");
      }
      out.ids = a.ints;
      if (input.kind == graph::InputKind::kBag) {  // [N, L]: L ids per row, padding included
        for (int64_t r = 0; r <= rows; ++r) out.offsets.push_back(r * cols);
      }
    }
    in.arrays.push_back(std::move(out));
  }
  if (!members.empty()) {
    throw ConvertError(label + ": array '" + members.begin()->first +
                       "' is not an input of the model, whose inputs are " + InputList(g));
  }
  return in;
}

Inputs ParseCsvInputs(const std::string& bytes, const std::string& label, const graph::Graph& g) {
  std::string_view text = bytes;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<std::string_view> lines = csv::SplitLines(text);
  while (!lines.empty() && csv::IsBlank(lines.back())) lines.pop_back();
  if (lines.size() < 2) throw ConvertError(label + ": a header and at least one row are needed");
  // Fields trimmed and unquoted (a bag's ids may be quoted: "3 7 9").
  const auto split = [](std::string_view line) {
    std::vector<std::string> fields;
    for (const std::string_view f : csv::SplitFields(line)) fields.push_back(csv::HeaderName(f));
    return fields;
  };
  const std::vector<std::string> header = split(lines[0]);
  std::map<std::string, size_t> column;
  for (size_t c = 0; c < header.size(); ++c) {
    if (!column.emplace(header[c], c).second)
      throw ConvertError(label + ": line 1: column '" + header[c] + "' appears twice");
  }
  Inputs in;
  in.rows = static_cast<int64_t>(lines.size() - 1);
  std::set<std::string> used;
  const auto find = [&](const std::string& name, const graph::Input& input) {
    const auto it = column.find(name);
    if (it == column.end()) {
      throw ConvertError(label + ": line 1 has no column '" + name + "' (input '" + input.name +
                         "'); the model's inputs are " + InputList(g));
    }
    used.insert(name);
    return it->second;
  };
  std::vector<std::vector<size_t>> columns;  // per input: its columns
  for (const graph::Input& input : g.inputs) {
    std::vector<size_t> cols;
    if (input.kind == graph::InputKind::kDense) {
      for (const std::string& name : DenseColumns(g, input)) cols.push_back(find(name, input));
    } else {
      cols.push_back(find(input.name, input));
    }
    columns.push_back(cols);
    InputArray a;
    a.name = input.name;
    a.kind = input.kind;
    if (a.kind == graph::InputKind::kDense) {
      a.floats.rows = in.rows;
      a.floats.cols = static_cast<int64_t>(cols.size());
    }
    if (a.kind == graph::InputKind::kBag) a.offsets.push_back(0);
    in.arrays.push_back(std::move(a));
  }
  for (const std::string& name : header) {
    if (!used.count(name))
      throw ConvertError(label + ": line 1: column '" + name +
                         "' is not an input of the model, whose inputs are " + InputList(g));
  }
  for (size_t l = 1; l < lines.size(); ++l) {
    const std::vector<std::string> fields = split(lines[l]);
    const std::string at = label + ": line " + std::to_string(l + 1);
    if (fields.size() != header.size()) {
      throw ConvertError(at + " has " + std::to_string(fields.size()) + " fields, the header " +
                         std::to_string(header.size()));
    }
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      InputArray& a = in.arrays[i];
      for (size_t c : columns[i]) {
        const std::string& f = fields[c];
        const std::string where = at + ", column '" + header[c] + "'";
        if (a.kind == graph::InputKind::kDense) {
          const std::optional<double> v = csv::ParseNumber(f);
          if (!v || !std::isfinite(*v) || std::fabs(*v) >= 0x1.ffffffp+127)
            throw ConvertError(where + ": '" + f + "' is not a finite number");
          a.floats.data.push_back(static_cast<float>(*v));
          continue;
        }
        // Ids: one integer, or for a bag any number separated by spaces (none: an empty bag).
        std::string_view rest = f;
        int count = 0;
        while (true) {
          while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
          if (rest.empty()) break;
          const size_t space = rest.find(' ');
          const std::string_view token = rest.substr(0, space);
          int64_t id = 0;
          const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), id);
          if (ec != std::errc() || end != token.data() + token.size()) {
            throw ConvertError(where + ": '" + std::string(token) + "' is not an integer id");
          }
          a.ids.push_back(id);
          ++count;
          rest.remove_prefix(token.size());
        }
        if (a.kind == graph::InputKind::kIds && count != 1) {
          throw ConvertError(where + " holds " + std::to_string(count) +
                             " ids; this input takes one per row");
        }
        if (a.kind == graph::InputKind::kBag) a.offsets.push_back(static_cast<int64_t>(a.ids.size()));
      }
    }
  }
  return in;
}

std::unique_ptr<InputSource> OpenInputs(const std::string& path, const graph::Graph& g) {
  const std::string ext = LowerExtension(path);
  const bool one_dense = g.inputs.size() == 1 && g.inputs[0].kind == graph::InputKind::kDense;
  if (g.packed.present()) {
    // The packed row (one .npz array, .npy or headerless .csv rows), or the inputs one by one.
    if (ext == ".npz") {
      const std::string bytes = ReadFileBytes(path);
      for (NpzMember& m : ParseNpz(bytes, path)) {
        if (m.name != g.packed.name) continue;
        NpyArray a = ParseNpyArray(m.bytes, path + ": '" + m.name + "'");
        if (a.integer) {
          a.floats.data.resize(a.ints.size());
          for (size_t i = 0; i < a.ints.size(); ++i) a.floats.data[i] = static_cast<float>(a.ints[i]);
        }
        return std::make_unique<OwnedInputSource>(UnpackRows(a.floats, g, path + ": '" + m.name + "'"), path);
      }
      return std::make_unique<OwnedInputSource>(ReadNpzInputs(bytes, path, g), path);
    }
    if (ext == ".csv") {  // a header naming an input: the inputs one by one (else rows, streamed)
      std::ifstream f(path, std::ios::binary);
      std::string first;
      std::getline(f, first);
      if (!first.empty() && first.back() == '\r') first.pop_back();
      for (std::string_view field : csv::SplitFields(first)) {
        const std::string name = csv::HeaderName(field);
        for (const graph::Input& in : g.inputs) {
          if (in.name == name || name.rfind(in.name + ".", 0) == 0)
            return std::make_unique<OwnedInputSource>(ParseCsvInputs(ReadFileBytes(path), path, g), path);
        }
      }
    }
    return PackedInputSource(OpenRows(path, g.packed.width), g);
  }
  if (ext == ".npz")
    return std::make_unique<OwnedInputSource>(ReadNpzInputs(ReadFileBytes(path), path, g), path);
  if (ext == ".csv" && !one_dense) {
    return std::make_unique<OwnedInputSource>(ParseCsvInputs(ReadFileBytes(path), path, g), path);
  }
  if (!one_dense) {
    throw ConvertError(path + ": the model takes " + InputList(g) +
                       "; give them as .npz (one array per input) or .csv with a header naming the columns");
  }
  return DenseInputSource(OpenRows(path, g.tensors[g.inputs[0].tensor].width), g.inputs[0].name);
}

}  // namespace mmoe::converter
