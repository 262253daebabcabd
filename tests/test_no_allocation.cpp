// Score calls allocate nothing: this binary's global operator new counts allocations made
// while a score call runs, for every backend and ISA, float and int8 input, one and several
// tiles, and the error paths.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "support/fixtures.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};

void* CountedAlloc(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
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

}  // namespace
}  // namespace mmoe
