// JobWork: the node's long-running work for its roles, each call blocking
// on a worker thread of the node: fetching a job's inputs, training it in a
// sandboxed worker, verifying a certificate, recomputing a dispute. Also
// the solver's ProofSource (what its Proof service serves).
//
// Data directory layout (docs/node.md):
//   blobs/                       content-addressed inputs, manifests, reports (BlobStore)
//   solver/checkpoints/, solver/jobs/<job id>/   the trainer's work directory
//   verifier/<job id>/checkpoints/               what a verifier fetched to replay
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/node_config.h"
#include "crypto/keys.h"
#include "data/dataset.h"
#include "job/spec.h"
#include "ledger/ledger.h"
#include "node/metrics.h"
#include "node/ports.h"
#include "node/roles/events.h"
#include "proof/certificate.h"
#include "train/engine.h"

namespace cairn::node {

struct JobInputs {
  job::JobSpec spec;  // Paths point into the blob store.
  data::Dataset dataset;
  std::optional<data::Dataset> evaluation;
};

class JobWork final : public ProofSource {
 public:
  struct Context {
    const config::NodeConfig* config = nullptr;
    const crypto::KeyPair* key = nullptr;
    const ledger::Ledger* ledger = nullptr;  // This node's view of the chain.
    BlobStore* blobs = nullptr;
    PeerClient* peers = nullptr;
    Metrics* metrics = nullptr;
    std::string ledger_host;  // Endpoint of the ledger host (holds every job's uploads); "" on the host itself.
    std::string binary;       // The cairn binary workers run ("" = this executable).
  };
  explicit JobWork(Context context) : ctx_(std::move(context)) {}

  Status FetchInputs(const ledger::Job& job);
  TrainingFinished Train(const ledger::Job& job);
  VerificationFinished Verify(const ledger::Job& job);
  // Disputes (dispute_work.cpp): this node's move as a party to one, and
  // the referee's recomputation once its game has ended.
  MoveComputed ComputeMove(const ledger::Job& job, const ledger::Dispute& dispute, ledger::DisputeParty party);
  RulingReady Rule(const ledger::Job& job, const ledger::Dispute& dispute);
  void Prune(const Hash256& job_id);

  // ProofSource.
  Result<Bytes> Certificate(const Hash256& job_id) override;
  Result<std::string> CheckpointPath(const Hash256& hash) override;
  Result<std::string> ModelPath(const Hash256& job_id) override;
  TrainingProgress Progress(const Hash256& job_id) override;

 private:
  // Endpoints that may hold a job's blobs, best first.
  std::vector<std::string> Holders(const ledger::Job& job) const;
  Status FetchBlobFromAny(const std::vector<std::string>& holders, const Hash256& hash, uint64_t size_max);
  Result<JobInputs> LoadInputs(const ledger::Job& job);
  Result<std::string> EndpointOf(const ledger::AccountId& id) const;
  // Certificate and every checkpoint it names, from the solver, into `dir`.
  Result<proof::Certificate> FetchProofs(const ledger::Job& job, const std::string& dir);
  void SetProgress(const Hash256& job_id, const TrainingProgress& p);
  std::string SolverDir() const;
  train::WorkerOptions WorkerFor() const;
  // The devnet cheat (config solver.cheat) as training hooks; none for an honest solver.
  train::CheatHooks CheatFor(const JobInputs& in) const;
  // Cheat modes (job_work_cheats.cpp; devnet and tests only, docs/node.md
  // "Cheat modes"). The step a one-step cheat fakes: in segment 0.
  static uint64_t FakedStep(const job::JobSpec& spec);
  // The record of a step whose output corrupt-op flips a bit of: the last
  // (the optimizer's in-place update of the last parameter), so that the
  // flipped bit is in the committed state for certain (a bit flipped in an
  // activation can round away). Found by tracing step 0 once.
  static Result<uint64_t> CorruptedRecord(const JobInputs& in);
  // skip-segments, false-metadata, false-update-norm: rewrites what the
  // honest run in `trained` would commit the way that cheater would, re-signed
  // (checkpoints in the solver's store, certificate.bin, model.bin). Ok and
  // unchanged for every other mode.
  Status ForgeCommitment(train::TrainResult* trained);
  // verifier.cheat: lazy (accepts without replaying) or accuse (disputes
  // with a made-up end hash).
  VerificationFinished CheatingVerdict(const ledger::Job& job);
  // refuse-answer: a solver that never answers a dispute move.
  bool RefusesToAnswer(ledger::DisputeParty party) const;

  // Who computes in a dispute, and so whose copy of the checkpoints it uses.
  enum class Holder { kSolver, kChallenger, kReferee };
  static Holder HolderOf(ledger::DisputeParty party);
  std::string DisputeDir(const Hash256& job_id, Holder who) const;
  train::EngineOptions EngineOptionsFor(const JobInputs& in, Holder who) const;
  // The hash of the state after `step` steps, replayed from the committed
  // checkpoint that starts `segment`.
  Result<Hash256> StateAfter(const JobInputs& in, const proof::Certificate& cert, Holder who, uint64_t segment,
                             uint64_t step);
  // An engine at the state after `step` steps, replayed from the committed
  // checkpoint that starts `segment` (this holder's copy).
  Result<std::unique_ptr<train::Engine>> EngineAt(const JobInputs& in, const proof::Certificate& cert, Holder who,
                                                  uint64_t segment, uint64_t step);
  // Step `step` (in `segment`) traced from the committed checkpoint.
  Result<proof::StepTrace> TraceOf(const JobInputs& in, const proof::Certificate& cert, Holder who, uint64_t segment,
                                   uint64_t step);
  // The input blob of record `op_index` of that step.
  Result<Bytes> OpInputsBlob(const JobInputs& in, const proof::Certificate& cert, Holder who, uint64_t segment,
                             uint64_t step, uint64_t op_index);
  // Stores a blob here and on the ledger host (where the referee reads it).
  Result<Hash256> UploadForReferee(const Bytes& blob);
  // The referee's value for a dispute that ended on one operator record.
  Result<Hash256> RuleOnOperator(const ledger::Job& job, const ledger::Dispute& d, const JobInputs& in,
                                 const proof::Certificate& cert, ledger::RulingOp* ruling);
  // The encoded operator records of step `step` (in `segment`), traced.
  Result<std::vector<Bytes>> TraceRecords(const JobInputs& in, const proof::Certificate& cert, Holder who,
                                          uint64_t segment, uint64_t step);
  // The dispute a verifier opens on failed segment `segment`; nullopt if none can be.
  Result<std::optional<ledger::DisputeOpenOp>> PrepareDispute(const ledger::Job& job, const JobInputs& in,
                                                              const proof::Certificate& cert, uint32_t segment,
                                                              const Hash256& report_hash);

  Context ctx_;
  std::mutex mu_;
  std::map<Hash256, TrainingProgress> progress_;  // GUARDED_BY(mu_)
};

}  // namespace cairn::node
