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
#include "mmoe/converter/io.h"

namespace mmoe::testing {

struct RandomGateSpec {
  std::vector<int> experts;  // expert indices the softmax mixes; empty: every expert
  std::vector<int> hidden;   // hidden layer widths (ReLU); a last layer of experts.size() logits follows
};

struct RandomTaskSpec {
  std::string name;  // empty: "task<index>"
  int gate = 0;      // index into gates, or -1: the tower reads `expert` (Shared-Bottom)
  int expert = -1;
  std::vector<int> tower = {8};  // hidden layer widths (ReLU); a last layer of 1 logit follows
  converter::TaskOutput output = converter::TaskOutput::kSigmoid;
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
  uint32_t seed = 1;
};

// A model that passes converter::Validate. Layer names follow the seed's layout
// ("experts.0.1", "gates.0.0", "tasks.1.0") so that messages point somewhere readable.
converter::FloatModel RandomFloatModel(const RandomModelSpec& spec);

enum class FeatureKind {
  kBinary,    // each value 1 with probability `p_one`, else 0 (one-hot / multi-hot features)
  kGaussian,  // standard normal
};

converter::Matrix RandomFeatures(int64_t rows, int cols, FeatureKind kind, uint32_t seed, double p_one = 0.3);

}  // namespace mmoe::testing
