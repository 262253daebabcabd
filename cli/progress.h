// A one-line progress bar on stderr, drawn only when stderr is a terminal (never into logs or
// pipes) and the user did not ask for --quiet.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace mmoe::cli {

class ProgressBar {
 public:
  explicit ProgressBar(bool quiet) : enabled_(!quiet && ::isatty(STDERR_FILENO)) {}
  ~ProgressBar() { Finish(); }

  // Redraws at most ten times a second, and always at the end of a stage.
  void Update(const char* stage, int64_t done, int64_t total) {
    if (!enabled_ || total <= 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (stage_ == stage && done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    stage_ = stage;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / total);
    std::fprintf(stderr, "\r%-10s [%s%s] %3d%% %lld/%lld rows", stage, std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, ' ').c_str(), static_cast<int>(100 * done / total),
                 static_cast<long long>(done), static_cast<long long>(total));
    std::fflush(stderr);
    drawn_ = true;
  }
  // Ends the line so that later output starts on a fresh one.
  void Finish() {
    if (drawn_) std::fputc('\n', stderr);
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::string stage_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace mmoe::cli
