// A fixed set of worker threads that run one parallel loop at a time. Used only by sessions
// created with more than one thread; the single-thread score path never touches it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace mmoe {

class ThreadPool {
 public:
  // `workers` threads in addition to the caller.
  explicit ThreadPool(int workers);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Calls fn(context, part) for part in [0, parts) with parts <= workers + 1; the caller runs
  // part 0. Returns when all parts are done. No allocation.
  void Run(int parts, void (*fn)(void* context, int part), void* context);

 private:
  void Work(int index);

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  uint64_t generation_ = 0;
  int parts_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  void (*fn_)(void*, int) = nullptr;
  void* context_ = nullptr;
};

}  // namespace mmoe
