#include "node/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <mutex>

namespace cairn::node {

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<prometheus::Exposer> exposer;
  prometheus::Family<prometheus::Gauge>* height;
  prometheus::Family<prometheus::Gauge>* mempool;
  prometheus::Family<prometheus::Gauge>* jobs;
  prometheus::Family<prometheus::Gauge>* steps_per_second;
  prometheus::Family<prometheus::Counter>* steps;
  prometheus::Family<prometheus::Counter>* checkpoint_bytes;
  prometheus::Family<prometheus::Counter>* verifications;
  prometheus::Family<prometheus::Counter>* txs;
  prometheus::Family<prometheus::Histogram>* rpc;
  prometheus::Family<prometheus::Counter>* blob_bytes;
  std::mutex mu;  // Family::Add is thread-safe; the histogram buckets vector is ours.
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {
  auto& r = *impl_->registry;
  impl_->height = &prometheus::BuildGauge().Name("cairn_ledger_height").Help("Height of the last block this node applied").Register(r);
  impl_->mempool = &prometheus::BuildGauge().Name("cairn_mempool_transactions").Help("Transactions waiting in the ledger host's mempool").Register(r);
  impl_->jobs = &prometheus::BuildGauge().Name("cairn_jobs").Help("Jobs on the ledger by state").Register(r);
  impl_->steps_per_second = &prometheus::BuildGauge().Name("cairn_training_steps_per_second").Help("Training speed of the job this solver is training").Register(r);
  impl_->steps = &prometheus::BuildCounter().Name("cairn_training_steps_total").Help("Training steps run by this solver").Register(r);
  impl_->checkpoint_bytes = &prometheus::BuildCounter().Name("cairn_checkpoint_bytes_total").Help("Checkpoint bytes written (solver) or fetched (verifier, referee)").Register(r);
  impl_->verifications = &prometheus::BuildCounter().Name("cairn_verifications_total").Help("Verifications by result").Register(r);
  impl_->txs = &prometheus::BuildCounter().Name("cairn_transactions_total").Help("Transactions this node sent, by operation and outcome").Register(r);
  impl_->rpc = &prometheus::BuildHistogram().Name("cairn_rpc_latency_seconds").Help("Latency of the RPCs this node makes, by call").Register(r);
  impl_->blob_bytes = &prometheus::BuildCounter().Name("cairn_blob_bytes_fetched_total").Help("Blob bytes fetched from peers").Register(r);
}

Metrics::~Metrics() = default;

Result<std::unique_ptr<Metrics>> Metrics::Start(const std::string& listen) {
  std::unique_ptr<Metrics> m(new Metrics());
  if (!listen.empty()) {
    try {
      m->impl_->exposer = std::make_unique<prometheus::Exposer>(listen);
    } catch (const std::exception& e) {
      return Unavailable("cannot serve metrics on " + listen + ": " + e.what());
    }
    m->impl_->exposer->RegisterCollectable(m->impl_->registry);
  }
  return m;
}

void Metrics::SetHeight(uint64_t h) { impl_->height->Add({}).Set(static_cast<double>(h)); }
void Metrics::SetMempool(size_t n) { impl_->mempool->Add({}).Set(static_cast<double>(n)); }
void Metrics::SetJobs(const std::string& state, size_t n) { impl_->jobs->Add({{"state", state}}).Set(static_cast<double>(n)); }
void Metrics::SetTrainingStepsPerSecond(double v) { impl_->steps_per_second->Add({}).Set(v); }
void Metrics::AddTrainingSteps(uint64_t n) { impl_->steps->Add({}).Increment(static_cast<double>(n)); }
void Metrics::AddCheckpointBytes(uint64_t n) { impl_->checkpoint_bytes->Add({}).Increment(static_cast<double>(n)); }
void Metrics::CountVerification(const std::string& result) { impl_->verifications->Add({{"result", result}}).Increment(); }
void Metrics::CountTx(const std::string& op, bool ok) {
  impl_->txs->Add({{"operation", op}, {"outcome", ok ? "accepted" : "refused"}}).Increment();
}
void Metrics::ObserveRpc(const std::string& call, double seconds) {
  static const prometheus::Histogram::BucketBoundaries kBuckets{0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60};
  impl_->rpc->Add({{"call", call}}, kBuckets).Observe(seconds);
}
void Metrics::AddBlobBytes(uint64_t n) { impl_->blob_bytes->Add({}).Increment(static_cast<double>(n)); }

}  // namespace cairn::node
