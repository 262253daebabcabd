// The reference executor: the graph's nodes one after the other, each through the reference
// kernels, every tensor in a buffer of its own. The specification the fused backends are
// tested against, and what mmoe eval observes tensor by tensor.
#include <cstring>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/row_ops.h"
#include "model_data.h"
#include "plan/executor.h"

namespace mmoe {
namespace {

using graph::Node;
using graph::Op;
using graph::TensorType;

size_t ElementSize(TensorType t) { return t == TensorType::kInt8 ? 1 : (t == TensorType::kInt16 ? 2 : 4); }

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
  void ScoreTile(const float* features, const int8_t* quantized, size_t batch, float* scores) override;
  size_t arena_bytes() const override { return arena_.size(); }
  const char* isa() const override { return kernels_.name; }

 private:
  // Rows of tensor t are width elements apart (no padding).
  size_t Stride(int32_t t) const { return static_cast<size_t>(g_.tensors[t].width); }
  const float* Floats(int32_t t) const { return reinterpret_cast<const float*>(tensors_[t]); }
  void Run(const Node& node, size_t index, size_t batch);

  const ModelData& m_;
  const graph::Graph& g_;
  const KernelTable& kernels_;  // dense layers
  const RowKernels& rows_;      // quantization, softmax, mixture, sigmoid
  size_t tile_;
  TensorObserver* observer_;
  Arena arena_;
  std::vector<uint8_t*> tensors_;                     // per tensor: [tile][width]
  std::vector<std::vector<const void*>> mix_inputs_;  // per node: a mixture's mixed tensors
};

Status ReferenceExecutor::Init() {
  std::vector<uint64_t> row_bytes;
  for (const graph::Tensor& t : g_.tensors)
    row_bytes.push_back(static_cast<uint64_t>(t.width) * ElementSize(t.type));
  if (Status s = arena_.AllocateBuffers(row_bytes, tile_, 0, &tensors_); !s.ok()) return s;
  mix_inputs_.resize(g_.nodes.size());
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    const Node& n = g_.nodes[i];
    if (n.op != Op::kMixture) continue;
    for (int32_t j = 0; j < n.num_experts(); ++j) mix_inputs_[i].push_back(tensors_[n.experts()[j]]);
  }
  return Status::Ok();
}

void ReferenceExecutor::Run(const Node& n, size_t index, size_t batch) {
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
  }
}

void ReferenceExecutor::ScoreTile(const float* features, const int8_t* quantized, size_t batch,
                                  float* scores) {
  const int32_t in = m_.input_tensor;
  int8_t* xq = reinterpret_cast<int8_t*>(tensors_[in]);
  if (quantized) {
    std::memcpy(xq, quantized, batch * static_cast<size_t>(m_.input_dim));
  } else {
    rows_.quantize(features, batch * static_cast<size_t>(m_.input_dim), m_.input_inv_scale,
                   m_.input_zero_point, xq);
  }
  if (observer_) observer_->Observe(in, xq, batch, Stride(in));
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    Run(g_.nodes[i], i, batch);
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
