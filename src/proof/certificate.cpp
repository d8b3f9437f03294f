#include "proof/certificate.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "data/batch_order.h"
#include "util/codec.h"

namespace cairn::proof {
namespace {

constexpr uint8_t kCertificateVersion = 3;  // 3: the profile records its kernels (aten or repro).
constexpr size_t kEnvironmentStringBytesMax = 256;

void WriteBody(util::Writer& w, const Certificate& c) {
  w.U8(kCertificateVersion);
  w.Hash(c.job_id);
  w.Raw(ByteView(c.solver.bytes));
  w.U64(c.total_steps);
  w.U32(c.checkpoint_interval);
  job::WriteExecutionProfile(w, c.environment.profile);
  w.String(c.environment.torch_version);
  w.String(c.environment.blas_library);
  w.U32(static_cast<uint32_t>(c.checkpoint_hashes.size()));
  for (const Hash256& h : c.checkpoint_hashes) w.Hash(h);
  w.Hash(c.checkpoint_root);
  w.U32(static_cast<uint32_t>(c.segments.size()));
  for (const SegmentMetadata& s : c.segments) WriteSegmentMetadata(w, s);
  w.Hash(c.final_model_hash);
  w.Bool(c.evaluation.has_value());
  if (c.evaluation) {
    w.F64(c.evaluation->loss);
    w.F64(c.evaluation->accuracy);
    w.U64(c.evaluation->examples);
    w.U64(c.evaluation->correct);
  }
}

}  // namespace

void WriteSegmentMetadata(util::Writer& w, const SegmentMetadata& s) {
  w.U64(s.start_step);
  w.U64(s.end_step);
  w.F64(s.loss_mean);
  w.F64(s.grad_norm_last);
  w.F64(s.update_norm);
}

SegmentMetadata ReadSegmentMetadata(util::Reader& r) {
  SegmentMetadata s;
  s.start_step = r.U64();
  s.end_step = r.U64();
  s.loss_mean = r.F64();
  s.grad_norm_last = r.F64();
  s.update_norm = r.F64();
  return s;
}

bool operator==(const Environment& a, const Environment& b) {
  const job::ExecutionProfile& p = a.profile;
  const job::ExecutionProfile& q = b.profile;
  return p.device == q.device && p.threads == q.threads && p.aten_cpu_capability == q.aten_cpu_capability &&
         p.blas == q.blas && p.openblas_coretype == q.openblas_coretype && p.onednn == q.onednn &&
         p.kernels == q.kernels && a.torch_version == b.torch_version && a.blas_library == b.blas_library;
}

Bytes EncodeCertificateBody(const Certificate& c) {
  util::Writer w;
  WriteBody(w, c);
  return w.Take();
}

Bytes EncodeCertificate(const Certificate& c) {
  util::Writer w;
  WriteBody(w, c);
  w.Raw(ByteView(c.signature.bytes));
  return w.Take();
}

Result<Certificate> DecodeCertificate(ByteView bytes) {
  if (bytes.size > kCertificateBytesMax) return InvalidArgument("certificate is larger than the limit");
  util::Reader r(bytes);
  Certificate c;
  uint8_t version = r.U8();
  if (r.ok() && version != kCertificateVersion) r.Fail("unsupported certificate version " + std::to_string(version));
  c.job_id = r.Hash();
  r.Raw(c.solver.bytes.data(), c.solver.bytes.size());
  c.total_steps = r.U64();
  c.checkpoint_interval = r.U32();
  c.environment.profile = job::ReadExecutionProfile(r);
  c.environment.torch_version = r.String(kEnvironmentStringBytesMax);
  c.environment.blas_library = r.String(kEnvironmentStringBytesMax);
  uint32_t n = r.ListLength(kCheckpointsPerJobMax);
  for (uint32_t i = 0; i < n && r.ok(); ++i) c.checkpoint_hashes.push_back(r.Hash());
  c.checkpoint_root = r.Hash();
  uint32_t segments = r.ListLength(kCheckpointsPerJobMax);
  for (uint32_t i = 0; i < segments && r.ok(); ++i) c.segments.push_back(ReadSegmentMetadata(r));
  c.final_model_hash = r.Hash();
  if (r.Bool()) {
    EvaluationClaim e;
    e.loss = r.F64();
    e.accuracy = r.F64();
    e.examples = r.U64();
    e.correct = r.U64();
    c.evaluation = e;
  }
  r.Raw(c.signature.bytes.data(), c.signature.bytes.size());
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("malformed certificate"));
  return c;
}

Hash256 CertificateHash(const Certificate& c) {
  return crypto::TaggedHash("cairn/certificate-id/v1", EncodeCertificate(c));
}

Hash256 CheckpointRoot(const std::vector<Hash256>& checkpoint_hashes) {
  std::vector<Hash256> leaves;
  leaves.reserve(checkpoint_hashes.size());
  for (const Hash256& h : checkpoint_hashes) leaves.push_back(crypto::MerkleLeafHash(ByteView(h.bytes)));
  return crypto::MerkleRoot(leaves);
}

void SignCertificate(Certificate* c, const crypto::KeyPair& solver) {
  c->solver = solver.public_key();
  Hash256 digest = crypto::TaggedHash("cairn/certificate/v1", EncodeCertificateBody(*c));
  c->signature = solver.Sign(ByteView(digest.bytes));
}

Status CheckCertificate(const Certificate& c) {
  Hash256 digest = crypto::TaggedHash("cairn/certificate/v1", EncodeCertificateBody(c));
  if (!crypto::Verify(c.solver, ByteView(digest.bytes), c.signature)) {
    return PermissionDenied("certificate signature does not verify against solver " + c.solver.ToHex().substr(0, 16));
  }
  if (c.checkpoint_hashes.size() < 2 || c.segments.size() + 1 != c.checkpoint_hashes.size()) {
    return Corruption("certificate lists " + std::to_string(c.checkpoint_hashes.size()) + " checkpoints for " +
                      std::to_string(c.segments.size()) + " segments");
  }
  if (CheckpointRoot(c.checkpoint_hashes) != c.checkpoint_root) {
    return Corruption("certificate's checkpoint root does not match its checkpoint hashes");
  }
  uint64_t step = 0;
  for (size_t i = 0; i < c.segments.size(); ++i) {
    const SegmentMetadata& s = c.segments[i];
    uint64_t expected_end = std::min<uint64_t>(step + c.checkpoint_interval, c.total_steps);
    if (s.start_step != step || s.end_step != expected_end) {
      return Corruption("certificate segment " + std::to_string(i) + " covers steps " + std::to_string(s.start_step) +
                        ".." + std::to_string(s.end_step) + ", expected " + std::to_string(step) + ".." +
                        std::to_string(expected_end));
    }
    step = s.end_step;
  }
  if (step != c.total_steps) return Corruption("certificate segments do not reach the last step");
  return Status::Ok();
}

namespace {
Hash256 SamplingDigest(const Hash256& certificate_hash) {
  return crypto::TaggedHash("cairn/verifier-sampling/v1", ByteView(certificate_hash.bytes));
}
}  // namespace

crypto::Signature SamplingSignature(const crypto::KeyPair& verifier, const Hash256& certificate_hash) {
  Hash256 digest = SamplingDigest(certificate_hash);
  return verifier.Sign(ByteView(digest.bytes));
}

bool CheckSamplingSignature(const crypto::PublicKey& verifier, const Hash256& certificate_hash,
                            const crypto::Signature& signature) {
  Hash256 digest = SamplingDigest(certificate_hash);
  return crypto::Verify(verifier, ByteView(digest.bytes), signature);
}

std::vector<uint32_t> SampleSegments(const Certificate& c, const crypto::Signature& sampling_signature,
                                     uint32_t top_q, uint32_t uniform) {
  const uint32_t n = static_cast<uint32_t>(c.segments.size());
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return c.segments[a].update_norm > c.segments[b].update_norm;
  });
  uint32_t q = std::min(top_q, n);
  std::vector<uint32_t> chosen(order.begin(), order.begin() + q);
  std::vector<uint32_t> rest(order.begin() + q, order.end());
  std::sort(rest.begin(), rest.end());
  Hash256 seed_hash = crypto::TaggedHash("cairn/verifier-seed/v1", ByteView(sampling_signature.bytes));
  uint64_t seed = 0;  // First 8 bytes, little-endian.
  for (int i = 7; i >= 0; --i) seed = (seed << 8) | seed_hash.bytes[i];
  uint32_t u = std::min<uint32_t>(uniform, static_cast<uint32_t>(rest.size()));
  for (uint32_t i = 0; i < u; ++i) {
    chosen.push_back(rest[data::PermutedIndex(seed, /*epoch=*/0, i, static_cast<uint32_t>(rest.size()))]);
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

double EscapeProbability(double faked_fraction, uint32_t sampled) {
  return std::pow(1.0 - faked_fraction, static_cast<double>(sampled));
}

}  // namespace cairn::proof
