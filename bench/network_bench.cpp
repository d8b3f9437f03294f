// Network benchmarks (issue 7), ratios within one run:
//   1. a checkpoint-sized blob fetched over loopback gRPC (Blobs.Get into a
//      BlobStore, hash-checked) vs a raw file copy of the same bytes;
//   2. signed transactions admitted through gRPC SubmitTx from 8 concurrent
//      clients vs submitted to the sequencer directly from 8 threads.
// Prints a table and writes bench-results/network.json (--json PATH).
// The devnet's protocol overhead (submit to settlement vs `cairn train`) is
// dominated by the challenge window, a parameter; see README.
#include <atomic>
#include <chrono>
#include <cstring>
#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "crypto/keys.h"
#include "ledger/ledger.h"
#include "ledger/sequencer.h"
#include "net/clients.h"
#include "net/rpc_server.h"
#include "node/blob_store.h"
#include "node/height_watch.h"
#include "store/memory_store.h"

namespace cairn {
namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

crypto::KeyPair Key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return crypto::KeyPair::FromSeed(seed);
}

struct Setup {
  ledger::Genesis genesis;
  std::unique_ptr<store::MemoryStore> kv;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<ledger::Sequencer> sequencer;
  crypto::KeyPair seq = Key(1);
};

std::unique_ptr<Setup> MakeLedger(int senders) {
  auto s = std::make_unique<Setup>();
  s->genesis.chain_id = "bench";
  s->genesis.sequencer = s->seq.public_key();
  s->genesis.referee = Key(2).public_key();
  for (int i = 0; i < senders; ++i) s->genesis.allocations.push_back({Key(static_cast<uint8_t>(10 + i)).public_key(), 1'000'000'000, 0});
  s->kv = std::make_unique<store::MemoryStore>(ledger::LedgerColumnFamilies());
  s->ledger = ledger::Ledger::Open(s->kv.get(), &s->genesis, {store::SyncPolicy::kNoSync, 0}).value();
  s->sequencer = std::make_unique<ledger::Sequencer>(s->ledger.get(), &s->seq);
  return s;
}

// Per sender, `n` stake transactions with consecutive nonces.
std::vector<std::vector<ledger::SignedTx>> MakeTxs(int senders, int n) {
  std::vector<std::vector<ledger::SignedTx>> out(senders);
  for (int i = 0; i < senders; ++i) {
    crypto::KeyPair k = Key(static_cast<uint8_t>(10 + i));
    for (int j = 0; j < n; ++j) {
      out[i].push_back(ledger::SignTx(ledger::TxBody{"bench", k.public_key(), static_cast<uint64_t>(j + 1), ledger::StakeOp{1}}, k));
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

}  // namespace
}  // namespace cairn

int main(int argc, char** argv) {
  using namespace cairn;
  std::string json_path = "bench-results/network.json";
  uint64_t blob_mib = 64;
  int senders = 8, per_sender = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--json") json_path = argv[i + 1];
    if (flag == "--blob-mib") blob_mib = std::stoull(argv[i + 1]);
    if (flag == "--txs-per-client") per_sender = std::stoi(argv[i + 1]);
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
  double copy_best = 1e9, grpc_best = 1e9;
  for (int rep = 0; rep < 3; ++rep) {  // Interleaved, best of 3 each.
    std::filesystem::remove(dir / "copy");
    auto t = Clock::now();
    std::filesystem::copy_file(server_blobs.PathOf(hash), dir / "copy");
    copy_best = std::min(copy_best, Seconds(t));
    std::filesystem::remove_all(dir / ("client" + std::to_string(rep)));
    auto client_blobs = node::BlobStore::Open((dir / ("client" + std::to_string(rep))).string()).value();
    t = Clock::now();
    Status s = peers.FetchBlob(endpoint, hash, blob.size(), &client_blobs);
    grpc_best = std::min(grpc_best, Seconds(t));
    if (!s.ok()) {
      std::fprintf(stderr, "fetch failed: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  double mib = static_cast<double>(blob_mib);
  std::printf("blob of %llu MiB      file copy %8.1f MiB/s   gRPC fetch (hash-checked) %8.1f MiB/s   ratio %.2f\n",
              static_cast<unsigned long long>(blob_mib), mib / copy_best, mib / grpc_best, copy_best / grpc_best);

  // 2. Transactions: direct vs gRPC, 8 concurrent submitters each.
  auto direct_setup = MakeLedger(senders);
  auto txs = MakeTxs(senders, per_sender);
  double direct = RunThreads(senders, [&](int i) {
    for (const auto& tx : txs[i]) (void)direct_setup->sequencer->Submit(tx);
  });
  std::atomic<int> refused{0};
  double grpc = RunThreads(senders, [&](int i) {
    net::NodeQueries q(endpoint);
    for (const auto& tx : txs[i]) {
      if (!q.SubmitTx(tx).ok()) refused++;
    }
  });
  double total = static_cast<double>(senders) * per_sender;
  std::printf("%d x %d txs          direct %8.0f tx/s   gRPC %8.0f tx/s (%d refused)   ratio %.2f\n", senders, per_sender,
              total / direct, total / grpc, refused.load(), direct / grpc);
  server->Shutdown();
  std::filesystem::remove_all(dir);

  std::filesystem::create_directories(std::filesystem::path(json_path).parent_path());
  std::ofstream json(json_path);
  json << "{\n  \"blob_mib\": " << blob_mib << ",\n  \"file_copy_mib_per_s\": " << mib / copy_best
       << ",\n  \"grpc_fetch_mib_per_s\": " << mib / grpc_best << ",\n  \"grpc_over_copy\": " << copy_best / grpc_best
       << ",\n  \"txs\": " << total << ",\n  \"direct_tx_per_s\": " << total / direct << ",\n  \"grpc_tx_per_s\": "
       << total / grpc << ",\n  \"grpc_over_direct\": " << direct / grpc << "\n}\n";
  std::printf("wrote %s\n", json_path.c_str());
  return 0;
}
