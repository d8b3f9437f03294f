// Crash recovery: a writer producing durable blocks (crash_child, SyncPolicy
// kSync like the daemon) is SIGKILLed at random moments and restarted, again
// and again. Every block it reported as committed must survive every kill
// with the state root it reported, and at the end the real `cairn ledger
// audit` must find the store consistent.
//
// Random choices come from one seed, printed at the start; set
// CAIRN_TEST_SEED to replay a run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <sstream>

#include "crash_process.h"
#include "crash_workload.h"
#include "store/rocksdb_store.h"
#include "support/process.h"

#ifndef CAIRN_BINARY
#error "CAIRN_BINARY must be the path of the cairn executable"
#endif
#ifndef CAIRN_CRASH_CHILD
#error "CAIRN_CRASH_CHILD must be the path of the crash_child executable"
#endif

namespace cairn::ledger::crash {
namespace {

constexpr int kKills = 15;
// How long a child runs before it is killed (but the last): from "still
// opening the store" to "many blocks in".
constexpr int kKillDelayMinMs = 1;
constexpr int kKillDelayMaxMs = 700;
constexpr size_t kTxsPerBlockMax = 64;
// The last run is killed only once it has committed this many blocks, so
// that there are acknowledged blocks to check even on a slow machine.
constexpr size_t kLastRunCommits = 5;
constexpr auto kLastRunTimeout = std::chrono::seconds(60);

uint64_t TestSeed() {
  if (const char* env = std::getenv("CAIRN_TEST_SEED")) return std::strtoull(env, nullptr, 10);
  return std::random_device{}();
}

struct Report {
  std::string kind;  // "opened" or "committed".
  uint64_t height = 0;
  std::string state_root_hex;
};

bool ParseLine(const std::string& line, Report* out) {
  std::istringstream in(line);
  return static_cast<bool>(in >> out->kind >> out->height >> out->state_root_hex) &&
         (out->kind == "opened" || out->kind == "committed") && out->state_root_hex.size() == 64;
}

// Opens the store read-only, as a restarted node (or an auditor) would find
// it, and checks every block ever acknowledged.
void ExpectAcknowledgedBlocksSurvived(const std::string& dir, const Genesis& genesis,
                                      const std::map<uint64_t, std::string>& acknowledged) {
  store::RocksDbOptions options;
  options.create_if_missing = false;
  options.read_only = true;
  auto kv = store::RocksDbStore::Open(dir + "/ledger", LedgerColumnFamilies(), options);
  if (acknowledged.empty() && !kv.ok()) return;  // Killed before the store was created.
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  if (acknowledged.empty() && !(*kv)->Get(kMetaColumnFamily, "genesis").ok()) return;  // Before genesis.
  auto ledger = Ledger::Open(kv->get(), &genesis, LedgerOptions{store::SyncPolicy::kNoSync, 1});
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  Head head = (*ledger)->head();
  if (!acknowledged.empty()) {
    ASSERT_GE(head.height, acknowledged.rbegin()->first) << "an acknowledged block was lost";
  }
  for (const auto& [height, root_hex] : acknowledged) {
    auto block = (*ledger)->GetBlock(height);
    ASSERT_TRUE(block.ok()) << "acknowledged block " << height << ": " << block.status().ToString();
    EXPECT_EQ(block->header.state_root.ToHex(), root_hex) << "block " << height << " changed after it was acknowledged";
  }
  if (head.height > 0) {
    auto top = (*ledger)->GetBlock(head.height);
    ASSERT_TRUE(top.ok()) << top.status().ToString();
    EXPECT_EQ(top->header.state_root, head.state_root);
  }
}

TEST(CrashRecovery, NoAcknowledgedBlockIsLostAcrossKills) {
  const uint64_t seed = TestSeed();
  std::printf("crash test seed %llu (replay with CAIRN_TEST_SEED=%llu)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  RecordProperty("seed", std::to_string(seed));
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  cairn::testing::TempDir dir;
  Parties parties;
  const Genesis genesis = CrashGenesis(parties);

  std::map<uint64_t, std::string> acknowledged;  // Height -> state root, over all runs.
  for (int run = 0; run < kKills; ++run) {
    int delay_ms = std::uniform_int_distribution<int>(kKillDelayMinMs, kKillDelayMaxMs)(rng);
    size_t txs_per_block = std::uniform_int_distribution<size_t>(1, kTxsPerBlockMax)(rng);
    auto child = ChildProcess::Start({CAIRN_CRASH_CHILD, "--data", dir.path(), "--seed", std::to_string(seed + run),
                                      "--txs-per-block", std::to_string(txs_per_block)});
    const bool last = run + 1 == kKills;
    auto start = std::chrono::steady_clock::now();
    bool running = last ? child->ReadLines(/*"opened" and*/ 1 + kLastRunCommits, start + kLastRunTimeout)
                        : child->ReadUntil(start + std::chrono::milliseconds(delay_ms));
    child->Kill();
    ASSERT_TRUE(running) << "run " << run << ": crash_child exited by itself or, last, made no progress"
                         << " (see its stderr above)";
    if (last) {
      delay_ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
    }

    uint64_t acknowledged_before = acknowledged.empty() ? 0 : acknowledged.rbegin()->first;
    uint64_t previous = 0;
    int commits = 0;
    for (const std::string& line : child->lines()) {
      Report report;
      ASSERT_TRUE(ParseLine(line, &report)) << "run " << run << ": unexpected output: " << line;
      if (report.kind == "opened") {
        EXPECT_GE(report.height, acknowledged_before) << "run " << run << " reopened below an acknowledged block";
        previous = report.height;
        continue;
      }
      EXPECT_EQ(report.height, previous + 1) << "run " << run << ": heights must follow each other";
      previous = report.height;
      acknowledged[report.height] = report.state_root_hex;
      ++commits;
    }
    std::printf("run %2d: killed after %3d ms, %2zu txs/block, %3d blocks acknowledged (head now %llu)\n", run,
                delay_ms, txs_per_block, commits,
                static_cast<unsigned long long>(acknowledged.empty() ? 0 : acknowledged.rbegin()->first));
    ExpectAcknowledgedBlocksSurvived(dir.path(), genesis, acknowledged);
    if (HasFatalFailure()) break;
  }
  cairn::testing::ProcessResult audit =
      cairn::testing::RunProcess({CAIRN_BINARY, "ledger", "audit", "--data", dir.path()});
  EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
  EXPECT_NE(audit.out.find("ledger audit OK"), std::string::npos) << audit.out << audit.err;
  std::printf("%s", audit.out.c_str());
}

}  // namespace
}  // namespace cairn::ledger::crash
