// ONNX operators computed in double precision: the importer folds constants (shape arithmetic)
// with them and runs the whole graph on calibration rows to verify an import. Semantics from
// the ONNX operator specification (opsets 9 to 20), broadcasting as numpy does.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "mmoe/converter/float_model.h"
#include "onnx/onnx_graph.h"

namespace mmoe::converter::onnx {

const char* ElemTypeName(int32_t type) {
  switch (type) {
    case kFloat:
      return "float32";
    case kUint8:
      return "uint8";
    case kInt8:
      return "int8";
    case 4:
      return "uint16";
    case 5:
      return "int16";
    case kInt32:
      return "int32";
    case kInt64:
      return "int64";
    case 8:
      return "string";
    case kBool:
      return "bool";
    case 10:
      return "float16";
    case kDouble:
      return "float64";
    case 12:
      return "uint32";
    case 13:
      return "uint64";
    case 16:
      return "bfloat16";
  }
  return "an unknown type";
}

bool IsInteger(int32_t type) {
  return type == kUint8 || type == kInt8 || type == 4 || type == 5 || type == kInt32 || type == kInt64 ||
         type == kBool || type == 12 || type == 13;
}

int64_t ShapeSize(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + (shape[i] < 0 ? std::string("N") : std::to_string(shape[i]));
  return text + "]";
}

const Attribute* Node::Find(const std::string& attr) const {
  for (const Attribute& a : attrs) {
    if (a.name == attr) return &a;
  }
  return nullptr;
}
int64_t Node::Int(const std::string& attr, int64_t fallback) const {
  const Attribute* a = Find(attr);
  return a && a->kind == Attribute::kInt ? a->i : fallback;
}
double Node::Float(const std::string& attr, double fallback) const {
  const Attribute* a = Find(attr);
  return a && a->kind == Attribute::kFloat ? a->f : fallback;
}
std::string Node::Label() const {
  const std::string id = !name.empty() ? name : (outputs.empty() ? std::string("?") : outputs[0]);
  return "node '" + id + "' (" + op + ")";
}

namespace {

[[noreturn]] void Fail(const Node& n, const std::string& what) {
  throw ConvertError(n.Label() + ": " + what);
}

}  // namespace

int64_t IntOf(const Node& n, double v) {
  if (!(v >= -9.2e18 && v <= 9.2e18)) Fail(n, "the integer " + std::to_string(v) + " is out of range");
  return static_cast<int64_t>(v);
}

namespace {

int64_t Axis(const Node& n, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    Fail(n, "axis " + std::to_string(axis) + " is outside a tensor of rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

// Outputs beyond this many values are refused: shapes read from a file (ConstantOfShape,
// Expand, Tile, Range) must not make the importer allocate without bound. Real graphs evaluate
// far less: probe batches of 11 items, checks of 256 rows (the tables themselves are
// initializers, read, not evaluated).
constexpr int64_t kMaxValues = int64_t{1} << 22;
// And a MatMul or Gemm beyond this many multiply-adds (a 256-row check of a 4096 x 2048 layer
// is 2^31).
constexpr int64_t kMaxMacs = int64_t{1} << 32;

std::vector<int64_t> Checked(const Node& n, std::vector<int64_t> shape) {
  int64_t total = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && total > kMaxValues / d))
      Fail(n, "a tensor of shape " + ShapeText(shape) + " is too large");
    total *= d;
  }
  return shape;
}

std::vector<int64_t> Strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

// Values rounded as the element type holds them (float32 rounding for float tensors).
double Round(int32_t type, double x) {
  if (type == kFloat) return static_cast<double>(static_cast<float>(x));
  if (type == kBool) return x != 0.0 ? 1.0 : 0.0;
  if (IsInteger(type)) return std::isfinite(x) ? std::trunc(x) : x;
  return x;
}

std::vector<int64_t> BroadcastShape(const Node& n, const std::vector<const Array*>& xs) {
  size_t rank = 0;
  for (const Array* x : xs) rank = std::max(rank, x->shape.size());
  std::vector<int64_t> out(rank, 1);
  for (const Array* x : xs) {
    for (size_t i = 0; i < x->shape.size(); ++i) {
      int64_t& o = out[rank - x->shape.size() + i];
      const int64_t d = x->shape[i];
      if (d == o || d == 1) continue;
      if (o != 1)
        Fail(n, "shapes " + ShapeText(xs[0]->shape) + " and " + ShapeText(x->shape) + " do not broadcast");
      o = d;
    }
  }
  return out;
}

// out[i] = f(x0[i], x1[i], ...) with numpy broadcasting.
Array Broadcast(const Node& n, const std::vector<const Array*>& xs, int32_t type,
                const std::function<double(const double*)>& f) {
  Array out;
  out.type = type;
  out.shape = Checked(n, BroadcastShape(n, xs));
  const size_t rank = out.shape.size();
  std::vector<std::vector<int64_t>> strides;
  for (const Array* x : xs) {
    std::vector<int64_t> s(rank, 0);
    const std::vector<int64_t> own = Strides(x->shape);
    for (size_t i = 0; i < x->shape.size(); ++i) {
      if (x->shape[i] != 1) s[rank - x->shape.size() + i] = own[i];
    }
    strides.push_back(s);
  }
  const int64_t total = ShapeSize(out.shape);
  out.v.resize(static_cast<size_t>(total));
  std::vector<int64_t> index(rank, 0);
  std::vector<double> args(xs.size());
  for (int64_t k = 0; k < total; ++k) {
    for (size_t j = 0; j < xs.size(); ++j) {
      int64_t at = 0;
      for (size_t i = 0; i < rank; ++i) at += index[i] * strides[j][i];
      args[j] = xs[j]->v[static_cast<size_t>(at)];
    }
    out.v[static_cast<size_t>(k)] = Round(type, f(args.data()));
    for (size_t i = rank; i-- > 0;) {
      if (++index[i] < out.shape[i]) break;
      index[i] = 0;
    }
  }
  return out;
}

Array Unary(const Array& x, const std::function<double(double)>& f) {
  Array out = x;
  for (double& v : out.v) v = Round(x.type, f(v));
  return out;
}

std::vector<int64_t> Ints(const Node& n, const Array& a) {
  std::vector<int64_t> v;
  for (double d : a.v) v.push_back(IntOf(n, d));
  return v;
}

// The axes an op takes from an input (opset 13+) or an attribute (before).
std::vector<int64_t> AxesOf(const Node& n, const std::vector<const Array*>& in, size_t input) {
  if (in.size() > input && in[input]) return Ints(n, *in[input]);
  if (const Attribute* a = n.Find("axes")) return a->ints;
  return {};
}

Array Transposed(const Array& x, const std::vector<int64_t>& perm) {
  Array out;
  out.type = x.type;
  for (int64_t p : perm) out.shape.push_back(x.shape[static_cast<size_t>(p)]);
  const std::vector<int64_t> src = Strides(x.shape);
  const int64_t total = x.size();
  out.v.resize(static_cast<size_t>(total));
  std::vector<int64_t> index(perm.size(), 0);
  for (int64_t k = 0; k < total; ++k) {
    int64_t at = 0;
    for (size_t i = 0; i < perm.size(); ++i) at += index[i] * src[static_cast<size_t>(perm[i])];
    out.v[static_cast<size_t>(k)] = x.v[static_cast<size_t>(at)];
    for (size_t i = perm.size(); i-- > 0;) {
      if (++index[i] < out.shape[i]) break;
      index[i] = 0;
    }
  }
  return out;
}

// A reduction over `axes` (all when empty and noop_with_empty_axes is 0).
enum class Reduction { kSum, kMean, kProd, kMax, kMin };

Array Reduce(const Node& n, const Array& x, std::vector<int64_t> axes, bool keepdims, Reduction how) {
  if (axes.empty()) {
    if (n.Int("noop_with_empty_axes", 0)) return x;
    for (int64_t i = 0; i < x.rank(); ++i) axes.push_back(i);
  }
  std::vector<bool> reduced(x.shape.size(), false);
  for (int64_t a : axes) reduced[static_cast<size_t>(Axis(n, a, x.rank()))] = true;
  Array out;
  out.type = x.type;
  std::vector<int64_t> kept;  // the output shape with reduced axes as 1
  int64_t count = 1;
  for (size_t i = 0; i < x.shape.size(); ++i) {
    kept.push_back(reduced[i] ? 1 : x.shape[i]);
    if (reduced[i]) count *= x.shape[i];
    if (!reduced[i] || keepdims) out.shape.push_back(reduced[i] ? 1 : x.shape[i]);
  }
  const double start = how == Reduction::kProd  ? 1.0
                       : how == Reduction::kMax ? -HUGE_VAL
                       : how == Reduction::kMin ? HUGE_VAL
                                                : 0.0;
  out.v.assign(static_cast<size_t>(ShapeSize(kept)), start);
  const std::vector<int64_t> ks = Strides(kept);
  std::vector<int64_t> index(x.shape.size(), 0);
  for (int64_t k = 0; k < x.size(); ++k) {
    int64_t at = 0;
    for (size_t i = 0; i < index.size(); ++i) at += (reduced[i] ? 0 : index[i]) * ks[i];
    double& acc = out.v[static_cast<size_t>(at)];
    const double v = x.v[static_cast<size_t>(k)];
    acc = how == Reduction::kProd  ? acc * v
          : how == Reduction::kMax ? std::max(acc, v)
          : how == Reduction::kMin ? std::min(acc, v)
                                   : acc + v;
    for (size_t i = index.size(); i-- > 0;) {
      if (++index[i] < x.shape[i]) break;
      index[i] = 0;
    }
  }
  for (double& v : out.v) v = Round(x.type, how == Reduction::kMean ? v / static_cast<double>(count) : v);
  return out;
}

// [..., M, K] x [..., K, P] with broadcast batch axes (rank-1 operands as numpy treats them).
Array MatMul(const Node& n, Array a, Array b) {
  const bool a1 = a.rank() == 1, b1 = b.rank() == 1;
  if (a1) a.shape.insert(a.shape.begin(), 1);
  if (b1) b.shape.push_back(1);
  if (a.rank() < 2 || b.rank() < 2) Fail(n, "MatMul of a scalar");
  const int64_t m = a.shape[a.shape.size() - 2], k = a.shape.back(), p = b.shape.back();
  if (b.shape[b.shape.size() - 2] != k)
    Fail(n, "MatMul of " + ShapeText(a.shape) + " and " + ShapeText(b.shape) + ": inner sizes differ");
  Array ab, bb;  // batch shapes
  ab.shape.assign(a.shape.begin(), a.shape.end() - 2);
  bb.shape.assign(b.shape.begin(), b.shape.end() - 2);
  const std::vector<int64_t> batch = BroadcastShape(n, {&ab, &bb});
  Array out;
  out.type = a.type;
  out.shape = batch;
  out.shape.push_back(m);
  out.shape.push_back(p);
  Checked(n, out.shape);
  const int64_t batches = ShapeSize(batch);
  if (k > 0 && batches * m * p > kMaxMacs / k) Fail(n, "a MatMul too large to evaluate");
  out.v.assign(static_cast<size_t>(batches * m * p), 0.0);
  const auto offset = [&](const std::vector<int64_t>& own, int64_t bi) {
    // The operand's batch index for broadcast batch bi.
    int64_t at = 0, stride = 1, rest = bi;
    std::vector<int64_t> idx(batch.size());
    for (size_t i = batch.size(); i-- > 0;) {
      idx[i] = rest % batch[i];
      rest /= batch[i];
    }
    for (size_t i = own.size(); i-- > 0;) {
      const int64_t d = own[i];
      at += (d == 1 ? 0 : idx[batch.size() - own.size() + i]) * stride;
      stride *= d;
    }
    return at;
  };
  for (int64_t bi = 0; bi < batches; ++bi) {
    const double* x = a.v.data() + offset(ab.shape, bi) * m * k;
    const double* y = b.v.data() + offset(bb.shape, bi) * k * p;
    double* z = out.v.data() + bi * m * p;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < p; ++j) {
        double s = 0.0;
        for (int64_t t = 0; t < k; ++t) s += x[i * k + t] * y[t * p + j];
        z[i * p + j] = Round(a.type, s);
      }
  }
  if (a1) out.shape.erase(out.shape.end() - 2);
  if (b1) out.shape.pop_back();
  return out;
}

Array Softmax(const Node& n, const Array& x, int64_t opset) {
  const int64_t axis = Axis(n, n.Int("axis", opset >= 13 ? -1 : 1), x.rank());
  Array out = x;
  if (opset < 13) {  // the axes from `axis` on, flattened, as one
    const int64_t inner = ShapeSize(std::vector<int64_t>(x.shape.begin() + axis, x.shape.end()));
    for (int64_t o = 0; o < x.size() / std::max<int64_t>(inner, 1); ++o) {
      double* v = out.v.data() + o * inner;
      const double mx = *std::max_element(v, v + inner);
      double s = 0.0;
      for (int64_t i = 0; i < inner; ++i) s += (v[i] = std::exp(v[i] - mx));
      for (int64_t i = 0; i < inner; ++i) v[i] = Round(x.type, v[i] / s);
    }
    return out;
  }
  const int64_t len = x.dim(axis);
  const int64_t inner = ShapeSize(std::vector<int64_t>(x.shape.begin() + axis + 1, x.shape.end()));
  const int64_t outer = x.size() / std::max<int64_t>(len * inner, 1);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      double* v = out.v.data() + o * len * inner + in;
      double mx = -HUGE_VAL, s = 0.0;
      for (int64_t i = 0; i < len; ++i) mx = std::max(mx, v[i * inner]);
      for (int64_t i = 0; i < len; ++i) s += (v[i * inner] = std::exp(v[i * inner] - mx));
      for (int64_t i = 0; i < len; ++i) v[i * inner] = Round(x.type, v[i * inner] / s);
    }
  return out;
}

Array Slice(const Node& n, const Array& x, const std::vector<const Array*>& in, int64_t opset) {
  std::vector<int64_t> starts, ends, axes, steps;
  if (opset >= 10) {
    if (in.size() < 3 || !in[1] || !in[2]) Fail(n, "Slice needs starts and ends");
    starts = Ints(n, *in[1]);
    ends = Ints(n, *in[2]);
    if (in.size() > 3 && in[3]) axes = Ints(n, *in[3]);
    if (in.size() > 4 && in[4]) steps = Ints(n, *in[4]);
  } else {
    if (const Attribute* a = n.Find("starts")) starts = a->ints;
    if (const Attribute* a = n.Find("ends")) ends = a->ints;
    if (const Attribute* a = n.Find("axes")) axes = a->ints;
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    Fail(n, "Slice's starts, ends, axes and steps differ in length");
  std::vector<int64_t> first(x.shape.size(), 0), step(x.shape.size(), 1), count = x.shape;
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t a = Axis(n, axes[i], x.rank()), d = x.dim(a), s = steps[i];
    if (s == 0) Fail(n, "Slice step 0");
    int64_t b = starts[i] < 0 ? starts[i] + d : starts[i], e = ends[i] < 0 ? ends[i] + d : ends[i];
    if (s > 0) {
      b = std::clamp<int64_t>(b, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
      count[a] = e > b ? 1 + (e - b - 1) / s : 0;
    } else {
      b = std::clamp<int64_t>(b, -1, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
      if (s == INT64_MIN) Fail(n, "Slice step out of range");
      count[a] = b > e ? 1 + (b - e - 1) / -s : 0;
    }
    first[a] = b;
    step[a] = s;
  }
  Array out;
  out.type = x.type;
  out.shape = count;
  const std::vector<int64_t> src = Strides(x.shape);
  const int64_t total = ShapeSize(count);
  out.v.resize(static_cast<size_t>(total));
  std::vector<int64_t> index(count.size(), 0);
  for (int64_t k = 0; k < total; ++k) {
    int64_t at = 0;
    for (size_t i = 0; i < index.size(); ++i) at += (first[i] + index[i] * step[i]) * src[i];
    out.v[static_cast<size_t>(k)] = x.v[static_cast<size_t>(at)];
    for (size_t i = index.size(); i-- > 0;) {
      if (++index[i] < count[i]) break;
      index[i] = 0;
    }
  }
  return out;
}

Array Gather(const Node& n, const Array& x, const Array& idx) {
  const int64_t axis = Axis(n, n.Int("axis", 0), x.rank());
  const int64_t d = x.dim(axis);
  const int64_t outer = ShapeSize(std::vector<int64_t>(x.shape.begin(), x.shape.begin() + axis));
  const int64_t inner = ShapeSize(std::vector<int64_t>(x.shape.begin() + axis + 1, x.shape.end()));
  Array out;
  out.type = x.type;
  out.shape.assign(x.shape.begin(), x.shape.begin() + axis);
  out.shape.insert(out.shape.end(), idx.shape.begin(), idx.shape.end());
  out.shape.insert(out.shape.end(), x.shape.begin() + axis + 1, x.shape.end());
  Checked(n, out.shape);
  for (int64_t o = 0; o < outer; ++o)
    for (double iv : idx.v) {
      int64_t i = IntOf(n, iv);
      if (i < 0) i += d;
      if (i < 0 || i >= d)
        Fail(n, "index " + std::to_string(IntOf(n, iv)) + " is outside an axis of " + std::to_string(d));
      const double* src = x.v.data() + (o * d + i) * inner;
      out.v.insert(out.v.end(), src, src + inner);
    }
  return out;
}

Array Concat(const Node& n, const std::vector<const Array*>& in) {
  std::vector<const Array*> xs;
  for (const Array* x : in) {
    if (x) xs.push_back(x);
  }
  if (xs.empty()) Fail(n, "Concat of nothing");
  const int64_t axis = Axis(n, n.Int("axis", 0), xs[0]->rank());
  Array out;
  out.type = xs[0]->type;
  out.shape = xs[0]->shape;
  out.shape[static_cast<size_t>(axis)] = 0;
  for (const Array* x : xs) {
    if (x->rank() != xs[0]->rank()) Fail(n, "Concat of tensors of different ranks");
    for (int64_t i = 0; i < x->rank(); ++i) {
      if (i != axis && x->dim(i) != xs[0]->dim(i))
        Fail(n, "Concat of " + ShapeText(xs[0]->shape) + " and " + ShapeText(x->shape));
    }
    out.shape[static_cast<size_t>(axis)] += x->dim(axis);
  }
  const int64_t outer = ShapeSize(std::vector<int64_t>(out.shape.begin(), out.shape.begin() + axis));
  for (int64_t o = 0; o < outer; ++o)
    for (const Array* x : xs) {
      const int64_t chunk = x->size() / std::max<int64_t>(outer, 1);
      out.v.insert(out.v.end(), x->v.begin() + o * chunk, x->v.begin() + (o + 1) * chunk);
    }
  return out;
}

Array Reshaped(const Node& n, const Array& x, std::vector<int64_t> shape, bool allowzero) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowzero) {
      if (i >= x.shape.size()) Fail(n, "Reshape copies a dimension the input lacks");
      shape[i] = x.shape[i];
    }
    if (shape[i] == -1) {
      if (infer >= 0) Fail(n, "Reshape with two -1 dimensions");
      infer = static_cast<int64_t>(i);
    } else {
      if (shape[i] < 0 || (shape[i] > 0 && known > kMaxValues / shape[i]))
        Fail(n, "Reshape into " + ShapeText(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) shape[static_cast<size_t>(infer)] = known ? x.size() / known : 0;
  if (ShapeSize(shape) != x.size())
    Fail(n, "Reshape of " + ShapeText(x.shape) + " into " + ShapeText(shape) + ": sizes differ");
  Array out = x;
  out.shape = shape;
  return out;
}

Array Scalar(int32_t type, double v) {
  Array a;
  a.type = type;
  a.v = {v};
  return a;
}

}  // namespace

std::vector<Array> Evaluate(const Node& n, const std::vector<const Array*>& in, int64_t opset) {
  const std::string& op = n.op;
  const auto arg = [&](size_t i) -> const Array& {
    if (i >= in.size() || !in[i]) Fail(n, "input " + std::to_string(i) + " is missing");
    return *in[i];
  };
  const auto binary = [&](int32_t type, const std::function<double(double, double)>& f) {
    return std::vector<Array>{
        Broadcast(n, {&arg(0), &arg(1)}, type, [&](const double* a) { return f(a[0], a[1]); })};
  };
  const auto unary = [&](const std::function<double(double)>& f) {
    return std::vector<Array>{Unary(arg(0), f)};
  };
  if (op == "Constant") {
    Array c;
    if (const Attribute* a = n.Find("value"); a && a->kind == Attribute::kTensor) {
      c = a->t;
    } else if (const Attribute* f = n.Find("value_float")) {
      c.v = {f->f};
    } else if (const Attribute* i = n.Find("value_int")) {
      c.type = kInt64;
      c.v = {static_cast<double>(i->i)};
    } else if (const Attribute* is = n.Find("value_ints")) {
      c.type = kInt64;
      c.shape = {static_cast<int64_t>(is->ints.size())};
      for (int64_t x : is->ints) c.v.push_back(static_cast<double>(x));
    } else {
      Fail(n, "a Constant without a value the importer reads");
    }
    return {c};
  }
  if (op == "Identity" || op == "Dropout") return {arg(0)};
  if (op == "Cast") {
    Array out = arg(0);
    out.type = static_cast<int32_t>(n.Int("to", kFloat));
    if (IsInteger(out.type)) {
      for (double& v : out.v) {
        if (!std::isfinite(v)) Fail(n, "casting " + std::to_string(v) + " to " + ElemTypeName(out.type));
      }
    }
    for (double& v : out.v) v = Round(out.type, v);
    return {out};
  }
  if (op == "Shape") {
    Array out;
    out.type = kInt64;
    out.shape = {arg(0).rank()};
    int64_t start = n.Int("start", 0), end = n.Int("end", arg(0).rank());
    if (start < 0) start += arg(0).rank();
    if (end < 0) end += arg(0).rank();
    for (int64_t i = std::max<int64_t>(start, 0); i < std::min(end, arg(0).rank()); ++i)
      out.v.push_back(static_cast<double>(arg(0).dim(i)));
    out.shape = {static_cast<int64_t>(out.v.size())};
    return {out};
  }
  if (op == "Size") return {Scalar(kInt64, static_cast<double>(arg(0).size()))};
  if (op == "Gather") return {Gather(n, arg(0), arg(1))};
  if (op == "Slice") return {Slice(n, arg(0), in, opset)};
  if (op == "Concat") return {Concat(n, in)};
  if (op == "Unsqueeze") {
    std::vector<int64_t> axes = AxesOf(n, in, 1);
    Array out = arg(0);
    const int64_t rank = out.rank() + static_cast<int64_t>(axes.size());
    for (int64_t& a : axes) a = Axis(n, a, rank);
    std::sort(axes.begin(), axes.end());
    for (int64_t a : axes) out.shape.insert(out.shape.begin() + a, 1);
    return {out};
  }
  if (op == "Squeeze") {
    std::vector<int64_t> axes = AxesOf(n, in, 1);
    Array out = arg(0);
    std::vector<bool> drop(out.shape.size(), false);
    if (axes.empty()) {
      for (size_t i = 0; i < out.shape.size(); ++i) drop[i] = out.shape[i] == 1;
    }
    for (int64_t a : axes) {
      const int64_t i = Axis(n, a, out.rank());
      if (out.dim(i) != 1) Fail(n, "Squeeze of axis " + std::to_string(a) + " of " + ShapeText(out.shape));
      drop[static_cast<size_t>(i)] = true;
    }
    std::vector<int64_t> shape;
    for (size_t i = 0; i < out.shape.size(); ++i) {
      if (!drop[i]) shape.push_back(out.shape[i]);
    }
    out.shape = shape;
    return {out};
  }
  if (op == "Reshape") {
    std::vector<int64_t> shape =
        opset >= 5 ? Ints(n, arg(1)) : (n.Find("shape") ? n.Find("shape")->ints : std::vector<int64_t>{});
    return {Reshaped(n, arg(0), shape, n.Int("allowzero", 0) != 0)};
  }
  if (op == "Flatten") {
    const Array& x = arg(0);
    const int64_t axis = n.Int("axis", 1) < 0 ? n.Int("axis", 1) + x.rank() : n.Int("axis", 1);
    const int64_t outer = ShapeSize(
        std::vector<int64_t>(x.shape.begin(), x.shape.begin() + std::clamp<int64_t>(axis, 0, x.rank())));
    Array out = x;
    out.shape = {outer, outer ? x.size() / outer : 0};
    return {out};
  }
  if (op == "Expand") {
    Array target;
    target.shape = Ints(n, arg(1));
    for (int64_t& d : target.shape) d = std::max<int64_t>(d, 1);  // 1 keeps the input's size
    target.v.assign(static_cast<size_t>(ShapeSize(Checked(n, target.shape))), 0.0);
    return {Broadcast(n, {&arg(0), &target}, arg(0).type, [](const double* a) { return a[0]; })};
  }
  if (op == "Tile") {
    const Array& x = arg(0);
    const std::vector<int64_t> reps = Ints(n, arg(1));
    Array out = x;
    for (size_t a = 0; a < reps.size() && a < x.shape.size(); ++a) {
      Array next;
      next.type = x.type;
      next.shape = out.shape;
      if (reps[a] < 0) Fail(n, "a negative repeat");
      next.shape[a] *= reps[a];
      Checked(n, next.shape);
      const int64_t outer =
          ShapeSize(std::vector<int64_t>(out.shape.begin(), out.shape.begin() + static_cast<int64_t>(a)));
      const int64_t chunk = out.size() / std::max<int64_t>(outer, 1);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t r = 0; r < reps[a]; ++r)
          next.v.insert(next.v.end(), out.v.begin() + o * chunk, out.v.begin() + (o + 1) * chunk);
      out = next;
    }
    return {out};
  }
  if (op == "Split") {
    const Array& x = arg(0);
    const int64_t axis = Axis(n, n.Int("axis", 0), x.rank());
    std::vector<int64_t> sizes;
    if (in.size() > 1 && in[1])
      sizes = Ints(n, *in[1]);
    else if (const Attribute* a = n.Find("split"))
      sizes = a->ints;
    const int64_t parts = static_cast<int64_t>(n.outputs.size());
    if (sizes.empty()) {
      const int64_t each = (x.dim(axis) + parts - 1) / parts;
      for (int64_t p = 0, left = x.dim(axis); p < parts; ++p, left -= each)
        sizes.push_back(std::min(each, left));
    }
    if (static_cast<int64_t>(sizes.size()) != parts)
      Fail(n, "Split into a number of parts that differs from its outputs");
    std::vector<Array> outs;
    int64_t at = 0;
    for (int64_t s : sizes) {
      Node slice = n;
      slice.attrs.clear();
      Array starts = Scalar(kInt64, static_cast<double>(at)),
            ends = Scalar(kInt64, static_cast<double>(at + s)),
            axes = Scalar(kInt64, static_cast<double>(axis));
      starts.shape = ends.shape = axes.shape = {1};
      outs.push_back(Slice(slice, x, {&x, &starts, &ends, &axes}, 13));
      at += s;
    }
    return outs;
  }
  if (op == "Transpose") {
    const Array& x = arg(0);
    std::vector<int64_t> perm;
    if (const Attribute* a = n.Find("perm")) perm = a->ints;
    if (perm.empty())
      for (int64_t i = x.rank(); i-- > 0;) perm.push_back(i);
    return {Transposed(x, perm)};
  }
  if (op == "ConstantOfShape") {
    Array out;
    const Attribute* a = n.Find("value");
    out.type = a && a->kind == Attribute::kTensor ? a->t.type : kFloat;
    out.shape = Checked(n, Ints(n, arg(0)));
    out.v.assign(static_cast<size_t>(ShapeSize(out.shape)),
                 a && a->kind == Attribute::kTensor && !a->t.v.empty() ? a->t.v[0] : 0.0);
    return {out};
  }
  if (op == "Range") {
    Array out;
    out.type = arg(0).type;
    if (arg(0).v.size() != 1 || arg(1).v.size() != 1 || arg(2).v.size() != 1) Fail(n, "Range of non-scalars");
    const double start = arg(0).v[0], limit = arg(1).v[0], delta = arg(2).v[0];
    if (delta == 0) Fail(n, "Range with delta 0");
    if (!std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(delta) ||
        std::fabs((limit - start) / delta) > static_cast<double>(kMaxValues))
      Fail(n, "a Range too long");
    for (double v = start; delta > 0 ? v < limit : v > limit; v += delta) out.v.push_back(v);
    out.shape = {out.size()};
    return {out};
  }
  if (op == "Equal") return binary(kBool, [](double a, double b) { return a == b ? 1.0 : 0.0; });
  if (op == "Greater") return binary(kBool, [](double a, double b) { return a > b ? 1.0 : 0.0; });
  if (op == "Less") return binary(kBool, [](double a, double b) { return a < b ? 1.0 : 0.0; });
  if (op == "GreaterOrEqual") return binary(kBool, [](double a, double b) { return a >= b ? 1.0 : 0.0; });
  if (op == "LessOrEqual") return binary(kBool, [](double a, double b) { return a <= b ? 1.0 : 0.0; });
  if (op == "And") return binary(kBool, [](double a, double b) { return a != 0 && b != 0 ? 1.0 : 0.0; });
  if (op == "Or") return binary(kBool, [](double a, double b) { return a != 0 || b != 0 ? 1.0 : 0.0; });
  if (op == "Not") return {Unary(arg(0), [](double a) { return a != 0 ? 0.0 : 1.0; })};
  if (op == "Where") {
    return {Broadcast(n, {&arg(0), &arg(1), &arg(2)}, arg(1).type,
                      [](const double* a) { return a[0] != 0 ? a[1] : a[2]; })};
  }
  const int32_t t = in.empty() || !in[0] ? kFloat : in[0]->type;
  if (op == "Add") return binary(t, [](double a, double b) { return a + b; });
  if (op == "Sub") return binary(t, [](double a, double b) { return a - b; });
  if (op == "Mul") return binary(t, [](double a, double b) { return a * b; });
  if (op == "Div") {
    return binary(t, [t](double a, double b) {
      if (IsInteger(t)) return b == 0 ? 0.0 : std::trunc(a / b);
      return a / b;
    });
  }
  if (op == "Pow") return binary(t, [](double a, double b) { return std::pow(a, b); });
  if (op == "Max" || op == "Min" || op == "Sum") {
    Array acc = arg(0);
    for (size_t i = 1; i < in.size(); ++i) {
      const Array& b = arg(i);
      acc = Broadcast(n, {&acc, &b}, t, [&op](const double* a) {
        return op == "Max" ? std::max(a[0], a[1]) : op == "Min" ? std::min(a[0], a[1]) : a[0] + a[1];
      });
    }
    return {acc};
  }
  if (op == "Neg") return unary([](double a) { return -a; });
  if (op == "Abs") return unary([](double a) { return std::fabs(a); });
  if (op == "Sqrt") return unary([](double a) { return std::sqrt(a); });
  if (op == "Exp") return unary([](double a) { return std::exp(a); });
  if (op == "Log") return unary([](double a) { return std::log(a); });
  if (op == "Reciprocal") return unary([](double a) { return 1.0 / a; });
  if (op == "Erf") return unary([](double a) { return std::erf(a); });
  if (op == "Relu") return unary([](double a) { return a > 0 ? a : 0.0; });
  if (op == "Sigmoid") return unary([](double a) { return 1.0 / (1.0 + std::exp(-a)); });
  if (op == "Tanh") return unary([](double a) { return std::tanh(a); });
  if (op == "Softplus") return unary([](double a) { return a > 30 ? a : std::log1p(std::exp(a)); });
  if (op == "LeakyRelu") {
    const double alpha = n.Float("alpha", 0.01);
    return unary([alpha](double a) { return a >= 0 ? a : a * alpha; });
  }
  if (op == "Elu") {
    const double alpha = n.Float("alpha", 1.0);
    return unary([alpha](double a) { return a > 0 ? a : alpha * std::expm1(a); });
  }
  if (op == "Selu") {
    const double alpha = n.Float("alpha", 1.67326319217681884765625),
                 gamma = n.Float("gamma", 1.05070102214813232421875);
    return unary([=](double a) { return gamma * (a > 0 ? a : alpha * std::expm1(a)); });
  }
  if (op == "HardSigmoid") {
    const double alpha = n.Float("alpha", 0.2), beta = n.Float("beta", 0.5);
    return unary([=](double a) { return std::clamp(alpha * a + beta, 0.0, 1.0); });
  }
  if (op == "Clip") {
    double lo = n.Float("min", -HUGE_VAL), hi = n.Float("max", HUGE_VAL);
    for (size_t i = 1; i < in.size() && i < 3; ++i) {
      if (in[i] && in[i]->v.size() != 1) Fail(n, "Clip bounds that are not scalars");
    }
    if (in.size() > 1 && in[1]) lo = in[1]->v[0];
    if (in.size() > 2 && in[2]) hi = in[2]->v[0];
    return unary([=](double a) { return std::clamp(a, lo, hi); });
  }
  if (op == "PRelu") {
    return binary(t, [](double a, double s) { return a >= 0 ? a : a * s; });
  }
  if (op == "Softmax") return {Softmax(n, arg(0), opset)};
  const std::pair<const char*, Reduction> reductions[] = {{"ReduceSum", Reduction::kSum},
                                                          {"ReduceMean", Reduction::kMean},
                                                          {"ReduceProd", Reduction::kProd},
                                                          {"ReduceMax", Reduction::kMax},
                                                          {"ReduceMin", Reduction::kMin}};
  for (const auto& [name, how] : reductions) {
    // Axes from an input since opset 13 for ReduceSum, 18 for the others.
    if (op == name)
      return {Reduce(n, arg(0), AxesOf(n, in, opset >= (how == Reduction::kSum ? 13 : 18) ? 1 : 99),
                     n.Int("keepdims", 1) != 0, how)};
  }
  if (op == "MatMul") return {MatMul(n, arg(0), arg(1))};
  if (op == "Gemm") {
    Array a = arg(0), b = arg(1);
    if (a.rank() != 2 || b.rank() != 2)
      Fail(n, "Gemm of " + ShapeText(a.shape) + " and " + ShapeText(b.shape));
    if (n.Int("transA", 0)) a = Transposed(a, {1, 0});
    if (n.Int("transB", 0)) b = Transposed(b, {1, 0});
    Array y = MatMul(n, a, b);
    const double alpha = n.Float("alpha", 1.0), beta = n.Float("beta", 1.0);
    for (double& v : y.v) v = Round(y.type, v * alpha);
    if (in.size() > 2 && in[2]) {
      y = Broadcast(n, {&y, in[2]}, y.type, [beta](const double* p) { return p[0] + beta * p[1]; });
    }
    return {y};
  }
  if (op == "BatchNormalization") {
    const Array& x = arg(0);
    const Array &scale = arg(1), &bias = arg(2), &mean = arg(3), &var = arg(4);
    const double eps = n.Float("epsilon", 1e-5);
    if (x.rank() < 2) Fail(n, "BatchNormalization of " + ShapeText(x.shape));
    const int64_t c = x.dim(1), inner = ShapeSize(std::vector<int64_t>(x.shape.begin() + 2, x.shape.end()));
    if (scale.size() != c || bias.size() != c || mean.size() != c || var.size() != c)
      Fail(n, "BatchNormalization parameters are not one per channel (" + std::to_string(c) + ")");
    Array out = x;
    for (int64_t k = 0; k < x.size(); ++k) {
      const int64_t ch = (k / inner) % c;
      const double y = (x.v[k] - mean.v[ch]) / std::sqrt(var.v[ch] + eps) * scale.v[ch] + bias.v[ch];
      out.v[k] = Round(x.type, y);
    }
    return {out};
  }
  Fail(n, "operator " + op + " is not supported");
}

}  // namespace mmoe::converter::onnx
