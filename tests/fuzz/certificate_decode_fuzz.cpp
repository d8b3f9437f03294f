// libFuzzer target: proof::DecodeCertificate on arbitrary bytes.
//
// Certificates come from solvers, which may be hostile. Decoding must never
// crash, is canonical (what it accepts re-encodes to the same bytes), and
// every check and the sampling a verifier runs on a decoded certificate are
// total.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "proof/certificate.h"

namespace {

[[noreturn]] void Fail(const char* what, size_t size) {
  std::fprintf(stderr, "certificate_decode_fuzz: %s (input of %zu bytes)\n", what, size);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  auto c = proof::DecodeCertificate(ByteView(data, size));
  if (!c.ok()) {
    if (c.status().message().empty()) Fail("rejected without a message", size);
    return 0;
  }
  Bytes again = proof::EncodeCertificate(*c);
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0) {
    Fail("accepted bytes that do not re-encode to themselves", size);
  }
  (void)proof::CheckCertificate(*c);
  (void)proof::CertificateHash(*c);
  crypto::Signature sig{};
  for (size_t i = 0; i < sig.bytes.size(); ++i) sig.bytes[i] = static_cast<uint8_t>(i);
  auto sample = proof::SampleSegments(*c, sig, 3, 5);
  for (uint32_t s : sample) {
    if (s >= c->segments.size()) Fail("sampled a segment the certificate does not have", size);
  }
  return 0;
}
