#include "ledger/dispute.h"

#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "store/kv_store.h"
#include "util/codec.h"

namespace cairn::ledger {
namespace {

void PutClaim(util::Writer& w, const DisputeClaim& c) {
  w.Bool(c.moved);
  w.Hash(c.hash);
  w.U64(c.count);
  w.Hash(c.trace_root);
  w.U64(c.trace_count);
  w.Hash(c.prefix_hi);
  w.LengthPrefixed(ByteView(c.record));
}

DisputeClaim GetClaim(util::Reader& r) {
  DisputeClaim c;
  c.moved = r.Bool();
  c.hash = r.Hash();
  c.count = r.U64();
  c.trace_root = r.Hash();
  c.trace_count = r.U64();
  c.prefix_hi = r.Hash();
  c.record = r.LengthPrefixed(kTraceRecordBytesMax);
  return c;
}

template <typename E>
E CheckedEnum(util::Reader& r, uint8_t lo, uint8_t hi, const char* what) {
  uint8_t v = r.U8();
  if (r.ok() && (v < lo || v > hi)) r.Fail(std::string("unknown ") + what + " " + std::to_string(v));
  return static_cast<E>(v);
}

}  // namespace

const char* DisputePhaseName(DisputePhase phase) {
  switch (phase) {
    case DisputePhase::kSteps: return "bisecting steps";
    case DisputePhase::kTraceRoots: return "committing operator traces";
    case DisputePhase::kOps: return "bisecting operators";
    case DisputePhase::kRecords: return "revealing the disputed operator";
    case DisputePhase::kReferee: return "awaiting the referee";
    case DisputePhase::kResolved: return "resolved";
  }
  return "unknown";
}

std::string DisputeKey(const Hash256& job_id, uint32_t index) {
  util::Writer w;
  w.U32(index);  // Big-endian in the codec, so a job's disputes sort in order.
  return "d/" + std::string(ByteView(job_id.bytes).AsStringView()) + std::string(ByteView(w.bytes()).AsStringView());
}

std::string EncodeDispute(const Dispute& d) {
  util::Writer w;
  w.Hash(d.job_id);
  w.U32(d.index);
  w.Raw(ByteView(d.challenger.bytes));
  w.U64(d.bond);
  w.U64(d.opened_height);
  w.U64(d.segment);
  w.U64(d.lo_step);
  w.U64(d.hi_step);
  w.Hash(d.lo_hash);
  w.Hash(d.solver_hi_hash);
  w.Hash(d.challenger_hi_hash);
  w.U8(static_cast<uint8_t>(d.phase));
  w.U64(d.position);
  w.U64(d.deadline_height);
  PutClaim(w, d.solver);
  PutClaim(w, d.challenger_claim);
  w.U64(d.op_lo);
  w.U64(d.op_hi);
  w.Bool(d.op_hi_known);
  w.Hash(d.op_lo_prefix);
  w.U8(static_cast<uint8_t>(d.task));
  w.Bool(d.solver_at_fault);
  w.U64(d.resolved_height);
  w.String(d.resolution);
  w.U32(static_cast<uint32_t>(d.moves.size()));
  for (const DisputeMove& m : d.moves) {
    w.U64(m.height);
    w.U8(static_cast<uint8_t>(m.party));
    w.U8(static_cast<uint8_t>(m.phase));
    w.U64(m.position);
    w.Hash(m.hash);
    w.U64(m.count);
  }
  return std::string(w.bytes().begin(), w.bytes().end());
}

Result<Dispute> DecodeDispute(std::string_view bytes) {
  util::Reader r{ByteView(bytes)};
  Dispute d;
  d.job_id = r.Hash();
  d.index = r.U32();
  r.Raw(d.challenger.bytes.data(), d.challenger.bytes.size());
  d.bond = r.U64();
  d.opened_height = r.U64();
  d.segment = r.U64();
  d.lo_step = r.U64();
  d.hi_step = r.U64();
  d.lo_hash = r.Hash();
  d.solver_hi_hash = r.Hash();
  d.challenger_hi_hash = r.Hash();
  d.phase = CheckedEnum<DisputePhase>(r, 1, 6, "dispute phase");
  d.position = r.U64();
  d.deadline_height = r.U64();
  d.solver = GetClaim(r);
  d.challenger_claim = GetClaim(r);
  d.op_lo = r.U64();
  d.op_hi = r.U64();
  d.op_hi_known = r.Bool();
  d.op_lo_prefix = r.Hash();
  d.task = CheckedEnum<RefereeTask>(r, 0, 4, "referee task");
  d.solver_at_fault = r.Bool();
  d.resolved_height = r.U64();
  d.resolution = r.String(512);
  uint32_t n = r.ListLength(kDisputeMovesMax);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    DisputeMove m;
    m.height = r.U64();
    m.party = CheckedEnum<DisputeParty>(r, 1, 2, "dispute party");
    m.phase = CheckedEnum<DisputePhase>(r, 1, 6, "dispute phase");
    m.position = r.U64();
    m.hash = r.Hash();
    m.count = r.U64();
    d.moves.push_back(m);
  }
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("dispute record"));
  return d;
}

Result<std::optional<Dispute>> GetDispute(const StateReader& s, const Hash256& job_id, uint32_t index) {
  CAIRN_ASSIGN_OR_RETURN(auto raw, s.Read(DisputeKey(job_id, index)));
  if (!raw) return std::optional<Dispute>();
  CAIRN_ASSIGN_OR_RETURN(Dispute d, DecodeDispute(*raw));
  return std::optional<Dispute>(std::move(d));
}

void PutDispute(Overlay* s, const Dispute& d) { s->Put(DisputeKey(d.job_id, d.index), EncodeDispute(d)); }

Hash256 TracePrefixStart(const Hash256& state_hash) {
  return crypto::TaggedHash("cairn/trace/prefix-start/v1", ByteView(state_hash.bytes));
}

Hash256 TracePrefixNext(const Hash256& prefix, const Hash256& record_hash) {
  util::Writer w;
  w.Hash(prefix);
  w.Hash(record_hash);
  return crypto::TaggedHash("cairn/trace/prefix/v1", w.bytes());
}

Hash256 TraceRecordHash(ByteView record) { return crypto::TaggedHash("cairn/trace/record/v1", record); }

std::vector<Hash256> TracePrefixes(const Hash256& state_hash, const std::vector<Hash256>& record_hashes) {
  std::vector<Hash256> out;
  out.reserve(record_hashes.size());
  Hash256 p = TracePrefixStart(state_hash);
  for (const Hash256& h : record_hashes) {
    p = TracePrefixNext(p, h);
    out.push_back(p);
  }
  return out;
}

namespace {
std::vector<Hash256> PrefixLeaves(const std::vector<Hash256>& prefixes) {
  std::vector<Hash256> leaves;
  leaves.reserve(prefixes.size());
  for (const Hash256& p : prefixes) leaves.push_back(crypto::MerkleLeafHash(ByteView(p.bytes)));
  return leaves;
}
}  // namespace

Hash256 TraceRoot(const std::vector<Hash256>& prefixes) { return crypto::MerkleRoot(PrefixLeaves(prefixes)); }

std::vector<Hash256> TracePrefixProof(const std::vector<Hash256>& prefixes, size_t index) {
  return crypto::MerkleTree(PrefixLeaves(prefixes)).Proof(index);
}

bool SelectedVerifier(const Hash256& selection_seed, const Hash256& job_id, const AccountId& verifier,
                      uint32_t sample_bps) {
  if (sample_bps >= 10000) return true;
  util::Writer w;
  w.Hash(selection_seed);
  w.Hash(job_id);
  w.Raw(ByteView(verifier.bytes));
  Hash256 h = crypto::TaggedHash("cairn/verifier-selection/v1", w.bytes());
  uint64_t draw = 0;
  for (int i = 0; i < 8; ++i) draw = (draw << 8) | h.bytes[i];
  // draw / 2^64 < bps / 10000, computed without overflow: compare the top
  // 50 bits scaled (10000 < 2^14).
  return (draw >> 14) * 10000 < (uint64_t{1} << 50) * sample_bps;
}

}  // namespace cairn::ledger
