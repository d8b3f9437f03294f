#include "ledger/tx.h"

#include <cstring>

#include "crypto/hash.h"
#include "ledger/dispute.h"
#include "util/codec.h"

namespace cairn::ledger {
namespace {

constexpr uint8_t kTxVersion = 1;

void PutKey(util::Writer& w, const crypto::PublicKey& k) { w.Raw(ByteView(k.bytes)); }
crypto::PublicKey GetKey(util::Reader& r) {
  crypto::PublicKey k;
  r.Raw(k.bytes.data(), k.bytes.size());
  return k;
}

void PutHashes(util::Writer& w, const std::vector<Hash256>& hashes) {
  w.U32(static_cast<uint32_t>(hashes.size()));
  for (const Hash256& h : hashes) w.Hash(h);
}
std::vector<Hash256> GetHashes(util::Reader& r) {
  std::vector<Hash256> out;
  uint32_t n = r.ListLength(kMerkleProofHashesMax);
  for (uint32_t i = 0; i < n && r.ok(); ++i) out.push_back(r.Hash());
  return out;
}

struct OpEncoder {
  util::Writer& w;
  void operator()(const TransferOp& op) { PutKey(w, op.to); w.U64(op.amount); }
  void operator()(const FaucetOp& op) { w.U64(op.amount); }
  void operator()(const StakeOp& op) { w.U64(op.amount); }
  void operator()(const UnstakeOp& op) { w.U64(op.amount); }
  void operator()(const PostJobOp& op) {
    w.Hash(op.job_id);
    w.U64(op.fee);
    w.U64(op.solver_stake);
    w.U64(op.claim_window_blocks);
    w.U64(op.commit_window_blocks);
    w.Hash(op.manifest_hash);
    w.U8(op.replicas);
    w.Bool(op.exact_replay);
  }
  void operator()(const ClaimJobOp& op) { w.Hash(op.job_id); w.Hash(op.forced_error_commitment); }
  void operator()(const CommitCertificateOp& op) {
    w.Hash(op.job_id);
    w.Hash(op.certificate_hash);
    w.Hash(op.checkpoint_root);
    w.Hash(op.final_model_hash);
    w.U64(op.checkpoint_count);
  }
  void operator()(const VerdictOp& op) { w.Hash(op.job_id); w.Bool(op.accept); w.Hash(op.report_hash); }
  void operator()(const RulingOp& op) {
    w.Hash(op.job_id);
    w.Bool(op.solver_at_fault);
    w.U8(op.task);
    w.Hash(op.value);
    w.Hash(op.inputs_hash);
    w.String(op.op_name);
  }
  void operator()(const DisputeOpenOp& op) {
    w.Hash(op.job_id);
    w.Hash(op.report_hash);
    w.U64(op.segment);
    w.U64(op.begin_step);
    w.U64(op.end_step);
    w.Hash(op.start_hash);
    PutHashes(w, op.start_proof);
    w.Hash(op.end_hash);
    PutHashes(w, op.end_proof);
    w.Hash(op.challenger_end_hash);
  }
  void operator()(const PinpointMoveOp& op) {
    w.Hash(op.job_id);
    w.U8(op.phase);
    w.U64(op.position);
    w.Hash(op.hash);
    w.U64(op.count);
    PutHashes(w, op.proof);
    w.LengthPrefixed(ByteView(op.record));
  }
  void operator()(const SettleOp& op) { w.Hash(op.job_id); }
  void operator()(const AnnounceOp& op) { w.String(op.endpoint); }
  void operator()(const CancelJobOp& op) { w.Hash(op.job_id); }
  void operator()(const RevealOp& op) {
    w.Hash(op.job_id);
    w.Hash(op.secret);
    w.Hash(op.start_hash);
    PutHashes(w, op.start_proof);
    w.Hash(op.end_hash);
    PutHashes(w, op.end_proof);
  }
};

Operation DecodeOp(uint8_t tag, util::Reader& r) {
  switch (tag) {
    case 1: { TransferOp op; op.to = GetKey(r); op.amount = r.U64(); return op; }
    case 2: return FaucetOp{r.U64()};
    case 3: return StakeOp{r.U64()};
    case 4: return UnstakeOp{r.U64()};
    case 5: {
      PostJobOp op;
      op.job_id = r.Hash();
      op.fee = r.U64();
      op.solver_stake = r.U64();
      op.claim_window_blocks = r.U64();
      op.commit_window_blocks = r.U64();
      op.manifest_hash = r.Hash();
      op.replicas = r.U8();
      op.exact_replay = r.Bool();
      return op;
    }
    case 6: { ClaimJobOp op; op.job_id = r.Hash(); op.forced_error_commitment = r.Hash(); return op; }
    case 7: {
      CommitCertificateOp op;
      op.job_id = r.Hash();
      op.certificate_hash = r.Hash();
      op.checkpoint_root = r.Hash();
      op.final_model_hash = r.Hash();
      op.checkpoint_count = r.U64();
      return op;
    }
    case 8: { VerdictOp op; op.job_id = r.Hash(); op.accept = r.Bool(); op.report_hash = r.Hash(); return op; }
    case 9: {
      RulingOp op;
      op.job_id = r.Hash();
      op.solver_at_fault = r.Bool();
      op.task = r.U8();
      op.value = r.Hash();
      op.inputs_hash = r.Hash();
      op.op_name = r.String(kOpNameBytesMax);
      return op;
    }
    case 10: return SettleOp{r.Hash()};
    case 11: return AnnounceOp{r.String(kEndpointBytesMax)};
    case 12: return CancelJobOp{r.Hash()};
    case 13: {
      DisputeOpenOp op;
      op.job_id = r.Hash();
      op.report_hash = r.Hash();
      op.segment = r.U64();
      op.begin_step = r.U64();
      op.end_step = r.U64();
      op.start_hash = r.Hash();
      op.start_proof = GetHashes(r);
      op.end_hash = r.Hash();
      op.end_proof = GetHashes(r);
      op.challenger_end_hash = r.Hash();
      return op;
    }
    case 14: {
      PinpointMoveOp op;
      op.job_id = r.Hash();
      op.phase = r.U8();
      op.position = r.U64();
      op.hash = r.Hash();
      op.count = r.U64();
      op.proof = GetHashes(r);
      op.record = r.LengthPrefixed(kTraceRecordBytesMax);
      return op;
    }
    case 15: {
      RevealOp op;
      op.job_id = r.Hash();
      op.secret = r.Hash();
      op.start_hash = r.Hash();
      op.start_proof = GetHashes(r);
      op.end_hash = r.Hash();
      op.end_proof = GetHashes(r);
      return op;
    }
    default:
      r.Fail("unknown operation tag " + std::to_string(tag));
      return FaucetOp{};
  }
}

void WriteBody(util::Writer& w, const TxBody& body) {
  w.U8(kTxVersion);
  w.String(body.chain_id);
  PutKey(w, body.sender);
  w.U64(body.nonce);
  w.U8(static_cast<uint8_t>(body.op.index() + 1));
  std::visit(OpEncoder{w}, body.op);
}

}  // namespace

const char* OperationName(const Operation& op) {
  static const char* const kNames[] = {"transfer", "faucet", "stake", "unstake", "post_job",
                                       "claim_job", "commit_certificate", "verdict", "ruling", "settle", "announce",
                                       "cancel_job", "dispute_open", "pinpoint_move", "reveal"};
  static_assert(std::variant_size_v<Operation> == sizeof(kNames) / sizeof(kNames[0]));
  return kNames[op.index()];
}

Hash256 ReplicaJobId(const Hash256& job_id, uint8_t replica) {
  if (replica == 0) return job_id;
  Bytes data(job_id.bytes.begin(), job_id.bytes.end());
  data.push_back(replica);
  return crypto::TaggedHash("cairn/replica/v1", data);
}

std::optional<Hash256> JobOfOperation(const Operation& op) {
  return std::visit(
      [](const auto& o) -> std::optional<Hash256> {
        if constexpr (requires { o.job_id; }) {
          return o.job_id;
        } else {
          return std::nullopt;
        }
      },
      op);
}

Bytes EncodeTxBody(const TxBody& body) {
  util::Writer w;
  WriteBody(w, body);
  return w.Take();
}

Hash256 TxId(const TxBody& body) { return crypto::TaggedHash("cairn/tx/v1", EncodeTxBody(body)); }

Bytes EncodeTx(const SignedTx& tx) {
  util::Writer w;
  WriteBody(w, tx.body);
  w.Raw(ByteView(tx.signature.bytes));
  return w.Take();
}

Result<SignedTx> DecodeTx(ByteView bytes) {
  if (bytes.size > kTxBytesMax) {
    return InvalidArgument("transaction is " + std::to_string(bytes.size) + " bytes, more than the limit of " +
                           std::to_string(kTxBytesMax));
  }
  util::Reader r(bytes);
  SignedTx tx;
  uint8_t version = r.U8();
  if (r.ok() && version != kTxVersion) r.Fail("unsupported transaction version " + std::to_string(version));
  tx.body.chain_id = r.String(kChainIdBytesMax);
  tx.body.sender = GetKey(r);
  tx.body.nonce = r.U64();
  uint8_t tag = r.U8();
  if (r.ok()) tx.body.op = DecodeOp(tag, r);
  r.Raw(tx.signature.bytes.data(), tx.signature.bytes.size());
  Status s = r.Finish();
  if (!s.ok()) return s.WithContext("malformed transaction");
  return tx;
}

SignedTx SignTx(TxBody body, const crypto::KeyPair& key) {
  CAIRN_ASSERT(body.sender == key.public_key());
  SignedTx tx;
  Hash256 id = TxId(body);
  tx.signature = key.Sign(ByteView(id.bytes));
  tx.body = std::move(body);
  return tx;
}

bool VerifyTxSignature(const SignedTx& tx) { return VerifyTxSignature(tx, TxId(tx.body)); }

bool VerifyTxSignature(const SignedTx& tx, const Hash256& tx_id) {
  return crypto::Verify(tx.body.sender, ByteView(tx_id.bytes), tx.signature);
}

}  // namespace cairn::ledger
