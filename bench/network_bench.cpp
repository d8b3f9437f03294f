// Network benchmarks (issue 7), ratios within one run, each next to its aim:
//   1. a checkpoint-sized blob fetched over loopback gRPC (Blobs.Get into a
//      BlobStore: chunked, hash-checked, fsynced) vs a raw file copy of the
//      same bytes; BLAKE2b of the bytes in memory is printed too, since no
//      hash-checked transfer can beat it;
//   2. signed transactions admitted through gRPC SubmitTx from 8 concurrent
//      clients vs submitted to the sequencer directly from 8 threads, with
//      an in-memory ledger and with the ledger host's own configuration
//      (RocksDB, a durable mempool synced before SubmitTx answers).
// Interleaved repetitions, the best (fastest) of each. Prints a table and
// writes bench-results/network.json (--json PATH). The devnet's protocol
// overhead (submit to settlement vs `cairn train`) is bench/devnet_bench.py.
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include "crypto/hash.h"
#include "crypto/keys.h"
#include "ledger/ledger.h"
#include "ledger/sequencer.h"
#include "net/clients.h"
#include "net/rpc_server.h"
#include "node/blob_store.h"
#include "node/height_watch.h"
#include "store/memory_store.h"
#include "store/rocksdb_store.h"

namespace cairn {
namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// CPU time of the whole process (every thread: clients, server, sequencer).
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

constexpr double kBlobAim = 0.5;
constexpr double kTxAim = 0.7;

crypto::KeyPair Key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return crypto::KeyPair::FromSeed(seed);
}

// A ledger host's ledger and sequencer over an in-memory store, or over
// RocksDB in `rocksdb_dir` with the node's durability (synced writes, a
// durable mempool).
struct Setup {
  ledger::Genesis genesis;
  std::unique_ptr<store::KvStore> kv;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<ledger::Sequencer> sequencer;
  crypto::KeyPair seq = Key(1);
};

std::unique_ptr<Setup> MakeLedger(int senders, const std::string& rocksdb_dir = "") {
  auto s = std::make_unique<Setup>();
  s->genesis.chain_id = "bench";
  s->genesis.sequencer = s->seq.public_key();
  s->genesis.referee = Key(2).public_key();
  for (int i = 0; i < senders; ++i) {
    s->genesis.allocations.push_back({Key(static_cast<uint8_t>(10 + i)).public_key(), 1'000'000'000, 0});
  }
  if (rocksdb_dir.empty()) {
    s->kv = std::make_unique<store::MemoryStore>(ledger::LedgerColumnFamilies());
    s->ledger = ledger::Ledger::Open(s->kv.get(), &s->genesis, {store::SyncPolicy::kNoSync, 0}).value();
    s->sequencer = std::make_unique<ledger::Sequencer>(s->ledger.get(), &s->seq);
  } else {
    s->kv = store::RocksDbStore::Open(rocksdb_dir, ledger::LedgerColumnFamilies()).value();
    s->ledger = ledger::Ledger::Open(s->kv.get(), &s->genesis).value();
    s->sequencer = std::make_unique<ledger::Sequencer>(s->ledger.get(), &s->seq,
                                                       ledger::SequencerOptions{true, store::SyncPolicy::kSync});
  }
  return s;
}

// Per sender, `n` stake transactions with consecutive nonces.
std::vector<std::vector<ledger::SignedTx>> MakeTxs(int senders, int n) {
  std::vector<std::vector<ledger::SignedTx>> out(senders);
  for (int i = 0; i < senders; ++i) {
    crypto::KeyPair k = Key(static_cast<uint8_t>(10 + i));
    for (int j = 0; j < n; ++j) {
      out[i].push_back(
          ledger::SignTx(ledger::TxBody{"bench", k.public_key(), static_cast<uint64_t>(j + 1), ledger::StakeOp{1}}, k));
    }
  }
  return out;
}

double RunThreads(int threads, const std::function<void(int)>& body) {
  auto t = Clock::now();
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i) ts.emplace_back(body, i);
  for (auto& th : ts) th.join();
  return Seconds(t);
}

struct TxFigures {
  double direct_best = 1e9, grpc_best = 1e9;
  double direct_cpu_best = 1e9, grpc_cpu_best = 1e9;  // CPU seconds of the whole process.
  int refused = 0;
};

// `repeats` interleaved rounds of: the sequencer called directly from
// `senders` threads, then through gRPC SubmitTx from `senders` clients, each
// on a fresh ledger (in memory, or RocksDB under `dir`).
TxFigures MeasureTxs(int senders, int per_sender, int repeats, const std::filesystem::path& dir, bool durable) {
  auto txs = MakeTxs(senders, per_sender);
  TxFigures f;
  for (int rep = 0; rep < repeats; ++rep) {
    const std::string base = (dir / ("ledger-" + std::to_string(durable) + "-" + std::to_string(rep))).string();
    {
      auto direct = MakeLedger(senders, durable ? base + "-direct" : "");
      const double cpu = CpuSeconds();
      f.direct_best = std::min(f.direct_best, RunThreads(senders, [&](int i) {
        for (const auto& tx : txs[i]) (void)direct->sequencer->Submit(tx);
      }));
      f.direct_cpu_best = std::min(f.direct_cpu_best, CpuSeconds() - cpu);
    }
    auto setup = MakeLedger(senders, durable ? base + "-grpc" : "");
    node::HeightWatch heights;
    node::BlobStore blobs = node::BlobStore::Open(base + "-blobs").value();
    net::RpcServices services;
    services.ledger = setup->ledger.get();
    services.sequencer = setup->sequencer.get();
    services.heights = &heights;
    services.blobs = &blobs;
    auto server = net::RpcServer::Start({"127.0.0.1:0", 32}, services).value();
    const std::string endpoint = "127.0.0.1:" + std::to_string(server->port());
    std::atomic<int> refused{0};
    const double cpu = CpuSeconds();
    f.grpc_best = std::min(f.grpc_best, RunThreads(senders, [&](int i) {
      net::NodeQueries q(endpoint);
      for (const auto& tx : txs[i]) {
        if (!q.SubmitTx(tx).ok()) refused++;
      }
    }));
    f.grpc_cpu_best = std::min(f.grpc_cpu_best, CpuSeconds() - cpu);
    f.refused += refused.load();
    heights.Shutdown();
    server->Shutdown();
  }
  return f;
}

}  // namespace
}  // namespace cairn

int main(int argc, char** argv) {
  using namespace cairn;
  std::string json_path = "bench-results/network.json";
  uint64_t blob_mib = 64;
  int senders = 8, per_sender = 1000, durable_per_sender = 100, repeats = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--json") json_path = argv[i + 1];
    if (flag == "--blob-mib") blob_mib = std::stoull(argv[i + 1]);
    if (flag == "--txs-per-client") per_sender = std::stoi(argv[i + 1]);
    if (flag == "--durable-txs-per-client") durable_per_sender = std::stoi(argv[i + 1]);
    if (flag == "--repeats") repeats = std::max(1, std::stoi(argv[i + 1]));
  }
  auto dir = std::filesystem::temp_directory_path() / ("cairn-net-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);

  // 1. Blob transfer vs file copy.
  auto server_blobs = node::BlobStore::Open((dir / "server").string()).value();
  Bytes blob(blob_mib << 20);
  std::mt19937_64 rng(7);
  for (size_t i = 0; i + 8 <= blob.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(blob.data() + i, &v, 8);
  }
  Hash256 hash = server_blobs.Put(blob).value();
  auto setup = MakeLedger(senders);
  node::HeightWatch heights;
  net::RpcServices services;
  services.ledger = setup->ledger.get();
  services.sequencer = setup->sequencer.get();
  services.heights = &heights;
  services.blobs = &server_blobs;
  auto server = net::RpcServer::Start({"127.0.0.1:0", 32}, services).value();
  const std::string endpoint = "127.0.0.1:" + std::to_string(server->port());
  net::GrpcPeerClient peers;
  double copy_best = 1e9, grpc_best = 1e9, hash_best = 1e9, grpc_cpu_best = 1e9;
  for (int rep = 0; rep < repeats; ++rep) {  // Interleaved, best of `repeats` each.
    std::filesystem::remove(dir / "copy");
    auto t = Clock::now();
    std::filesystem::copy_file(server_blobs.PathOf(hash), dir / "copy");
    copy_best = std::min(copy_best, Seconds(t));
    t = Clock::now();
    if (crypto::Blake2b256(blob) != hash) return 1;
    hash_best = std::min(hash_best, Seconds(t));
    std::filesystem::remove_all(dir / ("client" + std::to_string(rep)));
    auto client_blobs = node::BlobStore::Open((dir / ("client" + std::to_string(rep))).string()).value();
    t = Clock::now();
    const double cpu = CpuSeconds();
    Status s = peers.FetchBlob(endpoint, hash, blob.size(), &client_blobs);
    grpc_best = std::min(grpc_best, Seconds(t));
    grpc_cpu_best = std::min(grpc_cpu_best, CpuSeconds() - cpu);
    if (!s.ok()) {
      std::fprintf(stderr, "fetch failed: %s\n", s.ToString().c_str());
      return 1;
    }
    std::filesystem::remove_all(dir / ("client" + std::to_string(rep)));
  }
  heights.Shutdown();
  server->Shutdown();
  const double mib = static_cast<double>(blob_mib);
  std::printf("blob of %llu MiB (best of %d)\n", static_cast<unsigned long long>(blob_mib), repeats);
  std::printf("  file copy %8.1f MiB/s   BLAKE2b alone %8.1f MiB/s   gRPC fetch (hash-checked, fsynced) %8.1f MiB/s\n",
              mib / copy_best, mib / hash_best, mib / grpc_best);
  std::printf("  fetch / copy %.2f (aim >= %.1f)   hash alone / copy %.2f (the ceiling of a hash-checked fetch)\n",
              copy_best / grpc_best, kBlobAim, copy_best / hash_best);
  std::printf("  CPU of the fetch (server and client threads): %.1f ms per MiB, BLAKE2b alone %.1f ms per MiB\n",
              1e3 * grpc_cpu_best / mib, 1e3 * hash_best / mib);

  // 2. Transactions: direct vs gRPC, `senders` concurrent submitters each.
  TxFigures memory = MeasureTxs(senders, per_sender, repeats, dir, /*durable=*/false);
  TxFigures durable = MeasureTxs(senders, durable_per_sender, std::min(repeats, 3), dir, /*durable=*/true);
  const double total = static_cast<double>(senders) * per_sender;
  const double durable_total = static_cast<double>(senders) * durable_per_sender;
  std::printf("%d clients x %d txs, in-memory ledger (best of %d)\n", senders, per_sender, repeats);
  std::printf("  direct %8.0f tx/s   gRPC %8.0f tx/s (%d refused)   gRPC / direct %.2f (aim >= %.1f)\n",
              total / memory.direct_best, total / memory.grpc_best, memory.refused,
              memory.direct_best / memory.grpc_best, kTxAim);
  std::printf("  CPU per transaction (all threads): direct %.0f us, gRPC %.0f us\n", 1e6 * memory.direct_cpu_best / total,
              1e6 * memory.grpc_cpu_best / total);
  std::printf("%d clients x %d txs, RocksDB + durable mempool, synced (best of %d)\n", senders, durable_per_sender,
              std::min(repeats, 3));
  std::printf("  direct %8.0f tx/s   gRPC %8.0f tx/s (%d refused)   gRPC / direct %.2f (aim >= %.1f)\n",
              durable_total / durable.direct_best, durable_total / durable.grpc_best, durable.refused,
              durable.direct_best / durable.grpc_best, kTxAim);
  std::printf("  CPU per transaction (all threads): direct %.0f us, gRPC %.0f us\n",
              1e6 * durable.direct_cpu_best / durable_total, 1e6 * durable.grpc_cpu_best / durable_total);
  std::filesystem::remove_all(dir);

  if (std::filesystem::path(json_path).has_parent_path()) {
    std::filesystem::create_directories(std::filesystem::path(json_path).parent_path());
  }
  std::ofstream json(json_path);
  json << "{\n  \"repeats\": " << repeats << ",\n  \"blob_mib\": " << blob_mib
       << ",\n  \"file_copy_mib_per_s\": " << mib / copy_best << ",\n  \"blake2b_mib_per_s\": " << mib / hash_best
       << ",\n  \"grpc_fetch_mib_per_s\": " << mib / grpc_best << ",\n  \"grpc_over_copy\": " << copy_best / grpc_best
       << ",\n  \"grpc_fetch_cpu_ms_per_mib\": " << 1e3 * grpc_cpu_best / mib
       << ",\n  \"grpc_over_copy_aim\": " << kBlobAim << ",\n  \"txs\": " << total
       << ",\n  \"direct_tx_per_s\": " << total / memory.direct_best << ",\n  \"grpc_tx_per_s\": "
       << total / memory.grpc_best << ",\n  \"grpc_over_direct\": " << memory.direct_best / memory.grpc_best
       << ",\n  \"durable_txs\": " << durable_total << ",\n  \"durable_direct_tx_per_s\": "
       << durable_total / durable.direct_best << ",\n  \"durable_grpc_tx_per_s\": " << durable_total / durable.grpc_best
       << ",\n  \"direct_cpu_us_per_tx\": " << 1e6 * memory.direct_cpu_best / total
       << ",\n  \"grpc_cpu_us_per_tx\": " << 1e6 * memory.grpc_cpu_best / total
       << ",\n  \"durable_grpc_over_direct\": " << durable.direct_best / durable.grpc_best
       << ",\n  \"grpc_over_direct_aim\": " << kTxAim << "\n}\n";
  std::printf("wrote %s\n", json_path.c_str());
  return 0;
}
