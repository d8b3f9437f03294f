// `cairn node --config FILE`: the daemon (docs/node.md), and
// `cairn node status` for an operator.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>

#include "cli/app.h"
#include "cli/client.h"
#include "config/node_config.h"
#include "node/node.h"
#include "util/log.h"

namespace cairn::cli {
namespace {

// Set by SIGTERM/SIGINT, installed before the node starts so that a signal
// during start-up is a clean stop too, never the default (death by signal).
volatile sig_atomic_t g_stop_requested = 0;

void OnSignal(int) { g_stop_requested = 1; }

struct NodeArgs {
  std::string config;
  std::string log_format;
  std::string log_level;
};

int RunNode(const NodeArgs& args) {
  auto config = config::LoadNodeConfig(args.config);
  if (!config.ok()) return ReportInputError(config.status());
  if (!args.log_format.empty()) config->log_format = args.log_format;
  if (!args.log_level.empty()) config->log_level = args.log_level;
  Status logging = util::InitLogging(config->log_level, config->log_format);
  if (!logging.ok()) return ReportInputError(logging);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  auto node = node::Node::Start(*config);
  if (!node.ok()) return ReportError(node.status().WithContext("cairn node"));
  Status s = (*node)->Run([] { return g_stop_requested != 0; });
  node->reset();  // Stops in reverse order of start-up.
  if (!s.ok()) return ReportError(s);
  return kExitOk;
}

int Status_(const ClientArgs& args) {
  auto node = ResolveNode(args);
  if (!node.ok()) return ReportInputError(node.status());
  net::NodeQueries q(*node);
  auto head = q.GetHead();
  if (!head.ok()) return ReportError(head.status());
  std::printf("node        %s (%s)\n", node->c_str(), head->sequencer ? "ledger host" : "follower");
  std::printf("chain       %s\n", head->chain_id.c_str());
  std::printf("height      %llu\n", static_cast<unsigned long long>(head->height));
  std::printf("block hash  %s\n", head->block_hash.ToHex().c_str());
  std::printf("state root  %s\n", head->state_root.ToHex().c_str());
  auto jobs = q.ListJobs();
  if (jobs.ok()) {
    std::map<std::string, int> by;
    for (const auto& j : *jobs) by[ledger::JobStatusName(j.status)]++;
    std::printf("jobs        %zu", jobs->size());
    for (const auto& [s, n] : by) std::printf(", %d %s", n, s.c_str());
    std::printf("\n");
  }
  return kExitOk;
}

}  // namespace

void RegisterNodeCommands(CLI::App* app, Command* command) {
  auto args = std::make_shared<NodeArgs>();
  CLI::App* node = app->add_subcommand("node", "Run a cairn node (ledger host, solver, verifier) from a config file");
  node->add_option("--config", args->config, "Node config (TOML; configs/node.toml documents every key)");
  node->add_option("--log-format", args->log_format, "text or json (JSON lines); overrides the config");
  node->add_option("--node-log-level", args->log_level, "Overrides the config's log_level");
  auto status_args = std::make_shared<ClientArgs>();
  CLI::App* status = node->add_subcommand("status", "Show a node's chain, height and jobs");
  AddNodeOption(status, status_args.get());
  status->callback([command, status_args] { command->action = [status_args] { return Status_(*status_args); }; });
  node->callback([command, args, node] {
    if (node->get_subcommands().empty()) {
      command->action = [args] {
        if (args->config.empty()) return ReportInputError(InvalidArgument("cairn node needs --config FILE"));
        return RunNode(*args);
      };
    }
  });
}

}  // namespace cairn::cli
