// One model shared by 8 threads, each scoring through its own session at the same time, gives
// the same bytes as one thread. Run under ThreadSanitizer by scripts/test-sanitizers.sh: the
// threads start together so that their sessions race on the model's lazily built execution
// plan, and the main thread drops its reference while they run, so the last session to finish
// frees the model.
#include <doctest/doctest.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.h"

namespace mmoe {
namespace {

constexpr int kThreads = 8;

// Holds threads back until all of them are ready, so their first calls overlap.
class StartLine {
 public:
  explicit StartLine(int n) : waiting_(n) {}
  void ArriveAndWait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (--waiting_ == 0) cv_.notify_all();
    cv_.wait(lock, [this] { return waiting_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int waiting_;
};

struct ThreadResult {
  std::vector<float> scores;
  std::string error;  // empty on success; doctest assertions are not used off the main thread
};

// Creates a session on `model` and scores all of `x` in batches of `batch` items, twice (the
// second pass reuses the arena).
void ScoreInThread(std::shared_ptr<const Model> model, const SessionOptions& options,
                   const converter::Matrix& x, size_t batch, StartLine* start, ThreadResult* out) {
  start->ArriveAndWait();
  std::unique_ptr<Session> session;
  if (Status s = Session::Create(std::move(model), options, &session); !s.ok()) {
    out->error = s.message();
    return;
  }
  const size_t rows = static_cast<size_t>(x.rows), dim = static_cast<size_t>(x.cols);
  const size_t tasks = static_cast<size_t>(session->model().num_tasks());
  out->scores.assign(rows * tasks, -1.0f);
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t first = 0; first < rows; first += batch) {
      const size_t n = std::min(batch, rows - first);
      Status s =
          session->Score(x.data.data() + first * dim, n, out->scores.data() + first * tasks, n * tasks);
      if (!s.ok()) {
        out->error = s.message();
        return;
      }
    }
  }
}

void CheckThreadsMatchOneThread(const SessionOptions& options, const char* label) {
  INFO(label);
  const converter::Matrix& x = testing::SeedEval();
  const std::string path = testing::SourcePath("tests/data/seed.mmoe");
  std::shared_ptr<const Model> reference_model;
  REQUIRE(Model::LoadFile(path.c_str(), &reference_model).ok());
  const converter::Matrix expected = testing::ScoreAll(reference_model, x, options);

  // A fresh model: its execution plan is built by whichever thread gets there first.
  std::shared_ptr<const Model> model;
  const Status s = Model::LoadFile(path.c_str(), &model);
  REQUIRE_MESSAGE(s.ok(), s.message());
  StartLine start(kThreads);
  std::vector<ThreadResult> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    // Different batch sizes, so that the threads are in different layers at any moment.
    const size_t batch = 1 + static_cast<size_t>(t) * 97;
    threads.emplace_back(ScoreInThread, model, options, std::cref(x), batch, &start, &results[t]);
  }
  model.reset();  // the sessions keep it alive
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    CAPTURE(t);
    REQUIRE_MESSAGE(results[t].error.empty(), results[t].error);
    REQUIRE(results[t].scores.size() == expected.data.size());
    CHECK(std::memcmp(results[t].scores.data(), expected.data.data(), expected.data.size() * sizeof(float)) ==
          0);
  }
}

TEST_CASE("threads: 8 threads sharing one model, a session each, give the one-thread bytes") {
  SessionOptions reference;
  reference.backend = Backend::kReference;
  CheckThreadsMatchOneThread(reference, "reference");
  SessionOptions simd;
  simd.backend = Backend::kSimd;
  CheckThreadsMatchOneThread(simd, "simd");
  if (BackendAvailable(Backend::kXnnpack)) {
    SessionOptions xnnpack;
    xnnpack.backend = Backend::kXnnpack;
    CheckThreadsMatchOneThread(xnnpack, "xnnpack");
  }
  // Sessions that themselves split each call over worker threads, 8 of them at once.
  SessionOptions pooled;
  pooled.backend = Backend::kSimd;
  pooled.threads = 2;
  pooled.tile_items = 16;
  CheckThreadsMatchOneThread(pooled, "simd, 2 worker threads per session");
}

}  // namespace
}  // namespace mmoe
