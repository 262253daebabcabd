// Subcommands of the `mmoe` tool. Each registers its options on the parser and returns the
// action to run; actions throw on error (main prints the message to stderr, exit status 1).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace mmoe::cli {

using Action = std::function<void()>;

Action AddConvert(CLI::App& app);
Action AddInspect(CLI::App& app);
Action AddScore(CLI::App& app);
Action AddBench(CLI::App& app);
Action AddEval(CLI::App& app);

}  // namespace mmoe::cli
