// bench_ledger_throughput: signed transactions applied per second, durably.
//
// Pre-generates N signed transfers from many accounts funded at genesis, then
// drives a fresh RocksDB ledger (one per run, in --dir) exactly as the daemon
// does: Sequencer::SubmitBatch (signatures verified on every core, CheckTx
// against the mempool state) and Sequencer::ProduceBlock (PrepareProposal,
// FinalizeBlock, Commit as one write batch, fsync'd with SyncPolicy::kSync).
// For each block size it times these modes side by side:
//   e2e_sync       one thread: submit a block's worth, produce it, repeat;
//                  fsync on every commit
//   e2e_sync_pipe  a submitter thread and a producer thread, as the daemon
//                  runs them: batch k+1's signatures are verified (on all
//                  cores but one) while block k is executed and fsync'd
//   e2e_nosync     as e2e_sync without fsync: what durability costs
//   apply_sync     as e2e_sync, but signatures were verified (and cached) before
//                  the clock starts: what everything except Ed25519 costs
// and, once, Ed25519 verification alone on 1 thread and on every thread.
// Prints a table and writes the figures as JSON (--json).
//
// Usage: bench_ledger_throughput [--txs N] [--accounts N] [--block-sizes 100,1000,5000]
//                                [--json PATH] [--dir PATH] [--verify-sample N] [--only MODE]
// (--only MODE runs one mode and writes no JSON, for profiling.)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ledger/sequencer.h"
#include "store/rocksdb_store.h"
#include "util/parallel.h"

namespace cairn::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  size_t txs = 200'000;
  size_t accounts = 10'000;
  std::vector<size_t> block_sizes = {100, 1000, 5000};
  std::string only_mode;          // For profiling: run just this mode, write no JSON.
  size_t verify_sample = 40'000;  // Transactions for the verify-only figures.
  std::string json_path = "bench-results/ledger_throughput.json";
  std::string dir;  // Default: a fresh directory under the system temp dir.
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU time of this process so far, all threads: unlike wall time, it hardly
// changes when other programs share the machine.
double CpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

crypto::KeyPair KeyFor(uint64_t n) {
  std::array<uint8_t, 32> seed{};
  for (int i = 0; i < 8; ++i) seed[i] = static_cast<uint8_t>(n >> (8 * i));
  seed[31] = 0xbe;
  return crypto::KeyPair::FromSeed(seed);
}

// The chain: `accounts` funded accounts and a sequencer.
struct Chain {
  std::vector<crypto::KeyPair> accounts;
  crypto::KeyPair sequencer = KeyFor(~0ull);
  ledger::Genesis genesis;
};

Chain MakeChain(size_t accounts) {
  Chain chain;
  chain.accounts.reserve(accounts);
  for (size_t i = 0; i < accounts; ++i) chain.accounts.push_back(KeyFor(i));
  chain.genesis.chain_id = "cairn-bench";
  chain.genesis.genesis_time_ms = 1'700'000'000'000;
  chain.genesis.sequencer = chain.sequencer.public_key();
  chain.genesis.referee = chain.sequencer.public_key();
  for (const auto& key : chain.accounts) chain.genesis.allocations.push_back({key.public_key(), 1'000'000'000, 0});
  return chain;
}

// Transfer i is sent by account i % A with nonce i / A + 1, so every prefix of
// the list is valid in order, whatever the block size.
std::vector<ledger::SignedTx> MakeTransfers(const Chain& chain, size_t count) {
  const size_t a = chain.accounts.size();
  std::vector<ledger::SignedTx> txs(count);
  util::ParallelFor(count, util::HardwareThreads(), [&](size_t i) {
    std::mt19937_64 rng(i);
    size_t from = i % a;
    size_t to = (from + 1 + rng() % (a - 1)) % a;
    ledger::TxBody body{chain.genesis.chain_id, chain.accounts[from].public_key(), i / a + 1,
                        ledger::TransferOp{chain.accounts[to].public_key(), 1 + rng() % 100}};
    txs[i] = ledger::SignTx(std::move(body), chain.accounts[from]);
  });
  return txs;
}

double VerifyRate(const std::vector<ledger::SignedTx>& txs, size_t sample, unsigned threads) {
  sample = std::min(sample, txs.size());
  std::vector<uint8_t> ok(sample, 0);
  auto start = Clock::now();
  util::ParallelFor(sample, threads, [&](size_t i) { ok[i] = ledger::VerifyTxSignature(txs[i]); });
  double s = Seconds(Clock::now() - start);
  if (std::count(ok.begin(), ok.end(), 1) != static_cast<long>(sample)) {
    std::fprintf(stderr, "bench: a pre-generated signature did not verify\n");
    std::exit(1);
  }
  return static_cast<double>(sample) / s;
}

enum class Mode { kEndToEndSync, kPipelinedSync, kEndToEndNoSync, kApplySync };
constexpr Mode kModes[] = {Mode::kEndToEndSync, Mode::kPipelinedSync, Mode::kEndToEndNoSync, Mode::kApplySync};
const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kEndToEndSync: return "e2e_sync";
    case Mode::kPipelinedSync: return "e2e_sync_pipe";
    case Mode::kEndToEndNoSync: return "e2e_nosync";
    case Mode::kApplySync: return "apply_sync";
  }
  return "?";
}

struct RunResult {
  Mode mode;
  size_t block_txs = 0;
  size_t txs = 0;
  size_t blocks = 0;
  double seconds = 0;          // Wall time from the first submit to the last commit.
  double submit_seconds = 0;   // In Sequencer::SubmitBatch (overlaps produce when pipelined).
  double produce_seconds = 0;  // In Sequencer::ProduceBlock, fsync included.
  double block_ms_p50 = 0;     // ProduceBlock latency.
  double block_ms_max = 0;
  double cpu_seconds = 0;  // Process CPU time (all threads, RocksDB's too) of the timed part.
  double tx_per_s() const { return static_cast<double>(txs) / seconds; }
};

[[noreturn]] void Die(const Status& s, const char* what) {
  std::fprintf(stderr, "bench: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

// A fresh durable ledger and its sequencer, as the daemon opens them.
struct Node {
  // verify_threads: as LedgerOptions (0 = every hardware thread).
  Node(const Chain& chain, const std::string& dir, store::SyncPolicy sync, unsigned verify_threads = 0) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    auto opened_kv = store::RocksDbStore::Open(dir, ledger::LedgerColumnFamilies());
    if (!opened_kv.ok()) Die(opened_kv.status(), "opening the store");
    kv = std::move(opened_kv).value();
    ledger::LedgerOptions options;
    options.sync = sync;
    options.verify_threads = verify_threads;
    auto opened = ledger::Ledger::Open(kv.get(), &chain.genesis, options);
    if (!opened.ok()) Die(opened.status(), "opening the ledger");
    ledger = std::move(opened).value();
    sequencer = std::make_unique<ledger::Sequencer>(ledger.get(), &chain.sequencer);
  }
  std::unique_ptr<store::RocksDbStore> kv;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<ledger::Sequencer> sequencer;
};

std::vector<ledger::SignedTx> Batch(const std::vector<ledger::SignedTx>& txs, size_t index, size_t block_txs) {
  size_t begin = index * block_txs;
  size_t end = std::min(txs.size(), begin + block_txs);
  return std::vector<ledger::SignedTx>(txs.begin() + static_cast<long>(begin), txs.begin() + static_cast<long>(end));
}

void ExpectAdmitted(const std::vector<Status>& results) {
  for (const Status& s : results) {
    if (!s.ok()) Die(s, "a pre-generated transfer was refused");
  }
}

// Produces one block of (up to) `expected` transactions, checks that it got
// them, and returns its latency.
double Produce(ledger::Sequencer* sequencer, uint64_t block_index, size_t expected) {
  auto start = Clock::now();
  auto produced = sequencer->ProduceBlock(/*time_ms=*/1'700'000'000'000 + block_index, /*txs_max=*/expected);
  double s = Seconds(Clock::now() - start);
  if (!produced.ok()) Die(produced.status(), "producing a block");
  if (!*produced || (*produced)->block.txs.size() != expected) {
    Die(Internal("the block does not hold the batch submitted for it"), "producing a block");
  }
  return s;
}

void Finish(RunResult* r, std::vector<double> block_seconds) {
  std::sort(block_seconds.begin(), block_seconds.end());
  r->blocks = block_seconds.size();
  r->block_ms_p50 = block_seconds[block_seconds.size() / 2] * 1000;
  r->block_ms_max = block_seconds.back() * 1000;
  for (double s : block_seconds) r->produce_seconds += s;
}

// One thread: submit a block's worth, produce it, repeat.
RunResult RunSequential(const Chain& chain, const std::vector<ledger::SignedTx>& txs, size_t block_txs, Mode mode,
                        const std::string& dir) {
  Node node(chain, dir, mode == Mode::kEndToEndNoSync ? store::SyncPolicy::kNoSync : store::SyncPolicy::kSync);
  RunResult r;
  r.mode = mode;
  r.block_txs = block_txs;
  std::vector<double> block_seconds;
  std::vector<Status> results;
  std::vector<bool> verified;
  const size_t batches = (txs.size() + block_txs - 1) / block_txs;
  double cpu_start = CpuSeconds();
  for (size_t k = 0; k < batches; ++k) {
    std::vector<ledger::SignedTx> batch = Batch(txs, k, block_txs);
    if (mode == Mode::kApplySync) {  // Untimed, and its CPU time is not counted.
      double cpu_before = CpuSeconds();
      node.ledger->PreverifySignatures(batch, &verified);
      cpu_start += CpuSeconds() - cpu_before;
    }
    auto start = Clock::now();
    node.sequencer->SubmitBatch(batch, &results);
    r.submit_seconds += Seconds(Clock::now() - start);
    ExpectAdmitted(results);
    block_seconds.push_back(Produce(node.sequencer.get(), k, batch.size()));
    r.txs += batch.size();
  }
  r.cpu_seconds = CpuSeconds() - cpu_start;
  Finish(&r, std::move(block_seconds));
  r.seconds = r.submit_seconds + r.produce_seconds;
  return r;
}

// Two threads, as the daemon runs them: a submitter (standing in for the RPC
// threads) and the block producer. The submitter hands in batch k once block
// k-1 is under way, so verifying batch k's signatures (outside every lock)
// overlaps producing and fsyncing block k-1; at most one batch waits.
RunResult RunPipelined(const Chain& chain, const std::vector<ledger::SignedTx>& txs, size_t block_txs,
                       const std::string& dir) {
  // The producer needs a core to itself: verification gets the others.
  unsigned threads = util::HardwareThreads();
  Node node(chain, dir, store::SyncPolicy::kSync, /*verify_threads=*/threads > 1 ? threads - 1 : 1);
  RunResult r;
  r.mode = Mode::kPipelinedSync;
  r.block_txs = block_txs;
  const size_t batches = (txs.size() + block_txs - 1) / block_txs;
  std::mutex mu;
  std::condition_variable cv;
  size_t admitted = 0;  // Batches in the mempool or beyond. GUARDED_BY(mu)
  size_t started = 0;   // Blocks whose production began. GUARDED_BY(mu)
  std::vector<double> block_seconds;

  auto start = Clock::now();
  double cpu_start = CpuSeconds();
  std::thread producer([&] {
    for (size_t k = 0; k < batches; ++k) {
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return admitted > k; });
        started = k + 1;
      }
      cv.notify_all();
      block_seconds.push_back(Produce(node.sequencer.get(), k, std::min(block_txs, txs.size() - k * block_txs)));
    }
  });
  std::vector<Status> results;
  for (size_t k = 0; k < batches; ++k) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return started >= k; });
    }
    std::vector<ledger::SignedTx> batch = Batch(txs, k, block_txs);
    auto submit_start = Clock::now();
    node.sequencer->SubmitBatch(batch, &results);
    r.submit_seconds += Seconds(Clock::now() - submit_start);
    ExpectAdmitted(results);
    r.txs += batch.size();
    {
      std::lock_guard<std::mutex> lock(mu);
      admitted = k + 1;
    }
    cv.notify_all();
  }
  producer.join();
  r.seconds = Seconds(Clock::now() - start);
  r.cpu_seconds = CpuSeconds() - cpu_start;
  Finish(&r, std::move(block_seconds));
  return r;
}

RunResult Run(const Chain& chain, const std::vector<ledger::SignedTx>& txs, size_t block_txs, Mode mode,
              const std::string& dir) {
  if (mode == Mode::kPipelinedSync) return RunPipelined(chain, txs, block_txs, dir);
  return RunSequential(chain, txs, block_txs, mode, dir);
}

std::vector<size_t> ParseList(const std::string& s) {
  std::vector<size_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::strtoull(item.c_str(), nullptr, 10));
  return out;
}

int Usage() {
  std::fprintf(stderr,
               "usage: bench_ledger_throughput [--txs N] [--accounts N] [--block-sizes 100,1000,5000]\n"
               "                               [--json PATH] [--dir PATH] [--verify-sample N]\n"
               "                               [--only MODE]\n");
  return 2;
}

std::string Fixed(double v, int digits = 1) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", digits, v);
  return buffer;
}

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) return Usage();
    std::string value = argv[++i];
    if (flag == "--txs") {
      o.txs = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--accounts") {
      o.accounts = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--block-sizes") {
      o.block_sizes = ParseList(value);
    } else if (flag == "--json") {
      o.json_path = value;
    } else if (flag == "--dir") {
      o.dir = value;
    } else if (flag == "--verify-sample") {
      o.verify_sample = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--only") {
      o.only_mode = value;
    } else {
      return Usage();
    }
  }
  if (o.txs == 0 || o.verify_sample == 0 || o.accounts < 2 || o.accounts > ledger::kGenesisAllocationsMax ||
      o.block_sizes.empty()) {
    return Usage();
  }
  for (size_t b : o.block_sizes) {
    if (b == 0 || b > ledger::kBlockTxsMax) return Usage();
  }
  if (o.dir.empty()) o.dir = (fs::temp_directory_path() / ("cairn-bench-" + std::to_string(::getpid()))).string();
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  if (ec) {
    std::fprintf(stderr, "bench: cannot create %s: %s\n", o.dir.c_str(), ec.message().c_str());
    return 1;
  }
  const unsigned threads = util::HardwareThreads();
  std::printf("ledger throughput: %zu signed transfers from %zu accounts, %u hardware threads, store in %s\n", o.txs,
              o.accounts, threads, o.dir.c_str());

  auto t0 = Clock::now();
  Chain chain = MakeChain(o.accounts);
  auto t1 = Clock::now();
  std::vector<ledger::SignedTx> txs = MakeTransfers(chain, o.txs);
  auto t2 = Clock::now();
  double sign_rate = static_cast<double>(o.txs) / Seconds(t2 - t1);
  std::printf("setup: %zu keys in %.1f s; signed %zu transfers at %.0f tx/s on %u threads\n", o.accounts,
              Seconds(t1 - t0), o.txs, sign_rate, threads);

  double verify_1 = VerifyRate(txs, o.verify_sample, 1);
  double verify_n = VerifyRate(txs, o.verify_sample, threads);
  std::printf("verify only (TxId + Ed25519): %.0f tx/s on 1 thread, %.0f tx/s on %u threads (x%.2f)\n\n", verify_1,
              verify_n, threads, verify_n / verify_1);

  std::vector<RunResult> runs;
  std::printf("%-13s %6s %8s %7s %10s %9s %9s %10s %10s %10s\n", "mode", "block", "txs", "blocks", "tx/s", "submit%",
              "produce%", "p50 ms", "max ms", "cpu us/tx");
  for (size_t block_txs : o.block_sizes) {
    for (Mode mode : kModes) {
      if (!o.only_mode.empty() && o.only_mode != ModeName(mode)) continue;
      RunResult r = Run(chain, txs, block_txs, mode, o.dir + "/ledger");
      std::printf("%-13s %6zu %8zu %7zu %10.0f %8.0f%% %8.0f%% %10.2f %10.2f %10.1f\n", ModeName(mode), block_txs,
                  r.txs, r.blocks, r.tx_per_s(), 100 * r.submit_seconds / r.seconds,
                  100 * r.produce_seconds / r.seconds, r.block_ms_p50, r.block_ms_max,
                  1e6 * r.cpu_seconds / static_cast<double>(r.txs));
      std::fflush(stdout);
      runs.push_back(r);
    }
  }
  fs::remove_all(o.dir, ec);
  if (!o.only_mode.empty()) return 0;

  auto find = [&](size_t block_txs, Mode mode) -> const RunResult& {
    for (const auto& r : runs) {
      if (r.block_txs == block_txs && r.mode == mode) return r;
    }
    std::abort();
  };
  std::printf(
      "\nsubmit%% and produce%%: time inside SubmitBatch and ProduceBlock over wall time (pipelined, they"
      " overlap);\np50/max: ProduceBlock latency (execute, commit, fsync); cpu us/tx: process CPU time (all"
      " threads) per transaction.\n");
  std::printf("\nratios per block size (tx/s over tx/s):\n");
  std::printf("%6s %12s %12s %12s %16s %16s\n", "block", "pipe/e2e", "nosync/sync", "apply/e2e", "e2e/verify1",
              "pipe/verify1");
  std::ostringstream ratios_json;
  for (size_t block_txs : o.block_sizes) {
    double sync = find(block_txs, Mode::kEndToEndSync).tx_per_s();
    double pipe = find(block_txs, Mode::kPipelinedSync).tx_per_s();
    double nosync = find(block_txs, Mode::kEndToEndNoSync).tx_per_s();
    double apply = find(block_txs, Mode::kApplySync).tx_per_s();
    std::printf("%6zu %12.2f %12.2f %12.2f %16.2f %16.2f\n", block_txs, pipe / sync, nosync / sync, apply / sync,
                sync / verify_1, pipe / verify_1);
    if (ratios_json.tellp() > 0) ratios_json << ",\n";
    ratios_json << "    {\"block_txs\": " << block_txs << ", \"pipelined_over_e2e_sync\": " << Fixed(pipe / sync, 3)
                << ", \"nosync_over_sync\": " << Fixed(nosync / sync, 3)
                << ", \"apply_over_e2e_sync\": " << Fixed(apply / sync, 3)
                << ", \"e2e_sync_over_verify_1_thread\": " << Fixed(sync / verify_1, 3)
                << ", \"pipelined_over_verify_1_thread\": " << Fixed(pipe / verify_1, 3) << "}";
  }
  const double goal = 10'000;
  const RunResult* best = nullptr;
  for (const auto& r : runs) {
    bool durable_with_verification = r.mode == Mode::kEndToEndSync || r.mode == Mode::kPipelinedSync;
    if (durable_with_verification && (best == nullptr || r.tx_per_s() > best->tx_per_s())) best = &r;
  }
  std::printf("\ngoal: >= %.0f tx/s durable, with signature verification; best: %.0f tx/s (%s, %zu txs/block): %s\n",
              goal, best->tx_per_s(), ModeName(best->mode), best->block_txs,
              best->tx_per_s() >= goal ? "met" : "NOT met");

  std::ostringstream json;
  json << "{\n  \"benchmark\": \"ledger_throughput\",\n"
       << "  \"hardware_threads\": " << threads << ",\n"
       << "  \"txs\": " << o.txs << ",\n  \"accounts\": " << o.accounts << ",\n"
       << "  \"sign_tx_per_s\": " << Fixed(sign_rate) << ",\n"
       << "  \"verify_only\": {\"sample_txs\": " << std::min(o.verify_sample, o.txs)
       << ", \"threads_1_tx_per_s\": " << Fixed(verify_1) << ", \"threads_all_tx_per_s\": " << Fixed(verify_n)
       << ", \"speedup\": " << Fixed(verify_n / verify_1, 3) << "},\n  \"runs\": [\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunResult& r = runs[i];
    json << "    {\"mode\": \"" << ModeName(r.mode) << "\", \"block_txs\": " << r.block_txs << ", \"txs\": " << r.txs
         << ", \"blocks\": " << r.blocks << ", \"seconds\": " << Fixed(r.seconds, 3)
         << ", \"tx_per_s\": " << Fixed(r.tx_per_s()) << ", \"submit_seconds\": " << Fixed(r.submit_seconds, 3)
         << ", \"produce_seconds\": " << Fixed(r.produce_seconds, 3)
         << ", \"block_ms_p50\": " << Fixed(r.block_ms_p50, 3) << ", \"block_ms_max\": " << Fixed(r.block_ms_max, 3)
         << ", \"cpu_seconds\": " << Fixed(r.cpu_seconds, 3) << "}" << (i + 1 < runs.size() ? ",\n" : "\n");
  }
  json << "  ],\n  \"ratios\": [\n"
       << ratios_json.str() << "\n  ],\n"
       << "  \"goal_tx_per_s\": " << Fixed(goal, 0) << ",\n  \"best\": {\"mode\": \"" << ModeName(best->mode)
       << "\", \"block_txs\": " << best->block_txs << ", \"tx_per_s\": " << Fixed(best->tx_per_s()) << "}\n}\n";
  fs::path json_path(o.json_path);
  if (json_path.has_parent_path()) fs::create_directories(json_path.parent_path(), ec);
  std::ofstream out(json_path);
  out << json.str();
  if (!out) {
    std::fprintf(stderr, "bench: cannot write %s\n", o.json_path.c_str());
    return 1;
  }
  std::printf("wrote %s\n", o.json_path.c_str());
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) { return cairn::bench::Main(argc, argv); }
