// libFuzzer target: ledger::DecodeTx on arbitrary bytes.
//
// Transactions arrive from peers and clients, so decoding must never crash,
// and DecodeTx promises a canonical encoding: whatever it accepts, EncodeTx
// must give back byte for byte (otherwise one transaction would have two
// encodings and a relay could change its bytes without changing its meaning).
// Any violation aborts, which libFuzzer reports as a crash with the input.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ledger/tx.h"

namespace {

[[noreturn]] void Fail(const char* what, size_t size) {
  std::fprintf(stderr, "tx_decode_fuzz: %s (input of %zu bytes)\n", what, size);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  auto tx = ledger::DecodeTx(ByteView(data, size));
  if (!tx.ok()) {
    // A rejection must say why.
    if (tx.status().message().empty()) Fail("rejected without a message", size);
    return 0;
  }
  Bytes again = ledger::EncodeTx(*tx);
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0) {
    Fail("accepted bytes that do not re-encode to themselves (non-canonical encoding)", size);
  }
  auto twice = ledger::DecodeTx(ByteView(again));
  if (!twice.ok() || !(*twice == *tx)) Fail("re-encoded transaction does not decode to the same value", size);
  // Everything a node derives from a decoded transaction must be total too.
  (void)ledger::TxId(tx->body);
  (void)ledger::OperationName(tx->body.op);
  return 0;
}
