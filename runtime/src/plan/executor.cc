// What every executor shares: scoring a model whose one input is dense from a plain float array.
#include "plan/executor.h"

#include "mmoe/mmoe.h"

namespace mmoe {

void Executor::ScoreTile(const float* features, const int8_t* quantized, size_t batch, float* scores) {
  InputView view;
  view.data = features;
  TileInputs in;
  in.views = &view;
  in.quantized = quantized;
  ScoreTile(in, batch, scores);
}

}  // namespace mmoe
