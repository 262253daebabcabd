#include "mmoe/converter/inputs.h"

#include <algorithm>

#include "mmoe/converter/float_model.h"
#include "mmoe/converter/rows.h"

namespace mmoe::converter {

Inputs Inputs::Dense(const Matrix& x, const std::string& name) {
  Inputs in;
  in.rows = x.rows;
  InputArray a;
  a.name = name;
  a.floats = x;
  in.arrays.push_back(std::move(a));
  return in;
}

int64_t Inputs::Begin(size_t i, int64_t r) const {
  const InputArray& a = arrays[i];
  return a.kind == graph::InputKind::kBag ? a.offsets[static_cast<size_t>(r)] : r;
}

int64_t Inputs::End(size_t i, int64_t r) const {
  const InputArray& a = arrays[i];
  return a.kind == graph::InputKind::kBag ? a.offsets[static_cast<size_t>(r) + 1] : r + 1;
}

Inputs Inputs::Slice(int64_t first, int64_t count) const {
  Inputs out;
  out.rows = count;
  for (size_t i = 0; i < arrays.size(); ++i) {
    const InputArray& a = arrays[i];
    InputArray s;
    s.name = a.name;
    s.kind = a.kind;
    if (a.kind == graph::InputKind::kDense) {
      s.floats.rows = count;
      s.floats.cols = a.floats.cols;
      s.floats.data.assign(a.floats.row(first), a.floats.row(first) + count * a.floats.cols);
    } else {
      const int64_t begin = Begin(i, first),
                    end = Begin(i, first) + (End(i, first + count - 1) - Begin(i, first));
      s.ids.assign(a.ids.begin() + begin, a.ids.begin() + end);
      if (a.kind == graph::InputKind::kBag) {
        for (int64_t r = first; r <= first + count; ++r)
          s.offsets.push_back(a.offsets[static_cast<size_t>(r)] - begin);
      }
    }
    out.arrays.push_back(std::move(s));
  }
  return out;
}

void Inputs::Append(const Inputs& more) {
  if (arrays.empty()) {
    *this = more;
    return;
  }
  for (size_t i = 0; i < arrays.size(); ++i) {
    InputArray& a = arrays[i];
    const InputArray& b = more.arrays[i];
    if (a.kind == graph::InputKind::kDense) {
      a.floats.rows += b.floats.rows;
      a.floats.data.insert(a.floats.data.end(), b.floats.data.begin(), b.floats.data.end());
      continue;
    }
    const int64_t base = static_cast<int64_t>(a.ids.size());
    a.ids.insert(a.ids.end(), b.ids.begin(), b.ids.end());
    if (a.kind == graph::InputKind::kBag) {
      for (size_t r = 1; r < b.offsets.size(); ++r) a.offsets.push_back(base + b.offsets[r]);
    }
  }
  rows += more.rows;
}

std::vector<InputView> Inputs::Views() const {
  std::vector<InputView> views;
  for (const InputArray& a : arrays) {
    InputView v;
    if (a.kind == graph::InputKind::kDense) {
      v.data = a.floats.data.data();
      v.size = a.floats.data.size();
    } else {
      v.data = a.ids.data();
      v.type = DataType::kInt64;
      v.size = a.ids.size();
      if (a.kind == graph::InputKind::kBag) v.offsets = a.offsets.data();
    }
    views.push_back(v);
  }
  return views;
}

namespace {

class DenseSource : public InputSource {
 public:
  // `owned` is null when the caller keeps the rows.
  DenseSource(RowSource& rows, std::unique_ptr<RowSource> owned, std::string input)
      : rows_(rows), owned_(std::move(owned)), input_(std::move(input)) {}
  int64_t rows() const override { return rows_.rows(); }
  Inputs Read(int64_t first, int64_t count) override {
    return Inputs::Dense(rows_.Read(first, count), input_);
  }
  const std::string& name() const override { return rows_.name(); }

 private:
  RowSource& rows_;
  std::unique_ptr<RowSource> owned_;
  std::string input_;
};

class PackedSource : public InputSource {
 public:
  PackedSource(std::unique_ptr<RowSource> rows, const graph::Graph& g) : rows_(std::move(rows)), g_(g) {}
  int64_t rows() const override { return rows_->rows(); }
  Inputs Read(int64_t first, int64_t count) override {
    return UnpackRows(rows_->Read(first, count), g_, rows_->name(), first);
  }
  const std::string& name() const override { return rows_->name(); }

 private:
  std::unique_ptr<RowSource> rows_;
  const graph::Graph& g_;
};

}  // namespace

Inputs UnpackRows(const Matrix& x, const graph::Graph& g, const std::string& label, int64_t first_row) {
  const graph::PackedInput& p = g.packed;
  if (x.cols != p.width) {
    throw ConvertError(label + ": rows of " + std::to_string(x.cols) + " values; the model's packed input '" +
                       p.name + "' has " + std::to_string(p.width));
  }
  Inputs in;
  in.rows = x.rows;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const graph::Input& input = g.inputs[i];
    const int64_t at = p.first[i], count = p.count[i];
    InputArray a;
    a.name = input.name;
    a.kind = input.kind;
    if (input.kind == graph::InputKind::kDense) {
      a.floats.rows = x.rows;
      a.floats.cols = count;
      for (int64_t r = 0; r < x.rows; ++r)
        a.floats.data.insert(a.floats.data.end(), x.row(r) + at, x.row(r) + at + count);
    } else {
      for (int64_t r = 0; r < x.rows; ++r) {
        if (input.kind == graph::InputKind::kBag) a.offsets.push_back(r * count);
        for (int64_t j = 0; j < count; ++j) {
          const float v = x.row(r)[at + j];
          int64_t id = 0;
          if (!graph::PackedId(v, &id)) {
            throw ConvertError(label + ": row " + std::to_string(first_row + r) + ", column " +
                               std::to_string(at + j) + " (input '" + input.name +
                               "'): " + std::to_string(v) + " is not an id");
          }
          a.ids.push_back(id);
        }
      }
      if (input.kind == graph::InputKind::kBag) a.offsets.push_back(x.rows * count);
    }
    in.arrays.push_back(std::move(a));
  }
  return in;
}

std::unique_ptr<InputSource> PackedInputSource(std::unique_ptr<RowSource> rows, const graph::Graph& g) {
  return std::make_unique<PackedSource>(std::move(rows), g);
}

std::unique_ptr<InputSource> DenseInputSource(std::unique_ptr<RowSource> rows, std::string input_name) {
  RowSource& ref = *rows;
  return std::make_unique<DenseSource>(ref, std::move(rows), std::move(input_name));
}

std::unique_ptr<InputSource> DenseInputSource(RowSource& rows, std::string input_name) {
  return std::make_unique<DenseSource>(rows, nullptr, std::move(input_name));
}

void CheckInputs(const Inputs& in, const FloatModel& model, const std::string& label) {
  const graph::Graph& g = model.graph;
  const std::vector<std::vector<int32_t>> consumers = graph::Consumers(g);
  const auto fail = [&](const std::string& what) { throw ConvertError(label + ": " + what); };
  if (in.arrays.size() != g.inputs.size()) {
    fail(std::to_string(in.arrays.size()) + " inputs; the model takes " + std::to_string(g.inputs.size()));
  }
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const graph::Input& input = g.inputs[i];
    const InputArray& a = in.arrays[i];
    const std::string name = "input '" + input.name + "'";
    if (a.kind != input.kind) {
      fail(name + " is " + graph::InputKindName(input.kind) + ", given " + graph::InputKindName(a.kind));
    }
    if (a.kind == graph::InputKind::kDense) {
      const int64_t width = g.tensors[input.tensor].width;
      if (a.floats.cols != width || a.floats.rows != in.rows) {
        fail(name + " has " + std::to_string(a.floats.rows) + " rows of " + std::to_string(a.floats.cols) +
             " values; the model reads " + std::to_string(width) + " per row");
      }
      continue;
    }
    if (a.kind == graph::InputKind::kIds && static_cast<int64_t>(a.ids.size()) != in.rows) {
      fail(name + " has " + std::to_string(a.ids.size()) + " ids for " + std::to_string(in.rows) + " rows");
    }
    if (a.kind == graph::InputKind::kBag) {
      if (static_cast<int64_t>(a.offsets.size()) != in.rows + 1 || a.offsets.front() != 0 ||
          a.offsets.back() != static_cast<int64_t>(a.ids.size()) ||
          !std::is_sorted(a.offsets.begin(), a.offsets.end())) {
        fail(name + ": its bag offsets are not rows + 1 non-decreasing values from 0 to the ids' count");
      }
    }
    if (consumers[input.tensor].size() != 1) continue;  // Validate's concern
    const FloatEmbedding& e =
        model.embeddings[static_cast<size_t>(g.nodes[consumers[input.tensor][0]].param)];
    if (!e.default_row.empty()) continue;
    const int64_t limit = model.tables[static_cast<size_t>(e.table)].rows;
    for (int64_t r = 0; r < in.rows; ++r) {
      for (int64_t j = in.Begin(i, r); j < in.End(i, r); ++j) {
        const int64_t id = a.ids[static_cast<size_t>(j)];
        if (e.has_padding_id && id == e.padding_id) continue;
        if (id < 0 || id >= limit) {
          fail("row " + std::to_string(r) + ", " + name + ": id " + std::to_string(id) +
               " is outside its table's " + std::to_string(limit) + " rows");
        }
      }
    }
  }
}

}  // namespace mmoe::converter
