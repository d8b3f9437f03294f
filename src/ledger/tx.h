// Signed transactions: the only way to change ledger state.
//
// A transaction names its chain, its sender (an Ed25519 public key), the
// sender's next nonce, and one operation. The sender signs
// tx_id = TaggedHash("cairn/tx/v1", body), so a signature is bound to this
// chain, this account and this nonce: it cannot be replayed on another chain,
// by another account, or twice. Wire layout: docs/encoding.md.
#pragma once

#include <optional>
#include <variant>

#include "cairn/bytes.h"
#include "crypto/keys.h"
#include "ledger/types.h"

namespace cairn::ledger {

struct TransferOp {
  AccountId to;
  Amount amount = 0;
  friend bool operator==(const TransferOp&, const TransferOp&) = default;
};
// Devnet only: mints up to params.faucet_amount_max into the sender's balance.
struct FaucetOp {
  Amount amount = 0;
  friend bool operator==(const FaucetOp&, const FaucetOp&) = default;
};
struct StakeOp {
  Amount amount = 0;
  friend bool operator==(const StakeOp&, const StakeOp&) = default;
};
// Moves free stake into unbonding; it returns to the balance after
// params.unbonding_delay_blocks.
struct UnstakeOp {
  Amount amount = 0;
  friend bool operator==(const UnstakeOp&, const UnstakeOp&) = default;
};
struct PostJobOp {
  Hash256 job_id;
  Amount fee = 0;
  Amount solver_stake = 0;
  uint64_t claim_window_blocks = 0;   // Claim by posted height + this.
  uint64_t commit_window_blocks = 0;  // Commit by claimed height + this.
  // BLAKE2b-256 of the job's manifest blob (net/job_manifest.h: the canonical
  // spec and the hash of every input file), from which a solver fetches the
  // job. Zero for a job whose inputs travel outside the network.
  Hash256 manifest_hash;
  friend bool operator==(const PostJobOp&, const PostJobOp&) = default;
};
struct ClaimJobOp {
  Hash256 job_id;
  Hash256 forced_error_commitment;
  friend bool operator==(const ClaimJobOp&, const ClaimJobOp&) = default;
};
struct CommitCertificateOp {
  Hash256 job_id;
  Hash256 certificate_hash;
  Hash256 checkpoint_root;
  Hash256 final_model_hash;
  friend bool operator==(const CommitCertificateOp&, const CommitCertificateOp&) = default;
};
struct VerdictOp {
  Hash256 job_id;
  bool accept = false;
  Hash256 report_hash;
  friend bool operator==(const VerdictOp&, const VerdictOp&) = default;
};
// Referee only: the outcome of a dispute.
struct RulingOp {
  Hash256 job_id;
  bool solver_at_fault = false;
  friend bool operator==(const RulingOp&, const RulingOp&) = default;
};
// Anyone: closes a job whose window has passed (pays out, refunds or expires).
struct SettleOp {
  Hash256 job_id;
  friend bool operator==(const SettleOp&, const SettleOp&) = default;
};

// Publishes where the sender's node answers (host:port of its blob and proof
// services), so that peers can fetch what it holds. The latest one counts.
struct AnnounceOp {
  std::string endpoint;  // 1..kEndpointBytesMax printable ASCII bytes, no spaces.
  friend bool operator==(const AnnounceOp&, const AnnounceOp&) = default;
};

// Submitter only, while nobody has claimed the job: the fee is refunded and
// the job ends cancelled.
struct CancelJobOp {
  Hash256 job_id;
  friend bool operator==(const CancelJobOp&, const CancelJobOp&) = default;
};

// The index of each alternative is its wire tag minus one; append only.
using Operation = std::variant<TransferOp, FaucetOp, StakeOp, UnstakeOp, PostJobOp, ClaimJobOp,
                               CommitCertificateOp, VerdictOp, RulingOp, SettleOp, AnnounceOp,
                               CancelJobOp>;
const char* OperationName(const Operation& op);
// The job an operation is about, if any.
std::optional<Hash256> JobOfOperation(const Operation& op);

struct TxBody {
  std::string chain_id;
  AccountId sender;
  uint64_t nonce = 0;  // Must be the sender's account nonce + 1.
  Operation op;
  friend bool operator==(const TxBody&, const TxBody&) = default;
};

struct SignedTx {
  TxBody body;
  crypto::Signature signature;
  friend bool operator==(const SignedTx& a, const SignedTx& b) {
    return a.body == b.body && a.signature == b.signature;
  }
};

Bytes EncodeTxBody(const TxBody& body);
// The hash the sender signs; also the transaction's id.
Hash256 TxId(const TxBody& body);

Bytes EncodeTx(const SignedTx& tx);
// Strict: rejects unknown tags, over-long fields and trailing bytes, so every
// accepted byte string is the one canonical encoding of its transaction.
Result<SignedTx> DecodeTx(ByteView bytes);

SignedTx SignTx(TxBody body, const crypto::KeyPair& key);
// Checks the signature over TxId(body) with body.sender.
bool VerifyTxSignature(const SignedTx& tx);
// The same, for a caller that already has the id. REQUIRES: tx_id == TxId(tx.body).
bool VerifyTxSignature(const SignedTx& tx, const Hash256& tx_id);

}  // namespace cairn::ledger
