// A verifier's report: what it checked and what it found, stored as a blob
// on the verifier's node; its BLAKE2b-256 is the report_hash of the verdict
// on the ledger. The referee fetches it to learn which segments a reject is
// about. Layout: docs/protocol.md, "Verifier reports".
#pragma once

#include <string>
#include <vector>

#include "cairn/bytes.h"
#include "crypto/keys.h"

namespace cairn::node {

inline constexpr size_t kReportBytesMax = 64u << 10;
inline constexpr size_t kReportReasonBytesMax = 4096;
inline constexpr uint32_t kReportSegmentsMax = 1000;

struct VerifierReport {
  Hash256 job_id;
  Hash256 certificate_hash;
  crypto::PublicKey verifier;
  bool accept = false;
  std::string reason;             // The first failure, "" on accept (cut to kReportReasonBytesMax).
  std::vector<uint32_t> sampled;  // Segments replayed.
  std::vector<uint32_t> failed;   // Segments whose check failed (empty for a whole-certificate defect).
  uint64_t steps_replayed = 0;
  friend bool operator==(const VerifierReport&, const VerifierReport&) = default;
};

Bytes EncodeReport(const VerifierReport& report);
Result<VerifierReport> DecodeReport(ByteView bytes);

}  // namespace cairn::node
