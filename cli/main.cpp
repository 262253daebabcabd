// mmoe: convert, inspect and score mmoe-edge models.
#include <csignal>
#include <cstdio>
#include <exception>

#include "commands.h"
#include "mmoe/mmoe.h"

int main(int argc, char** argv) {
  // Past a file size limit (RLIMIT_FSIZE, e.g. `ulimit -f`), write() fails with EFBIG, which
  // the atomic writer reports and cleans up after like a full disk; the default SIGXFSZ would
  // instead kill the process mid-write and leave the temporary file behind.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"mmoe-edge: int8 inference for multi-task Mixture-of-Experts models"};
  app.set_version_flag("--version", std::string("mmoe-edge ") + mmoe::RuntimeVersion());
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, mmoe::cli::Action>> commands;
  auto add = [&](const char* name, const char* help, mmoe::cli::Action (*fn)(CLI::App&)) {
    CLI::App* sub = app.add_subcommand(name, help);
    commands.emplace_back(sub, fn(*sub));
  };
  add("convert", "Quantize float weights (.safetensors) into an int8 model file", mmoe::cli::AddConvert);
  add("inspect", "Print a model file's structure and quantization", mmoe::cli::AddInspect);
  add("score", "Score feature rows (.npy/.csv) with a model", mmoe::cli::AddScore);
  add("bench", "Time model load, session creation and Score calls on one backend", mmoe::cli::AddBench);
  add("eval", "Compare an int8 model with its float weights: AUC, log loss, rank agreement, per-layer SQNR",
      mmoe::cli::AddEval);
  // Name an unknown command rather than CLI11's generic "a subcommand is required".
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (auto& entry : commands) known = known || entry.first->get_name() == argv[1];
    if (!known) {
      std::fprintf(
          stderr,
          "mmoe: error: unknown command '%s' (commands: convert, inspect, score, bench, eval; see --help)\n",
          argv[1]);
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, action] : commands) {
      if (sub->parsed()) action();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mmoe: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
