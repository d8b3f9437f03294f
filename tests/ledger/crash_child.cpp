// crash_child: the writer that the crash test (crash_recovery_test.cpp) kills.
//
// Opens (or, on first start, creates from the crash genesis) the RocksDB
// ledger in DIR/ledger with SyncPolicy::kSync, like the daemon, and produces
// blocks of workload transactions through a Sequencer until killed or until
// --blocks blocks are done. Protocol on stdout, one line each, flushed:
//   opened <height> <state root hex>      after the ledger opened (recovered)
//   committed <height> <state root hex>   after each Commit returned
// A "committed" line is a promise: that block must survive any kill.
//
// Usage: crash_child --data DIR --seed N [--blocks N] [--txs-per-block N]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "crash_workload.h"
#include "store/rocksdb_store.h"

namespace cairn::ledger::crash {
namespace {

struct Options {
  std::string data_dir;
  uint64_t seed = 0;
  uint64_t blocks = 0;  // 0 = until killed.
  size_t txs_per_block = 24;
};

int Usage() {
  std::fprintf(stderr, "usage: crash_child --data DIR --seed N [--blocks N] [--txs-per-block N]\n");
  return 2;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "crash_child: %s\n", s.ToString().c_str());
  return 1;
}

int Run(const Options& options) {
  Parties parties;
  Genesis genesis = CrashGenesis(parties);
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return Fail(IoError("cannot create " + options.data_dir + ": " + ec.message()));
  auto kv = store::RocksDbStore::Open(options.data_dir + "/ledger", LedgerColumnFamilies());
  if (!kv.ok()) return Fail(kv.status());
  auto ledger = Ledger::Open(kv->get(), &genesis, LedgerOptions{store::SyncPolicy::kSync, 0});
  if (!ledger.ok()) return Fail(ledger.status());
  Head head = (*ledger)->head();
  std::printf("opened %llu %s\n", static_cast<unsigned long long>(head.height), head.state_root.ToHex().c_str());
  std::fflush(stdout);

  Sequencer sequencer(ledger->get(), &parties.sequencer());
  Workload workload(ledger->get(), &parties, options.seed);
  if (Status s = workload.Recover(); !s.ok()) return Fail(s);
  Status s =
      RunBlocks(&sequencer, ledger->get(), &workload, options.blocks, options.txs_per_block, [](const Block& block) {
        std::printf("committed %llu %s\n", static_cast<unsigned long long>(block.header.height),
                    block.header.state_root.ToHex().c_str());
        std::fflush(stdout);
      });
  return s.ok() ? 0 : Fail(s);
}

}  // namespace
}  // namespace cairn::ledger::crash

int main(int argc, char** argv) {
  cairn::ledger::crash::Options options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return cairn::ledger::crash::Usage();
    const char* value = argv[++i];
    if (flag == "--data") {
      options.data_dir = value;
    } else if (flag == "--seed") {
      options.seed = std::strtoull(value, nullptr, 10);
    } else if (flag == "--blocks") {
      options.blocks = std::strtoull(value, nullptr, 10);
    } else if (flag == "--txs-per-block") {
      options.txs_per_block = std::strtoull(value, nullptr, 10);
    } else {
      return cairn::ledger::crash::Usage();
    }
  }
  if (options.data_dir.empty() || options.txs_per_block == 0) return cairn::ledger::crash::Usage();
  return cairn::ledger::crash::Run(options);
}
