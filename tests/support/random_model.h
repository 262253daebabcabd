// Random float models and feature matrices for tests that need shapes other than the seed's.
//
// Weights and biases are drawn like torch.nn.Linear's default initialisation, uniform in
// +-1/sqrt(in), optionally multiplied by a gain: at gain 1 a deep ReLU stack shrinks its
// activations layer after layer and every score ends up near 0.5, which would make an
// agreement test easy to pass by accident. Everything is drawn from one std::mt19937 seeded
// by the spec, so a spec always gives the same model in the same binary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mmoe/converter/float_model.h"
#include "mmoe/converter/inputs.h"
#include "mmoe/converter/io.h"

namespace mmoe::testing {

struct RandomGateSpec {
  std::vector<int> experts;  // expert indices the softmax mixes; empty: every expert
  std::vector<int> hidden;   // hidden layer widths (ReLU); a last layer of experts.size() logits follows
};

enum class TaskOutput { kSigmoid, kIdentity };

struct RandomTaskSpec {
  std::string name;  // empty: "task<index>"
  int gate = 0;      // index into gates, or -1: the tower reads `expert` (Shared-Bottom)
  int expert = -1;
  std::vector<int> tower = {8};  // hidden layer widths (ReLU); a last layer of 1 logit follows
  TaskOutput output = TaskOutput::kSigmoid;
};

struct RandomModelSpec {
  std::string name = "random";
  int input_dim = 16;
  int num_experts = 2;
  std::vector<int> expert_widths = {16, 8};  // every expert's layer widths (ReLU after each)
  std::vector<RandomGateSpec> gates;
  std::vector<RandomTaskSpec> tasks;
  // Multiply PyTorch's +-1/sqrt(in) bound: `gain` for expert and tower layers, `gate_gain`
  // for gate layers (a larger gain gives a peakier softmax, so that mixing the wrong experts
  // changes the scores visibly).
  float gain = 1.0f;
  float gate_gain = 1.0f;
  // The hidden layers' activation: ReLU (fused into the dense layers), or an activation node
  // after each hidden layer of the experts, gates and towers.
  converter::FloatActivation hidden = {converter::Function::kRelu, {}};
  uint32_t seed = 1;
};

// A model that passes converter::Validate: the graph an MMoE of this shape is (experts and
// gates reading the input, a mixture per task, towers, sigmoid or identity outputs). Layer
// names follow the seed's layout ("experts.0.1", "gates.0.0", "tasks.1.0") so that messages
// point somewhere readable.
converter::FloatModel RandomFloatModel(const RandomModelSpec& spec);

// Multi-level PLE (Tang et al., RecSys 2020; torch-rechub's and DeepCTR-Torch's PLE): at each
// level, `specific` experts per task and `shared` shared experts; task t's gate mixes its own
// experts then the shared ones, the shared gate (every level but the last) all of them. Level
// l + 1's task-t experts and gate read task t's level-l mixture; its shared experts and shared
// gate read the shared mixture. Towers read the last level's task mixtures.
struct RandomPleSpec {
  int input_dim = 16;
  int tasks = 2;
  int levels = 2;
  int specific = 2;
  int shared = 1;
  std::vector<int> expert_widths = {12, 8};
  std::vector<int> gate_hidden;  // hidden layers of each gate (ReLU)
  std::vector<int> tower = {6};
  float gain = 1.5f;
  float gate_gain = 2.0f;
  uint32_t seed = 1;
};
converter::FloatModel RandomPleModel(const RandomPleSpec& spec);

// ESMM (Ma et al., SIGIR 2018): a CTR and a CVR tower reading the input; outputs pCTR and
// pCTCVR = pCTR x pCVR (DeepCTR-Torch's order), and pCVR when `cvr_output`.
converter::FloatModel RandomEsmmModel(int input_dim, const std::vector<int>& tower, bool cvr_output,
                                      float gain, uint32_t seed);

// An MMoE on sparse features, as DeepCTR-Torch and torch-rechub build them: "user" (one id, a
// table of user_rows x 8), "item" (one id, item_rows x 8), "tags" (a bag, 30 x 4, mean,
// padding id 0 whose row is zeros, as nn.Embedding(padding_idx=0) trains it) and "dense" (3
// floats), embedded and concatenated in that order; `experts` experts 16 -> 8 (ReLU), a gate
// and a tower 8 -> 1 per task (2 tasks, sigmoid). Embedding values are N(0, emb_std)-like:
// the libraries initialise them at 1e-4 and training grows them; a few rows are larger.
struct RandomSparseSpec {
  int64_t user_rows = 50;
  int64_t item_rows = 100;
  int experts = 3;
  float emb_std = 0.3f;
  float gain = 3.0f;          // experts and towers (see RandomModelSpec::gain)
  bool default_rows = false;  // the id embeddings read a default row for unknown ids
  uint32_t seed = 1;
};
converter::FloatModel RandomSparseModel(const RandomSparseSpec& spec);
// Rows of inputs for RandomSparseModel: ids uniform in their tables (some beyond them when
// `bad_ids`), bags of 0 to 5 tags with padding among them, dense features around 0 to 10.
converter::Inputs RandomSparseInputs(const RandomSparseSpec& spec, int64_t rows, uint32_t seed,
                                     bool bad_ids = false);

enum class FeatureKind {
  kBinary,    // each value 1 with probability `p_one`, else 0 (one-hot / multi-hot features)
  kGaussian,  // standard normal
};

converter::Matrix RandomFeatures(int64_t rows, int cols, FeatureKind kind, uint32_t seed, double p_one = 0.3);

}  // namespace mmoe::testing
