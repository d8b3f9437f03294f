// The `cairn` command line: one binary, every role. Run() parses, dispatches
// and maps outcomes to exit codes:
//   0  success
//   1  the command ran and failed (an audit found corruption, a disk error)
//   2  usage or input error (bad flags, a malformed or missing file)
//   3  incomplete: the command found nothing wrong but could not check
//      everything (`cairn ledger audit --recompute` with rulings whose
//      evidence is missing: UNCHECKABLE)
#pragma once

#include <functional>
#include <string>

#include "cairn/status.h"

namespace CLI {
class App;
}

namespace cairn::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitIncomplete = 3;

int Run(int argc, char** argv);

// Prints "cairn: <message>" (and a hint, if any) to stderr and returns the
// exit code for `status`: 2 for input errors, 1 for everything else.
int ReportError(const Status& status);
// Like ReportError, for failures reading the user's inputs (job files,
// datasets, models, certificates): always exit code 2.
int ReportInputError(const Status& status);

// Each command group registers its subcommands and sets `action` to run.
struct Command {
  std::function<int()> action;
};
void RegisterKeysCommands(CLI::App* app, Command* command);
void RegisterLedgerCommands(CLI::App* app, Command* command);
void RegisterTrainCommands(CLI::App* app, Command* command);
void RegisterExportCommands(CLI::App* app, Command* command);
void RegisterNodeCommands(CLI::App* app, Command* command);
void RegisterNetworkCommands(CLI::App* app, Command* command);  // After RegisterTrainCommands (adds to `job`).
void RegisterDevnetCommands(CLI::App* app, Command* command);
void RegisterDisputeCommands(CLI::App* app, Command* command);

}  // namespace cairn::cli
