// The xnnpack backend: the simd backend's Program (plan/program.h) in which every GEMM
// segment that reads int8 and writes requantized int8 runs through XNNPACK's per-channel int8
// convolution, used as a 1x1 convolution over [batch, 1, 1, in] (a per-channel fully
// connected layer; the fully connected operator of the 2022 XNNPACK is per-tensor only).
// Everything else -- int16 layers, accumulator outputs, softmax, mixture, task outputs and
// input quantization -- runs through the project's kernels (the `fallback` table).
//
// Why the bytes match the reference (docs/numerics.md): XNNPACK's qc8 GEMMs compute the
// int32 accumulator exactly, then q = max(sat8(sat16(cvt(min(float(acc) * s[c], max - zp)))
// + zp), min), where cvt rounds half to even and s[c] = input_scale * kernel_scale[c] /
// output_scale. With input and output scales of 1 and kernel_scale[c] = m[c], s[c] is m[c]
// exactly (two exact float operations), so the product is the reference's float(acc) * m[c];
// clamping to integer bounds before or after rounding gives the same integer, and the
// saturating packs only move values that the final max() clamps to `min` anyway.
// The input zero point is passed as 0 with the model's folded bias (bias - zp_in * sum_k w):
// the accumulator is the same int32, and XNNPACK's own folding would be a no-op.
#include "xnnpack/xnnpack_executor.h"

#include <xnnpack.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "model_data.h"
#include "plan/program_executor.h"

namespace mmoe {
namespace {

// xnn_create_convolution2d_nhwc_qc8 refuses requantization scales of 256 and above.
constexpr float kMaxXnnpackScale = 256.0f;

// xnn_initialize once per process (it is not meant to be paired per session: operators
// outlive nothing but their executor, and the library is never deinitialised).
xnn_status InitializeXnnpack() {
  static std::once_flag once;
  static xnn_status status = xnn_status_uninitialized;
  std::call_once(once, [] { status = xnn_initialize(nullptr); });
  return status;
}

// What XNNPACK's qc8 operator accepts (checked up front so that a refusal is a fallback,
// not an error): int8 in and out, output_min < output_max, every scale below 256.
bool XnnpackCanRun(const DenseLayer& l) {
  if (l.input != ElementType::kInt8 || l.output != DenseOutput::kInt8) return false;
  if (l.output_min >= l.output_max) return false;  // ReLU with zero point 127
  for (int32_t c = 0; c < l.out; ++c) {
    if (!(l.multipliers[c] < kMaxXnnpackScale)) return false;
  }
  return true;
}

// One GEMM segment run by XNNPACK: reads one arena buffer, writes another.
struct XnnLayer {
  xnn_operator_t op = nullptr;
  const int8_t* input = nullptr;
  int8_t* output = nullptr;
  size_t batch = 0;  // batch size of the last successful setup; 0: none yet
};

// A Program GEMM: its XNNPACK segments, and the others as one call of our kernel.
struct GemmPlan {
  std::vector<XnnLayer> xnn;
  PackedGemm rest;  // the GEMM restricted to the segments our kernels compute (maybe none)
  std::vector<void*> rest_dst;
  std::vector<int32_t> rest_stride;
  std::vector<GemvChunk> rest_gemv;  // its one-row chunks
};

class XnnpackExecutor final : public ProgramExecutor {
 public:
  XnnpackExecutor(const ModelData& model, const Program& program, const GemmKernels& kernels, size_t tile)
      : ProgramExecutor(model, program, kernels, tile), isa_(std::string("xnnpack+") + kernels.isa) {}
  ~XnnpackExecutor() override;

  Status Init();
  const char* isa() const override { return isa_.c_str(); }
  const XnnpackExecutorStats& stats() const { return stats_; }

 protected:
  void RunGemm(const Op& op, size_t batch) override;

 private:
  Status PlanGemm(const PackedGemm& g, const std::vector<SegmentTarget>& targets, int32_t input,
                  GemmPlan* plan);
  Status CreateOperator(const Segment& seg, const SegmentTarget& target, int32_t input, XnnLayer* x);
  bool RunXnnpack(XnnLayer& x, size_t batch);

  std::string isa_;
  std::vector<GemmPlan> gemms_;  // per Program GEMM
  XnnpackExecutorStats stats_;
};

XnnpackExecutor::~XnnpackExecutor() {
  for (GemmPlan& g : gemms_) {
    for (XnnLayer& x : g.xnn) xnn_delete_operator(x.op);
  }
}

Status XnnpackExecutor::Init() {
  if (xnn_status s = InitializeXnnpack(); s != xnn_status_success) {
    return Status::Error(StatusCode::kUnavailable, "xnnpack: xnn_initialize failed (xnn_status %d)",
                         static_cast<int>(s));
  }
  // XNNPACK may read (never write) up to XNN_EXTRA_BYTES past a tensor.
  if (Status s = ProgramExecutor::Init(XNN_EXTRA_BYTES); !s.ok()) return s;
  gemms_.resize(p_.gemms.size());
  for (const Op& op : p_.ops) {
    if (op.kind != Op::kGemm) continue;
    if (Status s = PlanGemm(p_.gemms[op.index], p_.targets[op.index], op.in.buffer, &gemms_[op.index]);
        !s.ok())
      return s;
  }
  return Status::Ok();
}

Status XnnpackExecutor::PlanGemm(const PackedGemm& g, const std::vector<SegmentTarget>& targets,
                                 int32_t input, GemmPlan* plan) {
  plan->rest = g;
  plan->rest.segments.clear();
  plan->rest.segment_types.clear();
  for (size_t s = 0; s < g.segments.size(); ++s) {
    const Segment& seg = g.segments[s];
    const bool int8_to_int8 = g.input == ElementType::kInt8 && g.segment_types[s] == DenseOutput::kInt8;
    const DenseLayer* layer = int8_to_int8 ? targets[s].layer : nullptr;
    if (layer && XnnpackCanRun(*layer)) {
      XnnLayer x;
      if (Status st = CreateOperator(seg, targets[s], input, &x); !st.ok()) return st;
      if (x.op) {
        plan->xnn.push_back(x);
        ++stats_.xnnpack_layers;
        continue;
      }
    }
    if (int8_to_int8) ++stats_.fallback_layers;
    plan->rest.segments.push_back(seg);
    plan->rest.segment_types.push_back(g.segment_types[s]);
    plan->rest_dst.push_back(At(targets[s].out.buffer, targets[s].out.offset));
    plan->rest_stride.push_back(p_.buffers[targets[s].out.buffer].stride);
  }
  plan->rest_gemv = PlanGemv(plan->rest, input, plan->rest_dst.data());
  return Status::Ok();
}

// Creates (and packs the weights of) the operator of the layer of `seg`, reading its slice of
// buffer `input` and writing its destination. A parameter XNNPACK refuses leaves x->op null:
// the layer stays on our kernels. Other failures are errors.
Status XnnpackExecutor::CreateOperator(const Segment& seg, const SegmentTarget& target, int32_t input,
                                       XnnLayer* x) {
  const DenseLayer& layer = *target.layer;
  const size_t in_stride = static_cast<size_t>(p_.buffers[input].stride);
  const size_t out_stride = static_cast<size_t>(p_.buffers[target.out.buffer].stride);
  xnn_operator_t op = nullptr;
  xnn_status s = xnn_create_convolution2d_nhwc_qc8(
      /*padding top, right, bottom, left=*/0, 0, 0, 0, /*kernel=*/1, 1, /*subsampling=*/1, 1,
      /*dilation=*/1, 1, /*groups=*/1, static_cast<size_t>(layer.in), static_cast<size_t>(layer.out),
      in_stride, out_stride, /*input_zero_point=*/0, /*input_scale=*/1.0f, layer.multipliers, layer.weights,
      layer.bias, static_cast<int8_t>(layer.output_zero_point), /*output_scale=*/1.0f,
      static_cast<int8_t>(layer.output_min), static_cast<int8_t>(layer.output_max), /*flags=*/0, &op);
  if (s == xnn_status_invalid_parameter || s == xnn_status_unsupported_parameter) return Status::Ok();
  if (s != xnn_status_success) {
    return Status::Error(
        StatusCode::kInternal,
        "xnnpack: xnn_create_convolution2d_nhwc_qc8 failed for a %d -> %d layer (xnn_status %d)", layer.in,
        layer.out, static_cast<int>(s));
  }
  x->op = op;
  x->input = reinterpret_cast<const int8_t*>(At(input, seg.a_offset));
  x->output = reinterpret_cast<int8_t*>(At(target.out.buffer, target.out.offset));
  // Set up for a full tile now, so that a setup failure is reported here rather than in Score.
  s = xnn_setup_convolution2d_nhwc_qc8(op, tile_, 1, 1, x->input, x->output, /*threadpool=*/nullptr);
  if (s != xnn_status_success) {
    xnn_delete_operator(op);
    x->op = nullptr;
    return Status::Error(
        StatusCode::kInternal,
        "xnnpack: xnn_setup_convolution2d_nhwc_qc8 failed for a %d -> %d layer (xnn_status %d)", layer.in,
        layer.out, static_cast<int>(s));
  }
  x->batch = tile_;
  return Status::Ok();
}

// Runs `x` on `batch` rows, setting it up again only when the batch size changed (the last,
// partial tile of a call). False when XNNPACK fails.
bool XnnpackExecutor::RunXnnpack(XnnLayer& x, size_t batch) {
  if (x.batch != batch) {
    x.batch = 0;
    if (xnn_setup_convolution2d_nhwc_qc8(x.op, batch, 1, 1, x.input, x.output, nullptr) !=
        xnn_status_success) {
      return false;
    }
    x.batch = batch;
  }
  return xnn_run_operator(x.op, /*threadpool=*/nullptr) == xnn_status_success;
}

void XnnpackExecutor::RunGemm(const Op& op, size_t batch) {
  GemmPlan& plan = gemms_[op.index];
  bool xnn_ok = true;
  for (XnnLayer& x : plan.xnn) xnn_ok = xnn_ok && RunXnnpack(x, batch);
  if (!xnn_ok) {
    // Score cannot report an error: our kernels recompute every segment, with the same bytes.
    ProgramExecutor::RunGemm(op, batch);
    return;
  }
  if (!plan.rest.segments.empty())
    RunGemmWith(plan.rest, op, batch, plan.rest_dst.data(), plan.rest_stride.data(), plan.rest_gemv);
}

}  // namespace

bool XnnpackAvailable() { return InitializeXnnpack() == xnn_status_success; }

Status CreateXnnpackExecutor(const ModelData& model, const Program& program, const GemmKernels& fallback,
                             size_t tile, std::unique_ptr<Executor>* out) {
  auto exec = std::make_unique<XnnpackExecutor>(model, program, fallback, tile);
  if (Status s = exec->Init(); !s.ok()) return s;
  *out = std::move(exec);
  return Status::Ok();
}

bool GetXnnpackExecutorStats(const Executor& executor, XnnpackExecutorStats* stats) {
  const auto* x = dynamic_cast<const XnnpackExecutor*>(&executor);
  if (!x) return false;
  *stats = x->stats();
  return true;
}

}  // namespace mmoe
