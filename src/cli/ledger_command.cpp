// `cairn ledger audit|init|demo`.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "cli/app.h"
#include "cli/ledger_demo.h"
#include "cli/ruling_audit.h"
#include "config/genesis_config.h"
#include "ledger/audit.h"
#include "store/rocksdb_store.h"

namespace cairn::cli {
namespace {

struct AuditArgs {
  std::string data;
  bool recompute = false;
  std::string node;
};

// The rulings re-executed (ruling_audit.h), after the replay found the
// stored ledger consistent. Exit 0 all confirmed, 1 any contradicted, 3 some
// uncheckable and none contradicted.
int AuditRulingsOf(store::KvStore* kv, const AuditArgs& args) {
  auto ledger = ledger::Ledger::Open(kv, nullptr);
  if (!ledger.ok()) return ReportError(ledger.status().WithContext("cannot read the ledger in " + args.data));
  auto summary = AuditRulings(**ledger, RulingAuditOptions{args.data, args.node});
  if (!summary.ok()) {
    std::fprintf(stderr, "cairn: ledger audit FAILED\n");
    ReportError(summary.status());
    return kExitFailure;
  }
  std::printf("rulings: %d re-executed: %d confirmed, %d contradicted, %d uncheckable\n", summary->rulings,
              summary->confirmed, summary->contradicted, summary->uncheckable);
  if (summary->contradicted > 0) {
    std::fprintf(stderr, "cairn: ledger audit FAILED: %d ruling%s CONTRADICTED by recomputation\n",
                 summary->contradicted, summary->contradicted == 1 ? " is" : "s are");
    return kExitFailure;
  }
  if (summary->uncheckable > 0) {
    std::fprintf(stderr,
                 "cairn: ledger audit INCOMPLETE: %d ruling%s UNCHECKABLE (evidence missing, see above; --node "
                 "HOST:PORT fetches what this data directory lacks)\n",
                 summary->uncheckable, summary->uncheckable == 1 ? " is" : "s are");
    return kExitIncomplete;
  }
  if (summary->rulings == 0) std::printf("no rulings on this ledger to re-execute\n");
  return kExitOk;
}

int Audit(const AuditArgs& args) {
  const std::string& data_dir = args.data;
  if (!std::filesystem::is_directory(data_dir)) {
    return ReportError(NotFound("no data directory at " + data_dir + " (pass the node's --data directory)"));
  }
  store::RocksDbOptions options;
  options.create_if_missing = false;
  options.read_only = true;
  auto kv = store::RocksDbStore::Open(data_dir + "/ledger", ledger::LedgerColumnFamilies(), options);
  if (!kv.ok()) {
    std::fprintf(stderr, "cairn: ledger audit FAILED\n");
    return ReportError(kv.status().WithContext("cannot open the ledger in " + data_dir));
  }
  Status checksums = (*kv)->VerifyChecksums();
  if (!checksums.ok()) {
    std::fprintf(stderr, "cairn: ledger audit FAILED: a store file is damaged\n");
    ReportError(checksums);
    return kExitFailure;
  }
  auto report = ledger::AuditLedger(**kv);
  if (!report.ok()) {
    std::fprintf(stderr, "cairn: ledger audit FAILED\n");
    ReportError(report.status());
    return kExitFailure;
  }
  std::printf("ledger audit OK: %llu blocks, %llu transactions, %llu state entries\n",
              static_cast<unsigned long long>(report->blocks),
              static_cast<unsigned long long>(report->transactions),
              static_cast<unsigned long long>(report->state_entries));
  std::printf("head: height %llu, block %s\nstate root: %s\n", static_cast<unsigned long long>(report->head.height),
              report->head.block_hash.ToHex().c_str(), report->head.state_root.ToHex().c_str());
  if (args.recompute) return AuditRulingsOf(kv->get(), args);
  return kExitOk;
}

int Init(const std::string& genesis_path, const std::string& data_dir) {
  auto genesis = config::LoadGenesisFile(genesis_path);
  if (!genesis.ok()) return ReportError(genesis.status());
  auto kv = store::RocksDbStore::Open(data_dir + "/ledger", ledger::LedgerColumnFamilies());
  if (!kv.ok()) return ReportError(kv.status());
  auto opened = ledger::Ledger::Open(kv->get(), &*genesis);
  if (!opened.ok()) return ReportError(opened.status());
  ledger::Head head = (*opened)->head();
  std::printf("ledger of chain '%s' in %s at height %llu\nstate root: %s\n", genesis->chain_id.c_str(),
              data_dir.c_str(), static_cast<unsigned long long>(head.height), head.state_root.ToHex().c_str());
  return kExitOk;
}

}  // namespace

void RegisterLedgerCommands(CLI::App* app, Command* command) {
  CLI::App* ledger = app->add_subcommand("ledger", "Inspect and check the staking ledger");
  ledger->require_subcommand(1);

  auto audit_args = std::make_shared<AuditArgs>();
  CLI::App* audit = ledger->add_subcommand(
      "audit", "Replay the block log from genesis and check every state root and stored byte");
  audit->add_option("--data", audit_args->data, "The node's data directory")->required();
  audit->add_flag("--recompute", audit_args->recompute,
                  "Also re-execute every referee ruling from its evidence (exit 1 if one is contradicted, 3 if some "
                  "cannot be checked)");
  audit->add_option("--node", audit_args->node,
                    "With --recompute: fetch evidence the data directory lacks from this node (host:port) and from "
                    "the solver it names");
  audit->callback([command, audit_args] { command->action = [audit_args] { return Audit(*audit_args); }; });

  struct InitArgs {
    std::string genesis;
    std::string data;
  };
  auto init_args = std::make_shared<InitArgs>();
  CLI::App* init = ledger->add_subcommand(
      "init", "Create a ledger from a genesis file (idempotent: an existing ledger must have the same genesis)");
  init->add_option("--genesis", init_args->genesis, "Genesis TOML (see configs/genesis.toml)")->required();
  init->add_option("--data", init_args->data, "The node's data directory")->required();
  init->callback([command, init_args] {
    command->action = [init_args] { return Init(init_args->genesis, init_args->data); };
  });

  auto demo = std::make_shared<DemoOptions>();
  CLI::App* demo_cmd = ledger->add_subcommand(
      "demo", "Run a whole job's life on a fresh local ledger: stake, post, claim, commit, verify, settle, slash");
  demo_cmd->add_option("--data", demo->data_dir, "Directory for the demo ledger (created)")->required();
  demo_cmd->add_flag("--reset", demo->reset, "Delete the directory first if it exists");
  demo_cmd->add_option("--job", demo->job_file,
                       "Train this job file for real as the honest job (e.g. configs/jobs/mlp.toml)");
  demo_cmd->callback([command, demo] { command->action = [demo] { return RunLedgerDemo(*demo); }; });
}

}  // namespace cairn::cli
