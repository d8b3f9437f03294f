// The solver's side of forced errors (docs/protocol.md, "Forced errors"):
// planting the drawn wrong checkpoint in a trained certificate, and the
// reveal with its proofs. Training itself is untouched: the run continues
// from the honest state, only the committed and served checkpoint differs.
#include <spdlog/spdlog.h>

#include "crypto/merkle.h"
#include "node/job_work.h"
#include "proof/checkpoint_store.h"
#include "proof/forced_checkpoint.h"
#include "proof/model_state.h"
#include "util/file.h"

namespace cairn::node {
namespace {

std::string Short(const Hash256& h) { return h.ToHex().substr(0, 16); }

}  // namespace

ForcedErrorPlanted JobWork::PlantForcedError(const ledger::Job& job, uint64_t leaf) {
  ForcedErrorPlanted out;
  out.job_id = job.job_id;
  out.status = [&]() -> Status {
    const std::string job_dir = SolverDir() + "/jobs/" + ledger::SpecIdOf(job).ToHex();
    const std::string marker = job_dir + "/forced-checkpoint";
    CAIRN_ASSIGN_OR_RETURN(Bytes raw, Certificate(job.job_id));
    CAIRN_ASSIGN_OR_RETURN(proof::Certificate cert, proof::DecodeCertificate(ByteView(raw)));
    if (leaf == 0 || leaf + 1 >= cert.checkpoint_hashes.size()) {
      return InvalidArgument("forced checkpoint " + std::to_string(leaf) + " is not an intermediate one of job " +
                             Short(job.job_id));
    }
    CAIRN_ASSIGN_OR_RETURN(auto store, proof::CheckpointStore::Open(SolverDir() + "/checkpoints"));
    // Planted before (a restart between planting and committing): keep it.
    if (util::FileExists(marker)) {
      CAIRN_ASSIGN_OR_RETURN(Bytes planted, util::ReadFile(marker, 64));
      if (std::string(planted.begin(), planted.end()) == cert.checkpoint_hashes[leaf].ToHex()) {
        out.certificate_hash = proof::CertificateHash(cert);
        out.checkpoint_root = cert.checkpoint_root;
        return Status::Ok();
      }
    }
    CAIRN_ASSIGN_OR_RETURN(Bytes honest, util::ReadFile(store.PathOf(cert.checkpoint_hashes[leaf]),
                                                        proof::kCheckpointBytesMax));
    CAIRN_ASSIGN_OR_RETURN(Bytes flipped, proof::FlipForcedBit(honest));
    CAIRN_ASSIGN_OR_RETURN(Bytes forced, MaskForcedError(std::move(flipped)));  // Devnet and tests only.
    Hash256 forced_hash = proof::CheckpointHash(ByteView(forced));
    CAIRN_RETURN_IF_ERROR(store.Put(forced_hash, ByteView(forced)));
    // The marker first: a crash after it but before the certificate leaves
    // an honest certificate and a marker that does not match it (planted again).
    const std::string hex = forced_hash.ToHex();
    CAIRN_RETURN_IF_ERROR(util::WriteFileAtomic(marker, ByteView(std::string_view(hex))));
    // The signed update norms of the two segments around it are what the
    // committed checkpoints say (a verifier recomputes them before any
    // replay): only a replay may tell a forced checkpoint from an honest one.
    CAIRN_ASSIGN_OR_RETURN(Bytes before, util::ReadFile(store.PathOf(cert.checkpoint_hashes[leaf - 1]),
                                                        proof::kCheckpointBytesMax));
    CAIRN_ASSIGN_OR_RETURN(Bytes after, util::ReadFile(store.PathOf(cert.checkpoint_hashes[leaf + 1]),
                                                       proof::kCheckpointBytesMax));
    CAIRN_ASSIGN_OR_RETURN(proof::CheckpointView before_view, proof::DecodeCheckpoint(ByteView(before)));
    CAIRN_ASSIGN_OR_RETURN(proof::CheckpointView forced_view, proof::DecodeCheckpoint(ByteView(forced)));
    CAIRN_ASSIGN_OR_RETURN(proof::CheckpointView after_view, proof::DecodeCheckpoint(ByteView(after)));
    CAIRN_ASSIGN_OR_RETURN(cert.segments[leaf - 1].update_norm, proof::UpdateNorm(before_view, forced_view));
    CAIRN_ASSIGN_OR_RETURN(cert.segments[leaf].update_norm, proof::UpdateNorm(forced_view, after_view));
    cert.checkpoint_hashes[leaf] = forced_hash;
    cert.checkpoint_root = proof::CheckpointRoot(cert.checkpoint_hashes);
    proof::SignCertificate(&cert, *ctx_.key);
    CAIRN_RETURN_IF_ERROR(util::WriteFileAtomic(job_dir + "/certificate.bin", ByteView(proof::EncodeCertificate(cert))));
    out.certificate_hash = proof::CertificateHash(cert);
    out.checkpoint_root = cert.checkpoint_root;
    spdlog::info("job {}: the forced-error draw hit: checkpoint {} is committed wrong on purpose (revealed after the "
                 "verdicts)", Short(job.job_id), leaf);
    return Status::Ok();
  }();
  if (!out.status.ok()) spdlog::warn("job {}: planting the forced error failed: {}", Short(job.job_id), out.status.ToString());
  return out;
}

Result<ledger::RevealOp> JobWork::BuildReveal(const ledger::Job& job, const Hash256& secret, uint64_t leaf) {
  ledger::RevealOp op;
  op.job_id = job.job_id;
  op.secret = secret;
  if (leaf == 0) return op;
  CAIRN_ASSIGN_OR_RETURN(Bytes raw, Certificate(job.job_id));
  CAIRN_ASSIGN_OR_RETURN(proof::Certificate cert, proof::DecodeCertificate(ByteView(raw)));
  if (leaf >= cert.checkpoint_hashes.size()) {
    return FailedPrecondition("job " + Short(job.job_id) + ": forced checkpoint " + std::to_string(leaf) +
                              " is past the certificate's end");
  }
  std::vector<Hash256> leaves;
  for (const Hash256& h : cert.checkpoint_hashes) leaves.push_back(crypto::MerkleLeafHash(ByteView(h.bytes)));
  crypto::MerkleTree tree(leaves);
  op.start_hash = cert.checkpoint_hashes[leaf - 1];
  op.start_proof = tree.Proof(leaf - 1);
  op.end_hash = cert.checkpoint_hashes[leaf];
  op.end_proof = tree.Proof(leaf);
  return op;
}

}  // namespace cairn::node
