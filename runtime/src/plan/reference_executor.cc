// The reference executor: the graph's nodes one after the other, each through the reference
// kernels, every tensor in a buffer of its own. The specification the fused backends are
// tested against, and what mmoe eval observes tensor by tensor.
#include <cstring>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/row_ops.h"
#include "mmoe/mmoe.h"
#include "model_data.h"
#include "plan/executor.h"

namespace mmoe {
namespace {

using graph::Node;
using graph::Op;
using graph::TensorType;

// Id tensors take no arena space: embeddings read the caller's ids.
size_t ElementSize(TensorType t) {
  switch (t) {
    case TensorType::kInt8:
      return 1;
    case TensorType::kInt16:
      return 2;
    case TensorType::kFloat:
      return 4;
    case TensorType::kId:
      return 0;
  }
  return 4;
}

class ReferenceExecutor final : public Executor {
 public:
  ReferenceExecutor(const ModelData& model, size_t tile, TensorObserver* observer)
      : m_(model),
        g_(model.graph),
        kernels_(ReferenceKernels()),
        rows_(GenericRowKernels()),
        tile_(tile),
        observer_(observer) {}

  Status Init();
  using Executor::ScoreTile;
  void ScoreTile(const TileInputs& in, size_t batch, float* scores) override;
  size_t arena_bytes() const override { return arena_.size(); }
  const char* isa() const override { return kernels_.name; }

 private:
  // Rows of tensor t are width elements apart (no padding).
  size_t Stride(int32_t t) const { return static_cast<size_t>(g_.tensors[t].width); }
  const float* Floats(int32_t t) const { return reinterpret_cast<const float*>(tensors_[t]); }
  void Run(const Node& node, size_t index, size_t batch, const TileInputs& in);
  // Puts the tile's dense inputs in their tensors (int8: quantized; float: copied).
  void LoadInputs(const TileInputs& in, size_t batch);

  const ModelData& m_;
  const graph::Graph& g_;
  const KernelTable& kernels_;  // dense layers
  const RowKernels& rows_;      // quantization, softmax, mixture, sigmoid
  size_t tile_;
  TensorObserver* observer_;
  Arena arena_;
  std::vector<uint8_t*> tensors_;                     // per tensor: [tile][width]
  std::vector<std::vector<const void*>> mix_inputs_;  // per node: a mixture's mixed tensors
  std::vector<size_t> input_of_;                      // per tensor: the graph input giving it
};

Status ReferenceExecutor::Init() {
  std::vector<uint64_t> row_bytes;
  for (const graph::Tensor& t : g_.tensors)
    row_bytes.push_back(static_cast<uint64_t>(t.width) * ElementSize(t.type));
  if (Status s = arena_.AllocateBuffers(row_bytes, tile_, 0, &tensors_); !s.ok()) return s;
  input_of_.assign(g_.tensors.size(), 0);
  for (size_t i = 0; i < g_.inputs.size(); ++i) input_of_[static_cast<size_t>(g_.inputs[i].tensor)] = i;
  mix_inputs_.resize(g_.nodes.size());
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    const Node& n = g_.nodes[i];
    if (n.op != Op::kMixture) continue;
    for (int32_t j = 0; j < n.num_experts(); ++j) mix_inputs_[i].push_back(tensors_[n.experts()[j]]);
  }
  return Status::Ok();
}

void ReferenceExecutor::Run(const Node& n, size_t index, size_t batch, const TileInputs& in) {
  const int32_t x = n.inputs[0], y = n.output;
  const int32_t width = g_.tensors[y].width;
  switch (n.op) {
    case Op::kDense: {
      const DenseLayer& layer = m_.dense[n.param];
      kernels_.dense[static_cast<int>(layer.input)][static_cast<int>(layer.output)](layer, batch, tensors_[x],
                                                                                    tensors_[y]);
      break;
    }
    case Op::kActivation:
      rows::Activation(m_.activations[n.param], tensors_[x], Stride(x), tensors_[y], Stride(y), batch, width);
      break;
    case Op::kSoftmax:
      rows_.softmax(Floats(x), Stride(x), batch, width, reinterpret_cast<float*>(tensors_[y]));
      break;
    case Op::kMixture: {
      const MixtureParams& params = m_.mixtures[index];
      MixArgs mix;
      mix.experts = mix_inputs_[index].data();
      mix.experts_int16 = params.experts_int16;
      mix.in_stride = static_cast<size_t>(width);
      mix.zero_points = params.zero_points.data();
      mix.scales = params.scales;
      mix.probs = n.gated ? Floats(x) : nullptr;
      mix.n = n.num_experts();
      mix.width = width;
      mix.batch = batch;
      mix.out = params.out;
      mix.dst = tensors_[y];
      mix.out_stride = static_cast<size_t>(width);
      rows_.mix(mix);
      break;
    }
    case Op::kSigmoid:
      for (int32_t c = 0; c < width; ++c) {
        rows_.task_output(Floats(x) + c, Stride(x), batch, true, reinterpret_cast<float*>(tensors_[y]) + c,
                          Stride(y));
      }
      break;
    case Op::kProduct:
      rows::Product(Floats(x), Stride(x), Floats(n.inputs[1]), Stride(n.inputs[1]), batch, width,
                    reinterpret_cast<float*>(tensors_[y]), Stride(y));
      for (size_t j = 2; j < n.inputs.size(); ++j) {
        rows::Product(Floats(y), Stride(y), Floats(n.inputs[j]), Stride(n.inputs[j]), batch, width,
                      reinterpret_cast<float*>(tensors_[y]), Stride(y));
      }
      break;
    case Op::kEmbedding: {
      const InputView& v = in.views[input_of_[x]];
      const IdBatch ids{v.data, v.type == DataType::kInt64, v.offsets, in.first};
      rows::Embedding(m_.embeddings[n.param], ids, batch, reinterpret_cast<float*>(tensors_[y]), Stride(y));
      break;
    }
    case Op::kConcat: {
      const ConcatParams& c = m_.concats[n.param];
      for (size_t j = 0; j < n.inputs.size(); ++j) {
        const int32_t t = n.inputs[j];
        const int32_t at = c.offsets[j];
        rows::QuantizeColumns(Floats(t), Stride(t), batch, g_.tensors[t].width, c.inv_scales.data() + at,
                              c.zero_points + at, reinterpret_cast<int8_t*>(tensors_[y]) + at, Stride(y));
      }
      break;
    }
  }
}

void ReferenceExecutor::LoadInputs(const TileInputs& in, size_t batch) {
  for (size_t i = 0; i < g_.inputs.size(); ++i) {
    const int32_t t = g_.inputs[i].tensor;
    const graph::Tensor& tensor = g_.tensors[t];
    const size_t width = static_cast<size_t>(tensor.width);
    if (tensor.type == TensorType::kInt8) {
      int8_t* xq = reinterpret_cast<int8_t*>(tensors_[t]);
      if (in.quantized) {
        std::memcpy(xq, in.quantized, batch * width);
      } else {
        const float* x = static_cast<const float*>(in.views[i].data) + in.first * width;
        rows_.quantize(x, batch * width, m_.input_inv_scale, m_.input_zero_point, xq);
      }
    } else if (tensor.type == TensorType::kInt16) {
      const float* x = static_cast<const float*>(in.views[i].data) + in.first * width;
      rows_.quantize16(x, batch * width, m_.input_inv_scale, reinterpret_cast<int16_t*>(tensors_[t]));
    } else if (tensor.type == TensorType::kFloat) {
      std::memcpy(tensors_[t], static_cast<const float*>(in.views[i].data) + in.first * width,
                  batch * width * sizeof(float));
    }
    if (observer_ && tensor.type != TensorType::kId) observer_->Observe(t, tensors_[t], batch, Stride(t));
  }
}

void ReferenceExecutor::ScoreTile(const TileInputs& in, size_t batch, float* scores) {
  LoadInputs(in, batch);
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    Run(g_.nodes[i], i, batch, in);
    if (observer_)
      observer_->Observe(g_.nodes[i].output, tensors_[g_.nodes[i].output], batch, Stride(g_.nodes[i].output));
  }
  const size_t n_tasks = g_.outputs.size();
  for (size_t t = 0; t < n_tasks; ++t) {
    const float* score = Floats(g_.outputs[t].tensor);
    for (size_t i = 0; i < batch; ++i) scores[i * n_tasks + t] = score[i];
  }
}

}  // namespace

Status CreateReferenceExecutor(const ModelData& model, size_t tile, std::unique_ptr<Executor>* out,
                               TensorObserver* observer) {
  auto exec = std::make_unique<ReferenceExecutor>(model, tile, observer);
  if (Status s = exec->Init(); !s.ok()) return s;
  *out = std::move(exec);
  return Status::Ok();
}

}  // namespace mmoe
