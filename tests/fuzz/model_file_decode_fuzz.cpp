// libFuzzer target: proof::DecodeModelState (model files: `model.bin`, the
// weights a fine-tuning job submits) on arbitrary bytes. Never crash, never
// over-allocate, and canonical: what it accepts re-encodes to the same bytes.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "proof/model_state.h"

namespace {

[[noreturn]] void Fail(const char* what, size_t size) {
  std::fprintf(stderr, "model_file_decode_fuzz: %s (input of %zu bytes)\n", what, size);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  auto m = proof::DecodeModelState(ByteView(data, size));
  if (!m.ok()) {
    if (m.status().message().empty()) Fail("rejected without a message", size);
    return 0;
  }
  Bytes again = proof::EncodeModelState(m->tensors);
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0) {
    Fail("accepted bytes that do not re-encode to themselves", size);
  }
  if (m->encoded.size != size) Fail("the encoded span is not the whole file", size);
  std::string bad;
  (void)proof::AllFinite(*m, &bad);
  if (!proof::CompareStates(*m, *m).ok()) Fail("a state cannot be compared with itself", size);
  return 0;
}
