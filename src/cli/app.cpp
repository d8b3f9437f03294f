#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "util/log.h"

namespace cairn::cli {

int ReportError(const Status& status) {
  std::fprintf(stderr, "cairn: %s\n", status.ToString().c_str());
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
    case StatusCode::kPermissionDenied:
      return kExitUsage;
    default:
      return kExitFailure;
  }
}

int ReportInputError(const Status& status) {
  std::fprintf(stderr, "cairn: %s\n", status.ToString().c_str());
  return kExitUsage;
}

int Run(int argc, char** argv) {
  // Line-buffered stdout keeps results and stderr logs in order when piped.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  CLI::App app{"cairn: a verifiable, decentralized ML-training network node and CLI"};
  app.name("cairn");
  app.set_version_flag("--version", std::string("cairn ") + CAIRN_VERSION);
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off (logs go to stderr)")
      ->capture_default_str();

  Command command;
  RegisterKeysCommands(&app, &command);
  RegisterLedgerCommands(&app, &command);
  RegisterTrainCommands(&app, &command);
  RegisterExportCommands(&app, &command);
  RegisterNodeCommands(&app, &command);
  RegisterNetworkCommands(&app, &command);
  RegisterDevnetCommands(&app, &command);
  RegisterDisputeCommands(&app, &command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "cairn: usage error: %s\nRun `cairn --help` (or `cairn <command> --help`) for usage.\n",
                 e.what());
    return kExitUsage;
  }
  Status logging = util::InitLogging(log_level);
  if (!logging.ok()) return ReportError(logging);
  if (!command.action) {
    std::fprintf(stderr, "cairn: usage error: missing command\n%s", app.help().c_str());
    return kExitUsage;
  }
  return command.action();
}

}  // namespace cairn::cli
