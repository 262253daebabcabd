// Runs a Program (plan/program.h) on one tile: quantize, fused GEMMs, softmax, mixture,
// task outputs. Every buffer is placed in the arena at creation (plan/program_executor_init.cc);
// ScoreTile allocates nothing.
#include "plan/program_executor.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/row_ops.h"
#include "mmoe/mmoe.h"
#include "model_data.h"

namespace mmoe {
void ProgramExecutor::Mix(const MixPlan& mix, size_t batch, const Op& op) {
  MixArgs args;
  args.experts = mix_inputs_[&mix - p_.mixes.data()].data();
  args.experts_int16 = mix.experts_int16;
  args.in_stride = static_cast<size_t>(p_.buffers[mix.experts_buffer].stride);
  args.zero_points = mix.zero_points;
  args.scales = mix.scales;
  args.probs = mix.probs_buffer >= 0 ? reinterpret_cast<const float*>(buffers_[mix.probs_buffer]) : nullptr;
  args.n = mix.n;
  args.width = mix.width;
  args.batch = batch;
  args.out = mix.out;
  args.dst = rows_[3 * static_cast<size_t>(&op - p_.ops.data()) + 2].arena;
  args.out_stride = static_cast<size_t>(p_.buffers[op.out.buffer].stride);
  k_.rows->mix(args);
}

void ProgramExecutor::RunGemm(const Op& op, size_t batch) {
  RunGemmWith(p_.gemms[op.index], op, batch, dst_[op.index].data(), dst_stride_[op.index].data(),
              gemv_[op.index]);
}

void ProgramExecutor::RunGemmWith(const PackedGemm& g, const Op& op, size_t batch, void* const* dst,
                                  const int32_t* dst_stride, const std::vector<GemvChunk>& chunks) const {
  if (batch == 1 && !chunks.empty()) {
    if (gemv_reverse_) {
      for (size_t i = chunks.size(); i-- > 0;) chunks[i].kernel(chunks[i], true);
    } else {
      for (const GemvChunk& c : chunks) c.kernel(c, false);
    }
    return;
  }
  GemmArgs args;
  args.gemm = &g;
  args.m = batch;
  args.a = buffers_[op.in.buffer];
  args.a_stride = static_cast<size_t>(p_.buffers[op.in.buffer].stride);
  args.dst = dst;
  args.dst_stride = dst_stride;
  k_.gemm(args);
}

void ProgramExecutor::BeginTile(const TileInputs& in, size_t batch) {
  if (batch == 1) gemv_reverse_ = !gemv_reverse_;
  in_ = &in;
  if (p_.input_buffer < 0) return;
  const size_t dim = static_cast<size_t>(m_.input_dim);
  const size_t in_stride = static_cast<size_t>(p_.buffers[p_.input_buffer].stride);
  // Contiguous rows (the input's width a multiple of 16) in one call, else row by row.
  const float* features =
      in.quantized ? nullptr : static_cast<const float*>(in.views[0].data) + in.first * dim;
  void* x = buffers_[p_.input_buffer];
  for (size_t i = 0, rows = in_stride == dim ? 1 : batch, n = in_stride == dim ? batch * dim : dim; i < rows;
       ++i) {
    if (m_.input16) {
      k_.rows->quantize16(features + i * dim, n, m_.input_inv_scale,
                          static_cast<int16_t*>(x) + i * in_stride);
    } else if (in.quantized) {
      std::memcpy(static_cast<int8_t*>(x) + i * in_stride, in.quantized + i * dim, n);
    } else {
      k_.rows->quantize(features + i * dim, n, m_.input_inv_scale, m_.input_zero_point,
                        static_cast<int8_t*>(x) + i * in_stride);
    }
  }
}

void ProgramExecutor::Concat(const ConcatPlan& plan, size_t batch, const Row& out) const {
  const ConcatParams& c = m_.concats[plan.params];
  for (size_t j = 0; j < plan.inputs.size(); ++j) {
    const Place& place = plan.inputs[j];
    const size_t width = static_cast<size_t>(plan.widths[j]);
    const float* x;
    size_t stride;
    if (place.buffer == kInputs) {  // the caller's features
      x = static_cast<const float*>(in_->views[place.offset].data) + in_->first * width;
      stride = width;
    } else {
      x = reinterpret_cast<const float*>(At(place.buffer, place.offset));
      stride = static_cast<size_t>(p_.buffers[place.buffer].stride);
    }
    const int32_t at = c.offsets[j];
    k_.rows->quantize_columns(x, stride, batch, plan.widths[j], c.inv_scales.data() + at, c.zero_points + at,
                              reinterpret_cast<int8_t*>(out.arena) + at, out.stride);
  }
}

void ProgramExecutor::RunOp(const Op& op, size_t batch, float* scores) {
  switch (op.kind) {
    case Op::kGemm:
      RunGemm(op, batch);
      break;
    case Op::kActivation: {
      const Row* r = &rows_[3 * static_cast<size_t>(&op - p_.ops.data())];
      rows::Activation(m_.activations[op.index], r[0].arena, r[0].stride, r[2].arena, r[2].stride, batch,
                       op.width);
      break;
    }
    case Op::kSoftmax: {
      const Row* r = &rows_[3 * static_cast<size_t>(&op - p_.ops.data())];
      k_.rows->softmax(r[0].Floats(scores), r[0].stride, batch, op.width, r[2].Floats(scores));
      break;
    }
    case Op::kMix:
      Mix(p_.mixes[op.index], batch, op);
      break;
    case Op::kScore: {
      const Row* r = &rows_[3 * static_cast<size_t>(&op - p_.ops.data())];
      for (int32_t c = 0; c < op.width; ++c) {
        k_.rows->task_output(r[0].Floats(scores) + c, r[0].stride, batch, op.index != 0,
                             r[2].Floats(scores) + c, r[2].stride);
      }
      break;
    }
    case Op::kProduct: {
      const Row* r = &rows_[3 * static_cast<size_t>(&op - p_.ops.data())];
      rows::Product(r[0].Floats(scores), r[0].stride, r[1].Floats(scores), r[1].stride, batch, op.width,
                    r[2].Floats(scores), r[2].stride);
      break;
    }
    case Op::kEmbedding: {
      const Row* r = &rows_[3 * static_cast<size_t>(&op - p_.ops.data())];
      const InputView& v = in_->views[op.in.offset];
      const IdBatch ids{v.data, v.type == DataType::kInt64, v.offsets, in_->first};
      k_.rows->embedding(m_.embeddings[op.index], ids, batch, reinterpret_cast<float*>(r[2].arena),
                         r[2].stride);
      break;
    }
    case Op::kConcat:
      Concat(p_.concats[op.index], batch, rows_[3 * static_cast<size_t>(&op - p_.ops.data()) + 2]);
      break;
  }
}

}  // namespace mmoe
