// libFuzzer target: proof::DecodeCheckpoint on arbitrary bytes.
//
// Checkpoints come from solvers, which may be hostile: decoding must never
// crash or over-allocate whatever the sizes say, and it is canonical (what it
// accepts re-encodes to the same bytes). Everything the verifier computes
// from a decoded checkpoint must be total too.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "proof/model_state.h"

namespace {

[[noreturn]] void Fail(const char* what, size_t size) {
  std::fprintf(stderr, "checkpoint_decode_fuzz: %s (input of %zu bytes)\n", what, size);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  auto c = proof::DecodeCheckpoint(ByteView(data, size));
  if (!c.ok()) {
    if (c.status().message().empty()) Fail("rejected without a message", size);
    return 0;
  }
  Bytes again = proof::EncodeCheckpoint(c->step, c->model.encoded, c->optimizer_kind, c->optimizer_steps,
                                        c->state_per_parameter, c->optimizer_state);
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0) {
    Fail("accepted bytes that do not re-encode to themselves", size);
  }
  auto norm = proof::UpdateNorm(*c, *c);
  if (!norm.ok()) Fail("a checkpoint's layout differs from itself", size);
  std::string bad;
  const bool finite = proof::AllFinite(c->model, &bad);
  if (finite && *norm != 0) Fail("the update norm of a finite checkpoint to itself is not 0", size);
  if (!proof::CompareStates(c->model, c->model).ok()) Fail("a state cannot be compared with itself", size);
  (void)proof::ModelHash(c->model.encoded);
  return 0;
}
