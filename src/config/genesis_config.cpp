#include "config/genesis_config.h"

#include <toml++/toml.h>

#include <sstream>

#include "config/toml_config.h"
#include "ledger/genesis.h"
#include "util/file.h"

namespace cairn::config {
namespace {

constexpr size_t kGenesisFileBytesMax = 64 << 20;

Result<crypto::PublicKey> Key(TableReader& t, const std::string& key) {
  CAIRN_ASSIGN_OR_RETURN(std::string hex, t.String(key));
  auto parsed = crypto::PublicKey::FromHex(hex);
  if (!parsed.ok()) return InvalidArgument(t.where() + ": key '" + key + "': " + parsed.status().message());
  return parsed;
}

}  // namespace

Result<ledger::Genesis> ParseGenesisToml(const std::string& text, const std::string& source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << source_name << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
    return InvalidArgument(msg.str());
  }
  ledger::Genesis g;
  TableReader top(&root, source_name);
  CAIRN_ASSIGN_OR_RETURN(g.chain_id, top.String("chain_id"));
  const uint64_t zero = 0;
  CAIRN_ASSIGN_OR_RETURN(g.genesis_time_ms, top.Unsigned("genesis_time_ms", &zero));
  CAIRN_ASSIGN_OR_RETURN(g.sequencer, Key(top, "sequencer"));
  CAIRN_ASSIGN_OR_RETURN(g.referee, Key(top, "referee"));
  CAIRN_ASSIGN_OR_RETURN(g.jackpot, top.Unsigned("jackpot", &zero));

  top.MarkUsed("params");
  if (const toml::table* params = root["params"].as_table()) {
    TableReader p(params, source_name + ": params");
    ledger::Params d;  // Defaults.
    ledger::Params& out = g.params;
    CAIRN_ASSIGN_OR_RETURN(out.unbonding_delay_blocks, p.Unsigned("unbonding_delay_blocks", &d.unbonding_delay_blocks));
    CAIRN_ASSIGN_OR_RETURN(out.challenge_window_blocks, p.Unsigned("challenge_window_blocks", &d.challenge_window_blocks));
    CAIRN_ASSIGN_OR_RETURN(out.faucet_amount_max, p.Unsigned("faucet_amount_max", &d.faucet_amount_max));
    CAIRN_ASSIGN_OR_RETURN(out.verifier_stake_min, p.Unsigned("verifier_stake_min", &d.verifier_stake_min));
    CAIRN_ASSIGN_OR_RETURN(out.job_fee_min, p.Unsigned("job_fee_min", &d.job_fee_min));
    uint64_t v;
    uint64_t def = d.jackpot_tax_bps;
    CAIRN_ASSIGN_OR_RETURN(v, p.Unsigned("jackpot_tax_bps", &def, 10000));
    out.jackpot_tax_bps = static_cast<uint32_t>(v);
    def = d.verifier_share_bps;
    CAIRN_ASSIGN_OR_RETURN(v, p.Unsigned("verifier_share_bps", &def, 10000));
    out.verifier_share_bps = static_cast<uint32_t>(v);
    def = d.challenger_reward_bps;
    CAIRN_ASSIGN_OR_RETURN(v, p.Unsigned("challenger_reward_bps", &def, 10000));
    out.challenger_reward_bps = static_cast<uint32_t>(v);
    CAIRN_ASSIGN_OR_RETURN(out.dispute_round_blocks, p.Unsigned("dispute_round_blocks", &d.dispute_round_blocks));
    def = d.verifier_sample_bps;
    CAIRN_ASSIGN_OR_RETURN(v, p.Unsigned("verifier_sample_bps", &def, 10000));
    out.verifier_sample_bps = static_cast<uint32_t>(v);
    def = d.forced_error_bps;
    CAIRN_ASSIGN_OR_RETURN(v, p.Unsigned("forced_error_bps", &def, 10000));
    out.forced_error_bps = static_cast<uint32_t>(v);
    def = d.jackpot_payout_bps;
    CAIRN_ASSIGN_OR_RETURN(v, p.Unsigned("jackpot_payout_bps", &def, 10000));
    out.jackpot_payout_bps = static_cast<uint32_t>(v);
    def = d.audited_segments;
    CAIRN_ASSIGN_OR_RETURN(v, p.Unsigned("audited_segments", &def, ledger::kAuditedSegmentsMax));
    out.audited_segments = static_cast<uint32_t>(v);
    CAIRN_ASSIGN_OR_RETURN(out.reveal_window_blocks, p.Unsigned("reveal_window_blocks", &d.reveal_window_blocks));
    CAIRN_RETURN_IF_ERROR(p.CheckNoUnknownKeys());
  } else if (root.contains("params")) {
    return InvalidArgument(source_name + ": 'params' must be a table ([params])");
  }

  top.MarkUsed("allocations");
  if (const toml::node* allocs = root.get("allocations")) {
    const toml::array* list = allocs->as_array();
    if (list == nullptr) return InvalidArgument(source_name + ": 'allocations' must be an array of tables ([[allocations]])");
    for (size_t i = 0; i < list->size(); ++i) {
      const toml::table* entry = (*list)[i].as_table();
      std::string where = source_name + ": allocations[" + std::to_string(i) + "]";
      if (entry == nullptr) return InvalidArgument(where + " must be a table");
      TableReader a(entry, where);
      ledger::Allocation alloc;
      CAIRN_ASSIGN_OR_RETURN(alloc.account, Key(a, "account"));
      CAIRN_ASSIGN_OR_RETURN(alloc.balance, a.Unsigned("balance", &zero));
      CAIRN_ASSIGN_OR_RETURN(alloc.stake, a.Unsigned("stake", &zero));
      CAIRN_RETURN_IF_ERROR(a.CheckNoUnknownKeys());
      g.allocations.push_back(alloc);
    }
  }
  CAIRN_RETURN_IF_ERROR(top.CheckNoUnknownKeys());
  Status valid = ledger::ValidateGenesis(g);
  if (!valid.ok()) return InvalidArgument(source_name + ": " + valid.message());
  return g;
}

Result<ledger::Genesis> LoadGenesisFile(const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(Bytes raw, util::ReadFile(path, kGenesisFileBytesMax));
  return ParseGenesisToml(std::string(raw.begin(), raw.end()), path);
}

std::string GenesisToToml(const ledger::Genesis& g) {
  std::ostringstream out;
  out << "chain_id = \"" << g.chain_id << "\"\n";
  out << "genesis_time_ms = " << g.genesis_time_ms << "\n";
  out << "sequencer = \"" << g.sequencer.ToHex() << "\"\n";
  out << "referee = \"" << g.referee.ToHex() << "\"\n";
  out << "jackpot = " << g.jackpot << "\n\n[params]\n";
  const ledger::Params& p = g.params;
  out << "unbonding_delay_blocks = " << p.unbonding_delay_blocks << "\n";
  out << "challenge_window_blocks = " << p.challenge_window_blocks << "\n";
  out << "faucet_amount_max = " << p.faucet_amount_max << "\n";
  out << "verifier_stake_min = " << p.verifier_stake_min << "\n";
  out << "job_fee_min = " << p.job_fee_min << "\n";
  out << "jackpot_tax_bps = " << p.jackpot_tax_bps << "\n";
  out << "verifier_share_bps = " << p.verifier_share_bps << "\n";
  out << "challenger_reward_bps = " << p.challenger_reward_bps << "\n";
  out << "dispute_round_blocks = " << p.dispute_round_blocks << "\n";
  out << "verifier_sample_bps = " << p.verifier_sample_bps << "\n";
  out << "forced_error_bps = " << p.forced_error_bps << "\n";
  out << "jackpot_payout_bps = " << p.jackpot_payout_bps << "\n";
  out << "audited_segments = " << p.audited_segments << "\n";
  out << "reveal_window_blocks = " << p.reveal_window_blocks << "\n";
  for (const auto& a : g.allocations) {
    out << "\n[[allocations]]\naccount = \"" << a.account.ToHex() << "\"\nbalance = " << a.balance
        << "\nstake = " << a.stake << "\n";
  }
  return out.str();
}

}  // namespace cairn::config
