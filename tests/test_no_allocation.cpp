// Score calls allocate nothing: this binary's global operator new counts allocations made
// while a score call runs, for every backend and ISA, float and int8 input, one and several
// tiles, and the error paths. The same operator new can also make the n-th allocation fail,
// to show that running out of memory while loading a model or creating a session is reported
// as OUT_OF_MEMORY by both APIs and never escapes as an exception.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "mmoe/mmoe_c.h"
#include "support/fixtures.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
// While > 0, counts allocations down; the one that takes it to 0 throws std::bad_alloc.
std::atomic<long> g_fail_countdown{0};

// Counts an allocation, and throws if it is the one to fail.
void Count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (g_fail_countdown.load(std::memory_order_relaxed) > 0 && g_fail_countdown.fetch_sub(1) == 1) {
    throw std::bad_alloc();
  }
}

void* CountedAlloc(std::size_t size) {
  Count();
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}

// The over-aligned forms (the plan's packed weights are 64-byte aligned) count and fail too.
void* CountedAlignedAlloc(std::size_t size, std::align_val_t align) {
  Count();
  const std::size_t a = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a) / a * a)) return p;  // a multiple of a, never 0
  throw std::bad_alloc();
}
}  // namespace

// Replacements for the whole test binary; they only count while g_counting is set.
void* operator new(std::size_t size) { return CountedAlloc(size); }
void* operator new[](std::size_t size) { return CountedAlloc(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return CountedAlloc(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return CountedAlloc(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t size, std::align_val_t a) { return CountedAlignedAlloc(size, a); }
void* operator new[](std::size_t size, std::align_val_t a) { return CountedAlignedAlloc(size, a); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace mmoe {
namespace {

long AllocationsDuring(void (*fn)(Session&, const converter::Matrix&, std::vector<float>&), Session& session,
                       const converter::Matrix& x, std::vector<float>& out) {
  g_allocations = 0;
  g_counting = true;
  fn(session, x, out);
  g_counting = false;
  return g_allocations.load();
}

TEST_CASE("score calls do not allocate, for every backend and ISA") {
  const converter::Matrix& x = testing::SeedEval();
  std::vector<float> out(static_cast<size_t>(x.rows) * 2);
  std::vector<std::pair<Backend, const char*>> variants = {{Backend::kReference, nullptr}};
  for (const char* const* isa = SimdIsaNames(); *isa; ++isa) variants.push_back({Backend::kSimd, *isa});
  if (BackendAvailable(Backend::kXnnpack)) variants.push_back({Backend::kXnnpack, nullptr});
  // The counter works: creating a session allocates.
  {
    g_allocations = 0;
    g_counting = true;
    std::unique_ptr<Session> s;
    REQUIRE(Session::Create(testing::SeedModel(), SessionOptions(), &s).ok());
    g_counting = false;
    CHECK(g_allocations.load() > 0);
  }
  for (const auto& [backend, isa] : variants) {
    SessionOptions options;
    options.backend = backend;
    options.isa = isa;
    options.tile_items = 16;
    std::unique_ptr<Session> session;
    REQUIRE(Session::Create(testing::SeedModel(), options, &session).ok());
    INFO(BackendName(backend) << " " << (isa ? isa : ""));
    // First calls may warm up lazily created state; the contract is about steady state too,
    // so both the first and a later call are counted.
    for (int round = 0; round < 2; ++round) {
      CHECK(AllocationsDuring(
                [](Session& s, const converter::Matrix& m, std::vector<float>& o) {
                  REQUIRE(s.Score(m.data.data(), 1, o.data(), o.size()).ok());
                  REQUIRE(s.Score(m.data.data(), static_cast<size_t>(m.rows), o.data(), o.size()).ok());
                },
                *session, x, out) == 0);
      CHECK(AllocationsDuring(
                [](Session& s, const converter::Matrix& m, std::vector<float>& o) {
                  // Error paths build their message in a fixed buffer.
                  CHECK(!s.Score(nullptr, 1, o.data(), o.size()).ok());
                  CHECK(!s.Score(m.data.data(), 5, o.data(), 3).ok());
                },
                *session, x, out) == 0);
    }
  }
}

TEST_CASE("quantized-input score calls do not allocate") {
  const converter::Matrix& x = testing::SeedEval();
  std::unique_ptr<Session> session;
  REQUIRE(Session::Create(testing::SeedModel(), SessionOptions(), &session).ok());
  std::vector<int8_t> q(x.data.size());
  REQUIRE(session->QuantizeInput(x.data.data(), static_cast<size_t>(x.rows), q.data(), q.size()).ok());
  std::vector<float> out(static_cast<size_t>(x.rows) * 2);
  g_allocations = 0;
  g_counting = true;
  const Status s = session->ScoreQuantized(q.data(), static_cast<size_t>(x.rows), out.data(), out.size());
  g_counting = false;
  CHECK(s.ok());
  CHECK(g_allocations.load() == 0);
}

// Makes the k-th allocation from now fail; returns whether it was reached when disarmed.
class FailingAllocation {
 public:
  explicit FailingAllocation(long k) { g_fail_countdown = k; }
  bool Disarm() { return g_fail_countdown.exchange(0) <= 0; }
  ~FailingAllocation() { g_fail_countdown = 0; }
};

// Runs `attempt` with its 1st, 2nd, 3rd... allocation failing, until a run makes fewer
// allocations than that (and so must succeed); returns how many allocations a run makes.
// `attempt(fail)` calls the API, then fail.Disarm() before checking anything, and returns
// whether it succeeded.
template <typename Attempt>
long FailEachAllocationInTurn(Attempt attempt) {
  for (long k = 1;; ++k) {
    CAPTURE(k);
    FailingAllocation fail(k);
    bool reached = false;
    const bool ok = attempt([&] { reached = fail.Disarm(); });
    if (!reached) {
      CHECK(ok);
      return k - 1;
    }
  }
}

// Sessions with worker threads, so that the thread pool's set-up is among the allocations.
constexpr int kSessionThreads = 2;

TEST_CASE("C++ API: each allocation in loading and session creation failing in turn gives OUT_OF_MEMORY") {
  const std::vector<uint8_t>& bytes = testing::SeedModelBytes();
  const converter::Matrix& x = testing::SeedEval();
  std::vector<float> out(2);
  const long allocations = FailEachAllocationInTurn([&](auto disarm) {
    std::shared_ptr<const Model> model;
    std::unique_ptr<Session> session;
    SessionOptions options;
    options.threads = kSessionThreads;
    const Status load = Model::LoadBuffer(bytes.data(), bytes.size(), &model);
    const Status create = load.ok() ? Session::Create(model, options, &session) : Status::Ok();
    disarm();
    for (const Status* s : {&load, &create}) {
      INFO(s->message());
      CHECK((s->ok() || s->code() == StatusCode::kOutOfMemory));
    }
    if (session) CHECK(session->Score(x.data.data(), 1, out.data(), out.size()).ok());
    return load.ok() && create.ok();
  });
  std::printf("C++ API: %ld allocations in load + session create, each failed in turn\n", allocations);
  CHECK(allocations > 10);
}

TEST_CASE("C API: each allocation in loading and session creation failing in turn gives MMOE_OUT_OF_MEMORY") {
  const std::vector<uint8_t>& bytes = testing::SeedModelBytes();
  const converter::Matrix& x = testing::SeedEval();
  std::vector<float> out(2);
  const long allocations = FailEachAllocationInTurn([&](auto disarm) {
    mmoe_model* model = nullptr;
    mmoe_session* session = nullptr;
    mmoe_session_options options;
    mmoe_session_options_init(&options);
    options.threads = kSessionThreads;
    const mmoe_status load = mmoe_model_load_buffer(bytes.data(), bytes.size(), 1, &model);
    const mmoe_status create = load == MMOE_OK ? mmoe_session_create(model, &options, &session) : MMOE_OK;
    disarm();
    for (mmoe_status st : {load, create}) {
      INFO(mmoe_last_error());
      CHECK((st == MMOE_OK || st == MMOE_OUT_OF_MEMORY));
      if (st == MMOE_OUT_OF_MEMORY)
        CHECK(std::string(mmoe_last_error()).find("out of memory") != std::string::npos);
    }
    CHECK((load == MMOE_OK) == (model != nullptr));
    CHECK((create == MMOE_OK && load == MMOE_OK) == (session != nullptr));
    if (session) CHECK(mmoe_session_score(session, x.data.data(), 1, out.data(), out.size()) == MMOE_OK);
    mmoe_session_destroy(session);
    mmoe_model_destroy(model);
    return load == MMOE_OK && create == MMOE_OK;
  });
  CHECK(allocations > 10);
}

}  // namespace
}  // namespace mmoe
