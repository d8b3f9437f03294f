#include "ledger/genesis.h"

#include <limits>
#include <set>

#include "crypto/hash.h"
#include "util/codec.h"

namespace cairn::ledger {
namespace {
// 2: dispute_round_blocks, verifier_sample_bps. 3: forced errors (forced_error_bps,
// jackpot_payout_bps, audited_segments, reveal_window_blocks, jackpot).
constexpr uint8_t kGenesisVersion = 3;
}

Bytes EncodeGenesis(const Genesis& g) {
  util::Writer w;
  w.U8(kGenesisVersion);
  w.String(g.chain_id);
  w.U64(g.genesis_time_ms);
  w.Raw(ByteView(g.sequencer.bytes));
  w.Raw(ByteView(g.referee.bytes));
  const Params& p = g.params;
  w.U64(p.unbonding_delay_blocks);
  w.U64(p.challenge_window_blocks);
  w.U64(p.faucet_amount_max);
  w.U64(p.verifier_stake_min);
  w.U64(p.job_fee_min);
  w.U32(p.jackpot_tax_bps);
  w.U32(p.verifier_share_bps);
  w.U32(p.challenger_reward_bps);
  w.U64(p.dispute_round_blocks);
  w.U32(p.verifier_sample_bps);
  w.U32(p.forced_error_bps);
  w.U32(p.jackpot_payout_bps);
  w.U32(p.audited_segments);
  w.U64(p.reveal_window_blocks);
  w.U32(static_cast<uint32_t>(g.allocations.size()));
  for (const auto& a : g.allocations) {
    w.Raw(ByteView(a.account.bytes));
    w.U64(a.balance);
    w.U64(a.stake);
  }
  w.U64(g.jackpot);
  return w.Take();
}

Result<Genesis> DecodeGenesis(ByteView bytes) {
  util::Reader r(bytes);
  Genesis g;
  uint8_t version = r.U8();
  if (r.ok() && version != kGenesisVersion) r.Fail("unsupported genesis version " + std::to_string(version));
  g.chain_id = r.String(kChainIdBytesMax);
  g.genesis_time_ms = r.U64();
  r.Raw(g.sequencer.bytes.data(), 32);
  r.Raw(g.referee.bytes.data(), 32);
  Params& p = g.params;
  p.unbonding_delay_blocks = r.U64();
  p.challenge_window_blocks = r.U64();
  p.faucet_amount_max = r.U64();
  p.verifier_stake_min = r.U64();
  p.job_fee_min = r.U64();
  p.jackpot_tax_bps = r.U32();
  p.verifier_share_bps = r.U32();
  p.challenger_reward_bps = r.U32();
  p.dispute_round_blocks = r.U64();
  p.verifier_sample_bps = r.U32();
  p.forced_error_bps = r.U32();
  p.jackpot_payout_bps = r.U32();
  p.audited_segments = r.U32();
  p.reveal_window_blocks = r.U64();
  uint32_t n = r.ListLength(kGenesisAllocationsMax);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    Allocation a;
    r.Raw(a.account.bytes.data(), 32);
    a.balance = r.U64();
    a.stake = r.U64();
    g.allocations.push_back(a);
  }
  g.jackpot = r.U64();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("genesis"));
  return g;
}

Hash256 GenesisHash(const Genesis& genesis) {
  return crypto::TaggedHash("cairn/genesis/v1", EncodeGenesis(genesis));
}

Status ValidateGenesis(const Genesis& g) {
  if (g.chain_id.empty() || g.chain_id.size() > kChainIdBytesMax) {
    return InvalidArgument("genesis: chain_id must be 1.." + std::to_string(kChainIdBytesMax) + " bytes");
  }
  const Params& p = g.params;
  if (p.jackpot_tax_bps + static_cast<uint64_t>(p.verifier_share_bps) > 10000) {
    return InvalidArgument("genesis: jackpot_tax_bps + verifier_share_bps must not exceed 10000 (100%)");
  }
  if (p.challenger_reward_bps > 10000) return InvalidArgument("genesis: challenger_reward_bps must not exceed 10000");
  const std::pair<const char*, uint64_t> windows[] = {{"unbonding_delay_blocks", p.unbonding_delay_blocks},
                                                       {"challenge_window_blocks", p.challenge_window_blocks},
                                                       {"dispute_round_blocks", p.dispute_round_blocks},
                                                       {"reveal_window_blocks", p.reveal_window_blocks}};
  for (const auto& [name, blocks] : windows) {
    if (blocks == 0 || blocks > kWindowBlocksMax) {
      return InvalidArgument(std::string("genesis: ") + name + " must be 1.." + std::to_string(kWindowBlocksMax));
    }
  }
  if (p.verifier_stake_min == 0) {
    return InvalidArgument("genesis: verifier_stake_min must be positive (a verdict must put stake at risk)");
  }
  if (p.verifier_sample_bps == 0 || p.verifier_sample_bps > 10000) {
    return InvalidArgument("genesis: verifier_sample_bps must be 1..10000");
  }
  if (p.forced_error_bps > 10000 || p.jackpot_payout_bps > 10000) {
    return InvalidArgument("genesis: forced_error_bps and jackpot_payout_bps must not exceed 10000");
  }
  if (p.audited_segments == 0 || p.audited_segments > kAuditedSegmentsMax) {
    return InvalidArgument("genesis: audited_segments must be 1.." + std::to_string(kAuditedSegmentsMax) +
                           " (an accept must answer for something)");
  }
  if (g.allocations.size() > kGenesisAllocationsMax) return InvalidArgument("genesis: too many allocations");
  std::set<AccountId> seen;
  Amount total = 0;
  bool overflow = false;
  auto add = [&](Amount v) {
    if (total > std::numeric_limits<Amount>::max() - v) overflow = true;
    else total += v;
  };
  for (const auto& a : g.allocations) {
    if (!seen.insert(a.account).second) {
      return InvalidArgument("genesis: account " + a.account.ToHex() + " is allocated twice");
    }
    add(a.balance);
    add(a.stake);
  }
  add(g.jackpot);
  if (overflow) return InvalidArgument("genesis: total allocation overflows");
  return Status::Ok();
}

Status ApplyGenesis(Overlay* state, const Genesis& g) {
  CAIRN_RETURN_IF_ERROR(ValidateGenesis(g));
  Amount supply = 0;
  for (const auto& a : g.allocations) {
    Account account;
    account.balance = a.balance;
    account.stake_free = a.stake;
    PutAccount(state, a.account, account);
    supply += a.balance + a.stake;
  }
  supply += g.jackpot;
  PutAmount(state, kSupplyKey, supply);
  if (g.jackpot > 0) PutAmount(state, kJackpotKey, g.jackpot);
  return Status::Ok();
}

}  // namespace cairn::ledger
