// libFuzzer target: ledger::DecodeBlock on arbitrary bytes.
//
// Blocks are read back from disk and will come from peers: decoding must
// never crash, an accepted block must re-encode to exactly the input bytes
// (canonical encoding, as for transactions), and checking what a decoded
// block says about itself (CheckBlockIntegrity) must return a Status, never
// crash. Any violation aborts, which libFuzzer reports with the input.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ledger/block.h"

namespace {

[[noreturn]] void Fail(const char* what, size_t size) {
  std::fprintf(stderr, "block_decode_fuzz: %s (input of %zu bytes)\n", what, size);
  std::abort();
}

bool SameBlock(const cairn::ledger::Block& a, const cairn::ledger::Block& b) {
  return a.header == b.header && a.signature == b.signature && a.txs == b.txs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  auto block = ledger::DecodeBlock(ByteView(data, size));
  if (!block.ok()) {
    if (block.status().message().empty()) Fail("rejected without a message", size);
    return 0;
  }
  Bytes again = ledger::EncodeBlock(*block);
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0) {
    Fail("accepted bytes that do not re-encode to themselves (non-canonical encoding)", size);
  }
  auto twice = ledger::DecodeBlock(ByteView(again));
  if (!twice.ok() || !SameBlock(*twice, *block)) Fail("re-encoded block does not decode to the same value", size);
  (void)ledger::BlockHash(block->header);
  (void)ledger::CheckBlockIntegrity(*block);
  return 0;
}
