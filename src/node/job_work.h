// JobWork: the node's long-running work for its roles, each call blocking
// on a worker thread of the node: fetching a job's inputs, training it in a
// sandboxed worker, verifying a certificate, recomputing a dispute. Also
// the solver's ProofSource (what its Proof service serves).
//
// Data directory layout (docs/node.md):
//   blobs/                       content-addressed inputs, manifests, reports (BlobStore)
//   solver/checkpoints/, solver/jobs/<job id>/   the trainer's work directory
//   verifier/<job id>/checkpoints/               what a verifier fetched to replay
//   referee/<job id>/checkpoints/, certificate.bin  what the referee fetched to rule
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/node_config.h"
#include "crypto/keys.h"
#include "data/dataset.h"
#include "job/spec.h"
#include "ledger/ledger.h"
#include "node/dispute_replay.h"
#include "node/job_inputs.h"
#include "node/metrics.h"
#include "node/ports.h"
#include "node/roles/events.h"
#include "proof/certificate.h"
#include "train/engine.h"

namespace cairn::node {

// Where the referee keeps the certificate of a job it ruled on (beside the
// checkpoints it fetched), for `cairn ledger audit --recompute`.
std::string RefereeCertificatePath(const std::string& data_dir, const Hash256& job_id);

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
  // `segments` empty: a sample plus this verifier's audited segments;
  // otherwise exactly these (a whistleblower's re-check). `own_replica`
  // set: `job` is a sibling of this solver's replica; the segment replayed
  // is the one before the first checkpoint where the two differ.
  VerificationFinished Verify(const ledger::Job& job, const std::vector<uint64_t>& segments = {},
                              const Hash256& own_replica = {});
  // Forced errors (forced_error_work.cpp).
  ForcedErrorPlanted PlantForcedError(const ledger::Job& job, uint64_t leaf);
  Result<ledger::RevealOp> BuildReveal(const ledger::Job& job, const Hash256& secret, uint64_t leaf);
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
  // Where the trainer keeps a job record's work: its spec's id (a replica's group).
  Hash256 SpecId(const Hash256& job_id) const;
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
  // mask-forced: the forced checkpoint `forced` as a solver that also faked
  // the segment before it commits it (a second bit wrong, so the honest
  // twin is not the true state); `forced` itself for every other mode.
  Result<Bytes> MaskForcedError(Bytes forced) const;

  // Who computes in a dispute, and so whose copy of the checkpoints it uses.
  enum class Holder { kSolver, kChallenger, kReferee };
  static Holder HolderOf(ledger::DisputeParty party);
  std::string DisputeDir(const Hash256& job_id, Holder who) const;
  train::EngineOptions EngineOptionsFor(const JobInputs& in, Holder who) const;
  // Stores a blob here and on the ledger host (where the referee reads it).
  Result<Hash256> UploadForReferee(const Bytes& blob);
  // The devnet/test cheat referee.cheat = "rule-for-solver": turns an
  // honest ruling into one for the solver that the ledger still accepts.
  static void LieForTheSolver(const ledger::Dispute& d, ledger::RulingOp* ruling);

  // What one party of one dispute loaded and computed, kept between its
  // rounds: without it every round reloads the inputs, restarts a worker
  // and replays the segment up to the round's step (seconds per round).
  struct MoveMemo {
    std::mutex mu;  // One round of a dispute at a time.
    std::shared_ptr<const JobInputs> inputs;
    std::optional<proof::Certificate> cert;
    DisputeMemo dispute;
  };
  std::shared_ptr<MoveMemo> MemoFor(const ledger::Job& job, const ledger::Dispute& d, ledger::DisputeParty party);
  static constexpr size_t kMoveMemosMax = 4;  // Each holds a job's inputs; the oldest is dropped.

  Context ctx_;
  std::mutex mu_;
  std::map<Hash256, TrainingProgress> progress_;  // GUARDED_BY(mu_)
  std::map<std::string, std::shared_ptr<MoveMemo>> move_memos_;  // GUARDED_BY(mu_)
  std::deque<std::string> move_memo_order_;                      // GUARDED_BY(mu_), oldest first.
};

}  // namespace cairn::node
