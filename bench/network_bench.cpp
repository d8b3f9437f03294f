// Network benchmarks (issue 7), ratios within one run, each next to its aim:
//   1. a checkpoint-sized blob fetched over loopback gRPC (Blobs.Get into a
//      BlobStore: chunked, hash-checked, fsynced) vs a raw file copy of the
//      same bytes; BLAKE2b of the bytes in memory is printed too, since no
//      hash-checked transfer can beat it;
//   2. signed transactions submitted to the sequencer directly from 8
//      threads (one Submit each), vs through gRPC from 8 concurrent clients,
//      one SubmitTx per transaction and in SubmitTxs batches (--batch, 64 by
//      default: what a node's transaction sender takes from its queue at
//      most), with an in-memory ledger and with the ledger host's own
//      configuration (RocksDB, a durable mempool synced before SubmitTx
//      answers).
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
#include <tuple>

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

// Best (smallest) wall and CPU seconds of one way of submitting.
struct PathFigures {
  double wall_best = 1e9;
  double cpu_best = 1e9;  // CPU seconds of the whole process (clients, server, sequencer).
  int refused = 0;
  void Add(double wall, double cpu) {
    wall_best = std::min(wall_best, wall);
    cpu_best = std::min(cpu_best, cpu);
  }
};

struct TxFigures {
  PathFigures direct, direct_batched, grpc, batched;
};

// `body(i, endpoint)` on `senders` threads against a fresh ledger host
// served over loopback gRPC; returns (wall, CPU) seconds.
std::pair<double, double> OverGrpc(int senders, const std::string& base, bool durable,
                                   const std::function<void(int, const std::string&)>& body) {
  auto setup = MakeLedger(senders, durable ? base + "-ledger" : "");
  node::HeightWatch heights;
  node::BlobStore blobs = node::BlobStore::Open(base + "-blobs").value();
  net::RpcServices services;
  services.ledger = setup->ledger.get();
  services.sequencer = setup->sequencer.get();
  services.heights = &heights;
  services.blobs = &blobs;
  auto server = net::RpcServer::Start({"127.0.0.1:0", 32}, services).value();
  const std::string endpoint = "127.0.0.1:" + std::to_string(server->port());
  const double cpu = CpuSeconds();
  const double wall = RunThreads(senders, [&](int i) { body(i, endpoint); });
  const double cpu_used = CpuSeconds() - cpu;
  heights.Shutdown();
  server->Shutdown();
  return {wall, cpu_used};
}

// `repeats` interleaved rounds of: the sequencer called directly from
// `senders` threads (Submit per transaction, then SubmitBatch with batches
// of `batch`), then through gRPC from `senders` clients with one SubmitTx per
// transaction, then with SubmitTxs batches of `batch`, each on a fresh
// ledger (in memory, or RocksDB under `dir`).
TxFigures MeasureTxs(int senders, int per_sender, int batch, int repeats, const std::filesystem::path& dir,
                     bool durable) {
  auto txs = MakeTxs(senders, per_sender);
  TxFigures f;
  for (int rep = 0; rep < repeats; ++rep) {
    const std::string base = (dir / ("ledger-" + std::to_string(durable) + "-" + std::to_string(rep))).string();
    {
      auto direct = MakeLedger(senders, durable ? base + "-direct" : "");
      const double cpu = CpuSeconds();
      const double wall = RunThreads(senders, [&](int i) {
        for (const auto& tx : txs[i]) (void)direct->sequencer->Submit(tx);
      });
      f.direct.Add(wall, CpuSeconds() - cpu);
    }
    {
      // The like-for-like baseline of SubmitTxs: Sequencer::SubmitBatch with the same batches.
      auto direct = MakeLedger(senders, durable ? base + "-direct-batched" : "");
      const double cpu = CpuSeconds();
      const double wall = RunThreads(senders, [&](int i) {
        std::vector<Status> results;
        for (size_t begin = 0; begin < txs[i].size(); begin += static_cast<size_t>(batch)) {
          std::vector<ledger::SignedTx> part(
              txs[i].begin() + static_cast<long>(begin),
              txs[i].begin() + static_cast<long>(std::min(txs[i].size(), begin + static_cast<size_t>(batch))));
          direct->sequencer->SubmitBatch(part, &results);
        }
      });
      f.direct_batched.Add(wall, CpuSeconds() - cpu);
    }
    std::atomic<int> refused{0};
    auto [wall, cpu] = OverGrpc(senders, base + "-grpc", durable, [&](int i, const std::string& endpoint) {
      net::NodeQueries q(endpoint);
      for (const auto& tx : txs[i]) {
        if (!q.SubmitTx(tx).ok()) refused++;
      }
    });
    f.grpc.Add(wall, cpu);
    f.grpc.refused += refused.exchange(0);
    std::tie(wall, cpu) = OverGrpc(senders, base + "-batched", durable, [&](int i, const std::string& endpoint) {
      net::NodeQueries q(endpoint);
      for (size_t begin = 0; begin < txs[i].size(); begin += static_cast<size_t>(batch)) {
        std::vector<ledger::SignedTx> part(txs[i].begin() + static_cast<long>(begin),
                                           txs[i].begin() + static_cast<long>(std::min(txs[i].size(), begin + static_cast<size_t>(batch))));
        for (const Status& s : q.SubmitTxs(part)) {
          if (!s.ok()) refused++;
        }
      }
    });
    f.batched.Add(wall, cpu);
    f.batched.refused += refused.load();
  }
  return f;
}

void PrintTxs(const char* title, const TxFigures& f, double total, int repeats) {
  std::printf("%s (best of %d)\n", title, repeats);
  std::printf("  direct Submit %8.0f tx/s   direct SubmitBatch %8.0f tx/s\n", total / f.direct.wall_best,
              total / f.direct_batched.wall_best);
  std::printf("  gRPC SubmitTx %8.0f tx/s (%d refused)   gRPC SubmitTxs %8.0f tx/s (%d refused)\n",
              total / f.grpc.wall_best, f.grpc.refused, total / f.batched.wall_best, f.batched.refused);
  std::printf("  SubmitTx / direct %.2f   SubmitTxs / direct %.2f (aim >= %.1f)   SubmitTxs / SubmitTx %.2f   "
              "SubmitTxs / direct SubmitBatch %.2f\n",
              f.direct.wall_best / f.grpc.wall_best, f.direct.wall_best / f.batched.wall_best, kTxAim,
              f.grpc.wall_best / f.batched.wall_best, f.direct_batched.wall_best / f.batched.wall_best);
  std::printf("  CPU per transaction (all threads): direct %.0f us, direct batched %.0f us, SubmitTx %.0f us, "
              "SubmitTxs %.0f us\n",
              1e6 * f.direct.cpu_best / total, 1e6 * f.direct_batched.cpu_best / total, 1e6 * f.grpc.cpu_best / total,
              1e6 * f.batched.cpu_best / total);
}

}  // namespace
}  // namespace cairn

int main(int argc, char** argv) {
  using namespace cairn;
  std::string json_path = "bench-results/network.json";
  uint64_t blob_mib = 64;
  int senders = 8, per_sender = 1000, durable_per_sender = 100, repeats = 5, batch = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--json") json_path = argv[i + 1];
    if (flag == "--blob-mib") blob_mib = std::stoull(argv[i + 1]);
    if (flag == "--txs-per-client") per_sender = std::stoi(argv[i + 1]);
    if (flag == "--durable-txs-per-client") durable_per_sender = std::stoi(argv[i + 1]);
    if (flag == "--repeats") repeats = std::max(1, std::stoi(argv[i + 1]));
    if (flag == "--batch") batch = std::max(1, std::stoi(argv[i + 1]));
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

  // 2. Transactions: direct vs gRPC, one call per transaction and batched; `senders` concurrent submitters each.
  TxFigures memory = MeasureTxs(senders, per_sender, batch, repeats, dir, /*durable=*/false);
  TxFigures durable = MeasureTxs(senders, durable_per_sender, batch, std::min(repeats, 3), dir, /*durable=*/true);
  const double total = static_cast<double>(senders) * per_sender;
  const double durable_total = static_cast<double>(senders) * durable_per_sender;
  const std::string memory_title = std::to_string(senders) + " clients x " + std::to_string(per_sender) +
                                   " txs, SubmitTxs batches of " + std::to_string(batch) + ", in-memory ledger";
  const std::string durable_title = std::to_string(senders) + " clients x " + std::to_string(durable_per_sender) +
                                    " txs, SubmitTxs batches of " + std::to_string(batch) +
                                    ", RocksDB + durable mempool, synced";
  PrintTxs(memory_title.c_str(), memory, total, repeats);
  PrintTxs(durable_title.c_str(), durable, durable_total, std::min(repeats, 3));
  std::filesystem::remove_all(dir);

  if (std::filesystem::path(json_path).has_parent_path()) {
    std::filesystem::create_directories(std::filesystem::path(json_path).parent_path());
  }
  std::ofstream json(json_path);
  json << "{\n  \"repeats\": " << repeats << ",\n  \"blob_mib\": " << blob_mib
       << ",\n  \"file_copy_mib_per_s\": " << mib / copy_best << ",\n  \"blake2b_mib_per_s\": " << mib / hash_best
       << ",\n  \"grpc_fetch_mib_per_s\": " << mib / grpc_best << ",\n  \"grpc_over_copy\": " << copy_best / grpc_best
       << ",\n  \"grpc_fetch_cpu_ms_per_mib\": " << 1e3 * grpc_cpu_best / mib
       << ",\n  \"grpc_over_copy_aim\": " << kBlobAim << ",\n  \"batch_txs\": " << batch
       << ",\n  \"txs\": " << total << ",\n  \"direct_tx_per_s\": " << total / memory.direct.wall_best
       << ",\n  \"grpc_tx_per_s\": " << total / memory.grpc.wall_best
       << ",\n  \"grpc_batched_tx_per_s\": " << total / memory.batched.wall_best
       << ",\n  \"grpc_over_direct\": " << memory.direct.wall_best / memory.grpc.wall_best
       << ",\n  \"grpc_batched_over_direct\": " << memory.direct.wall_best / memory.batched.wall_best
       << ",\n  \"direct_batched_tx_per_s\": " << total / memory.direct_batched.wall_best
       << ",\n  \"grpc_batched_over_direct_batched\": " << memory.direct_batched.wall_best / memory.batched.wall_best
       << ",\n  \"direct_cpu_us_per_tx\": " << 1e6 * memory.direct.cpu_best / total
       << ",\n  \"grpc_cpu_us_per_tx\": " << 1e6 * memory.grpc.cpu_best / total
       << ",\n  \"grpc_batched_cpu_us_per_tx\": " << 1e6 * memory.batched.cpu_best / total
       << ",\n  \"durable_txs\": " << durable_total
       << ",\n  \"durable_direct_tx_per_s\": " << durable_total / durable.direct.wall_best
       << ",\n  \"durable_grpc_tx_per_s\": " << durable_total / durable.grpc.wall_best
       << ",\n  \"durable_grpc_batched_tx_per_s\": " << durable_total / durable.batched.wall_best
       << ",\n  \"durable_grpc_over_direct\": " << durable.direct.wall_best / durable.grpc.wall_best
       << ",\n  \"durable_grpc_batched_over_direct\": " << durable.direct.wall_best / durable.batched.wall_best
       << ",\n  \"durable_direct_batched_tx_per_s\": " << durable_total / durable.direct_batched.wall_best
       << ",\n  \"durable_grpc_batched_over_direct_batched\": "
       << durable.direct_batched.wall_best / durable.batched.wall_best
       << ",\n  \"refused\": " << memory.grpc.refused + memory.batched.refused + durable.grpc.refused + durable.batched.refused
       << ",\n  \"grpc_over_direct_aim\": " << kTxAim << "\n}\n";
  std::printf("wrote %s\n", json_path.c_str());
  return 0;
}
