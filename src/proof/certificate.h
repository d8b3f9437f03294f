// Proof-of-learning certificates: what a solver signs about a training run,
// and how a verifier picks the segments to replay.
//
// A run of T steps with checkpoint interval k has checkpoints at steps 0, k,
// 2k, ... and T; segment i is the training from checkpoint i to i+1. The
// certificate commits to every checkpoint hash (and their Merkle root, which
// goes on the ledger), per-segment metadata, the final model, and the
// execution environment the run used. Byte layout: docs/certificates.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cairn/bytes.h"
#include "crypto/keys.h"
#include "job/spec.h"
#include "util/codec.h"

namespace cairn::proof {

inline constexpr uint32_t kCheckpointsPerJobMax = 1'000'000;
inline constexpr size_t kCertificateBytesMax = 256u << 20;

struct SegmentMetadata {
  uint64_t start_step = 0;
  uint64_t end_step = 0;
  double loss_mean = 0;       // Mean training loss over the segment's steps.
  // L2 norm of the full gradient at the segment's last step (one norm per
  // segment: computing it every step costs ~20% on small models).
  double grad_norm_last = 0;
  double update_norm = 0;     // L2 norm of (weights at end - weights at start).
  friend bool operator==(const SegmentMetadata&, const SegmentMetadata&) = default;
};

void WriteSegmentMetadata(util::Writer& w, const SegmentMetadata& s);
SegmentMetadata ReadSegmentMetadata(util::Reader& r);

// The environment a run actually had, beyond the requested profile.
struct Environment {
  job::ExecutionProfile profile;  // As applied (openblas_coretype filled in).
  std::string torch_version;
  std::string blas_library;       // The BLAS shared object libtorch loaded.
  friend bool operator==(const Environment& a, const Environment& b);
};

// The final model on the job's evaluation set (train/evaluate.h), when the
// job names one: signed by the solver, recomputed by the verifier.
struct EvaluationClaim {
  double loss = 0;      // Mean cross-entropy over the examples.
  double accuracy = 0;  // correct / examples.
  uint64_t examples = 0;
  uint64_t correct = 0;
  friend bool operator==(const EvaluationClaim&, const EvaluationClaim&) = default;
};

struct Certificate {
  Hash256 job_id;
  crypto::PublicKey solver;
  uint64_t total_steps = 0;
  uint32_t checkpoint_interval = 0;
  Environment environment;
  std::vector<Hash256> checkpoint_hashes;  // total = segments + 1.
  Hash256 checkpoint_root;                 // Merkle root over the checkpoint hashes.
  std::vector<SegmentMetadata> segments;
  Hash256 final_model_hash;                // Hash of the final model file (docs/checkpoints.md).
  std::optional<EvaluationClaim> evaluation;  // Present iff the job has an [evaluation] set.
  crypto::Signature signature;             // Solver's, over TaggedHash("cairn/certificate/v1", body).
};

Bytes EncodeCertificateBody(const Certificate& c);
Bytes EncodeCertificate(const Certificate& c);
Result<Certificate> DecodeCertificate(ByteView bytes);
// What the ledger's commit_certificate records.
Hash256 CertificateHash(const Certificate& c);
Hash256 CheckpointRoot(const std::vector<Hash256>& checkpoint_hashes);

void SignCertificate(Certificate* c, const crypto::KeyPair& solver);
// Signature, internal consistency (counts, root, segment steps).
Status CheckCertificate(const Certificate& c);

// The verifier's sampling seed: its deterministic Ed25519 signature over the
// certificate hash. The solver cannot predict it before committing, and
// anyone can check that the verifier sampled honestly.
crypto::Signature SamplingSignature(const crypto::KeyPair& verifier, const Hash256& certificate_hash);
bool CheckSamplingSignature(const crypto::PublicKey& verifier, const Hash256& certificate_hash,
                            const crypto::Signature& signature);

// Segments to replay: the top_q segments by update norm (largest first,
// lower index on ties), then `uniform` more drawn without replacement from
// the rest with a permutation keyed by the sampling signature. Sorted.
std::vector<uint32_t> SampleSegments(const Certificate& c, const crypto::Signature& sampling_signature,
                                     uint32_t top_q, uint32_t uniform);

// (1 - f)^s: the chance a solver that faked a fraction f of its segments
// escapes s uniformly sampled segments.
double EscapeProbability(double faked_fraction, uint32_t sampled);

}  // namespace cairn::proof
