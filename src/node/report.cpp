#include "node/report.h"

#include "util/codec.h"

namespace cairn::node {
namespace {

constexpr char kMagic[] = "CAIRNVR1";
constexpr size_t kMagicBytes = 8;

void WriteSegments(util::Writer& w, const std::vector<uint32_t>& segments) {
  w.U32(static_cast<uint32_t>(segments.size()));
  for (uint32_t s : segments) w.U32(s);
}

std::vector<uint32_t> ReadSegments(util::Reader& r) {
  std::vector<uint32_t> out;
  uint32_t n = r.ListLength(kReportSegmentsMax);
  for (uint32_t i = 0; i < n && r.ok(); ++i) out.push_back(r.U32());
  return out;
}

}  // namespace

Bytes EncodeReport(const VerifierReport& report) {
  util::Writer w;
  w.Raw(ByteView(reinterpret_cast<const uint8_t*>(kMagic), kMagicBytes));
  w.Hash(report.job_id);
  w.Hash(report.certificate_hash);
  w.Raw(ByteView(report.verifier.bytes));
  w.Bool(report.accept);
  w.String(report.reason.substr(0, kReportReasonBytesMax));
  WriteSegments(w, report.sampled);
  WriteSegments(w, report.failed);
  w.U64(report.steps_replayed);
  return w.Take();
}

Result<VerifierReport> DecodeReport(ByteView bytes) {
  if (bytes.size > kReportBytesMax) return InvalidArgument("verifier report over " + std::to_string(kReportBytesMax) + " bytes");
  util::Reader r(bytes);
  uint8_t magic[kMagicBytes] = {};
  r.Raw(magic, kMagicBytes);
  if (r.ok() && std::string_view(reinterpret_cast<char*>(magic), kMagicBytes) != kMagic) r.Fail("not a verifier report (bad magic)");
  VerifierReport v;
  v.job_id = r.Hash();
  v.certificate_hash = r.Hash();
  r.Raw(v.verifier.bytes.data(), v.verifier.bytes.size());
  v.accept = r.Bool();
  v.reason = r.String(kReportReasonBytesMax);
  v.sampled = ReadSegments(r);
  v.failed = ReadSegments(r);
  v.steps_replayed = r.U64();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("verifier report"));
  return v;
}

}  // namespace cairn::node
