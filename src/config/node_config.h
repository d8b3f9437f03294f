// The node's TOML config (configs/node.toml documents every key). Parsed
// strictly: unknown keys are refused, errors name the file and the key.
// Relative paths are resolved against the config file's directory.
#pragma once

#include <string>
#include <vector>

#include "cairn/status.h"
#include "ledger/types.h"
#include "sandbox/limits.h"

namespace cairn::config {

struct NodeConfig {
  std::string source;  // The config file's path, for messages.
  bool ledger_host = false;
  bool solver = false;
  bool verifier = false;
  bool whistleblower = false;  // Re-checks accepting verifiers' audited segments.
  std::string key_file;          // This node's identity (Ed25519): signs its transactions.
  std::string referee_key_file;  // Ledger host: the genesis referee key ("" = no referee duty).
  // Test and devnet cheat only ([referee] cheat = "rule-for-solver"): the
  // referee rules for the solver whatever it recomputed, so that tests can
  // show `cairn ledger audit --recompute` catching a lying referee.
  std::string referee_cheat;
  std::string data_dir;
  std::string genesis_file;      // The chain's genesis (every node checks it).
  std::string listen = "127.0.0.1:7700";  // host:port of the gRPC services; port 0 = any free port.
  std::string advertise;         // host:port peers reach this node at; "" = the listen host and bound port.
  std::string ledger_host_address;  // Non-host nodes: where the ledger host answers.
  std::string metrics_listen;    // host:port of the Prometheus endpoint; "" = off.
  std::string log_level = "info";
  std::string log_format = "text";  // text or json.
  uint64_t block_interval_ms = 1000;  // Ledger host: one block per interval, empty or not.

  // Solver.
  ledger::Amount solver_fee_min = 1;
  ledger::Amount solver_stake_max = UINT64_MAX;
  uint32_t solver_jobs_max = 1;
  // Devnet and test chains only (CheckCheatsAllowed): a solver that cheats
  // the way docs/node.md, "Cheat modes", describes. "" = honest.
  std::string solver_cheat;

  // Verifier. Challenge mode: also check jobs this node was not drawn for and
  // open a dispute on every provable reject (off: drawn jobs only, rejects
  // are logged for `cairn dispute open`).
  bool verifier_challenge = true;
  // Devnet and test chains only: "lazy" (accepts without replaying) or
  // "accuse" (disputes honest certificates with a made-up end hash). "" = honest.
  std::string verifier_cheat;

  // Worker limits (every job's training and replay).
  sandbox::Limits limits;

  // Devnet conveniences: at start-up, take this much from the faucet (if the
  // chain has one and the balance is lower) and stake up to `devnet_stake`.
  ledger::Amount devnet_faucet = 0;
  ledger::Amount devnet_stake = 0;
};

// The cheat modes a node can be configured with (tests/adversarial/ plays
// each against real nodes). Each is a demonstration of a cheater, refused on
// a chain without a faucet (CheckCheatsAllowed).
inline constexpr const char* kSolverCheats[] = {"fake-segment", "skip-segments", "fake-step",     "corrupt-op",
                                                "data-order",   "low-precision", "false-metadata", "false-update-norm",
                                                "refuse-answer", "mask-forced"};
inline constexpr const char* kVerifierCheats[] = {"lazy", "accuse"};

// Cheat modes are for devnets and tests: refused (with the reason) unless the
// chain's genesis has a faucet (params.faucet_amount_max > 0), which no real
// chain has.
Status CheckCheatsAllowed(const NodeConfig& config, const ledger::Genesis& genesis);

Result<NodeConfig> ParseNodeToml(const std::string& text, const std::string& source_name, const std::string& base_dir);
Result<NodeConfig> LoadNodeConfig(const std::string& path);

}  // namespace cairn::config
