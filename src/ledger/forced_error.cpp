#include "ledger/forced_error.h"

#include <algorithm>

#include "crypto/hash.h"

namespace cairn::ledger {
namespace {

uint64_t LittleEndian64(const Hash256& h, size_t offset) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | h.bytes[offset + i];
  return v;
}

Bytes Concat(std::initializer_list<const std::array<uint8_t, 32>*> parts) {
  Bytes out;
  for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

}  // namespace

const char* ForcedErrorName(ForcedError f) {
  switch (f) {
    case ForcedError::kUnrevealed: return "unrevealed";
    case ForcedError::kNone: return "none";
    case ForcedError::kConfirmed: return "confirmed";
    case ForcedError::kChecking: return "checking";
    case ForcedError::kRefuted: return "refuted";
    case ForcedError::kMasked: return "masked";
  }
  return "unknown";
}

Hash256 ForcedErrorCommitment(const Hash256& secret, const Hash256& job_id) {
  return crypto::TaggedHash("cairn/forced-error/commitment/v1", Concat({&secret.bytes, &job_id.bytes}));
}

uint64_t ForcedErrorLeaf(const Hash256& secret, const Hash256& claim_seed, const Hash256& job_id,
                         uint64_t checkpoint_count, uint32_t forced_error_bps) {
  if (checkpoint_count < 3) return 0;
  Hash256 draw = crypto::TaggedHash("cairn/forced-error/draw/v1", Concat({&secret.bytes, &claim_seed.bytes, &job_id.bytes}));
  if (LittleEndian64(draw, 0) % 10000 >= forced_error_bps) return 0;
  return 1 + LittleEndian64(draw, 8) % (checkpoint_count - 2);
}

uint64_t JobForcedLeaf(const Hash256& secret, const Job& job, uint64_t checkpoint_count, uint32_t forced_error_bps) {
  if (!job.exact_replay) return 0;
  return ForcedErrorLeaf(secret, job.claim_seed, job.job_id, checkpoint_count, forced_error_bps);
}

std::vector<uint64_t> AuditedSegments(const Hash256& selection_seed, const Hash256& job_id,
                                      const AccountId& verifier, uint64_t segments, uint32_t count) {
  std::vector<uint64_t> out;
  if (segments == 0) return out;
  if (count >= segments) {
    for (uint64_t i = 0; i < segments; ++i) out.push_back(i);
    return out;
  }
  // Draws with rejection of repeats: count <= 64 < segments, so a repeat is
  // rare and the loop ends after a few draws more than `count`.
  Bytes base = Concat({&selection_seed.bytes, &job_id.bytes, &verifier.bytes});
  for (uint64_t i = 0; out.size() < count; ++i) {
    Bytes data = base;
    for (int b = 0; b < 8; ++b) data.push_back(static_cast<uint8_t>(i >> (8 * b)));
    uint64_t segment = LittleEndian64(crypto::TaggedHash("cairn/audited-segment/v1", data), 0) % segments;
    if (std::find(out.begin(), out.end(), segment) == out.end()) out.push_back(segment);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool AuditIncludes(const Job& job, const AccountId& verifier, uint32_t audited_segments, uint64_t segment) {
  if (job.checkpoint_count < 2) return false;
  auto audited = AuditedSegments(job.selection_seed, job.job_id, verifier, job.checkpoint_count - 1, audited_segments);
  return std::find(audited.begin(), audited.end(), segment) != audited.end();
}

bool AuditCovers(const Job& job, const AccountId& verifier, uint32_t audited_segments, uint64_t leaf) {
  if (leaf == 0) return false;
  return AuditIncludes(job, verifier, audited_segments, leaf - 1) || AuditIncludes(job, verifier, audited_segments, leaf);
}

}  // namespace cairn::ledger
