// libFuzzer target: the pinpoint protocol's decoders (proof/op_trace.h) on
// arbitrary bytes. Operator records arrive in dispute moves and input blobs
// from the parties of a dispute, either of whom may be hostile. The first
// byte picks the decoder; decoding must never crash, and what a decoder
// accepts must re-encode to exactly its input.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "proof/op_trace.h"

namespace {

[[noreturn]] void Fail(const char* what, size_t size) {
  std::fprintf(stderr, "op_trace_decode_fuzz: %s (input of %zu bytes)\n", what, size);
  std::abort();
}

void ExpectSame(const cairn::Bytes& again, const uint8_t* data, size_t size) {
  if (again.size() != size || (size != 0 && std::memcmp(again.data(), data, size) != 0)) {
    Fail("accepted bytes that do not re-encode to themselves", size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  if (size == 0) return 0;
  const uint8_t which = data[0] % 3;
  const ByteView rest(data + 1, size - 1);
  if (which == 0) {
    auto r = proof::DecodeOpRecord(rest);
    if (!r.ok()) return r.status().message().empty() ? (Fail("rejected without a message", size), 0) : 0;
    ExpectSame(proof::EncodeOpRecord(*r), rest.data, rest.size);
    (void)proof::OpRecordHash(*r);
    (void)proof::OutputHash(r->outputs);
  } else if (which == 1) {
    auto t = proof::DecodeStepTrace(rest);
    if (!t.ok()) return t.status().message().empty() ? (Fail("rejected without a message", size), 0) : 0;
    ExpectSame(proof::EncodeStepTrace(*t), rest.data, rest.size);
    (void)proof::TraceRoot(*t);
  } else {
    auto in = proof::DecodeOpInputs(rest);
    if (!in.ok()) return in.status().message().empty() ? (Fail("rejected without a message", size), 0) : 0;
    auto again = proof::EncodeOpInputs(*in);
    if (!again.ok()) Fail("decoded inputs that do not encode", size);
    ExpectSame(*again, rest.data, rest.size);
    for (const proof::OpValue& v : in->values) (void)proof::DescribeValue(v);
  }
  return 0;
}
