#include "config/node_config.h"

#include <toml++/toml.h>

#include <sstream>

#include "config/toml_config.h"
#include "util/file.h"

namespace cairn::config {
namespace {

constexpr size_t kNodeConfigBytesMax = 1 << 20;

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return base_dir + "/" + path;
}

Status CheckAddress(const std::string& where, const std::string& key, const std::string& value) {
  size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == value.size()) {
    return InvalidArgument(where + ": " + key + " must be host:port, got '" + value + "'");
  }
  for (size_t i = colon + 1; i < value.size(); ++i) {
    if (value[i] < '0' || value[i] > '9') return InvalidArgument(where + ": " + key + ": port must be a number, got '" + value + "'");
  }
  return Status::Ok();
}

template <size_t N>
bool OneOf(const std::string& value, const char* const (&names)[N]) {
  for (const char* n : names) {
    if (value == n) return true;
  }
  return false;
}

template <size_t N>
std::string Listed(const char* const (&names)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) out += std::string(i == 0 ? "" : ", ") + "\"" + names[i] + "\"";
  return out;
}

}  // namespace

Status CheckCheatsAllowed(const NodeConfig& config, const ledger::Genesis& genesis) {
  if (config.solver_cheat.empty() && config.verifier_cheat.empty()) return Status::Ok();
  const std::string which = !config.solver_cheat.empty() ? "solver.cheat = \"" + config.solver_cheat + "\""
                                                         : "verifier.cheat = \"" + config.verifier_cheat + "\"";
  if (genesis.params.faucet_amount_max == 0) {
    return PermissionDenied(config.source + ": " + which + " is a devnet and test demonstration of a cheater; chain \"" +
                            genesis.chain_id +
                            "\" has no faucet, so it is no devnet (remove the cheat key to run this node)");
  }
  if (!config.solver_cheat.empty() && !config.solver) {
    return InvalidArgument(config.source + ": solver.cheat is set but this node has no solver role");
  }
  if (!config.verifier_cheat.empty() && !config.verifier) {
    return InvalidArgument(config.source + ": verifier.cheat is set but this node has no verifier role");
  }
  return Status::Ok();
}

Result<NodeConfig> ParseNodeToml(const std::string& text, const std::string& source_name, const std::string& base_dir) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << source_name << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
    return InvalidArgument(msg.str());
  }
  NodeConfig c;
  c.source = source_name;
  TableReader top(&root, source_name);

  top.MarkUsed("roles");
  const toml::array* roles = root["roles"].as_array();
  if (!roles || roles->empty()) {
    return InvalidArgument(source_name +
                           ": roles must be a non-empty array of \"ledger-host\", \"solver\", \"verifier\", \"whistleblower\"");
  }
  for (const auto& r : *roles) {
    auto name = r.value<std::string>();
    if (name == "ledger-host") {
      c.ledger_host = true;
    } else if (name == "solver") {
      c.solver = true;
    } else if (name == "verifier") {
      c.verifier = true;
    } else if (name == "whistleblower") {
      c.whistleblower = true;
    } else {
      return InvalidArgument(source_name + ": roles: unknown role '" + name.value_or("?") +
                             "' (ledger-host, solver, verifier or whistleblower; submitters use the CLI)");
    }
  }
  if (c.verifier && c.whistleblower) {
    return InvalidArgument(source_name + ": roles: a node is a verifier or a whistleblower, not both (run two nodes)");
  }
  const std::string empty;
  CAIRN_ASSIGN_OR_RETURN(c.key_file, top.String("key_file"));
  CAIRN_ASSIGN_OR_RETURN(c.data_dir, top.String("data_dir"));
  CAIRN_ASSIGN_OR_RETURN(c.genesis_file, top.String("genesis"));
  CAIRN_ASSIGN_OR_RETURN(c.referee_key_file, top.String("referee_key_file", &empty));
  std::string listen = c.listen;
  CAIRN_ASSIGN_OR_RETURN(c.listen, top.String("listen", &listen));
  CAIRN_ASSIGN_OR_RETURN(c.advertise, top.String("advertise", &empty));
  CAIRN_ASSIGN_OR_RETURN(c.ledger_host_address, top.String("ledger_host", &empty));
  CAIRN_ASSIGN_OR_RETURN(c.metrics_listen, top.String("metrics_listen", &empty));
  std::string level = c.log_level, format = c.log_format;
  CAIRN_ASSIGN_OR_RETURN(c.log_level, top.String("log_level", &level));
  CAIRN_ASSIGN_OR_RETURN(c.log_format, top.String("log_format", &format));
  uint64_t interval = c.block_interval_ms;
  CAIRN_ASSIGN_OR_RETURN(c.block_interval_ms, top.Unsigned("block_interval_ms", &interval, 60'000));
  if (c.block_interval_ms < 10) return InvalidArgument(source_name + ": block_interval_ms must be 10..60000");
  if (c.log_format != "text" && c.log_format != "json") {
    return InvalidArgument(source_name + ": log_format must be \"text\" or \"json\", got \"" + c.log_format + "\"");
  }
  CAIRN_RETURN_IF_ERROR(CheckAddress(source_name, "listen", c.listen));
  if (!c.advertise.empty()) CAIRN_RETURN_IF_ERROR(CheckAddress(source_name, "advertise", c.advertise));
  if (!c.metrics_listen.empty()) CAIRN_RETURN_IF_ERROR(CheckAddress(source_name, "metrics_listen", c.metrics_listen));
  if (c.ledger_host) {
    if (!c.ledger_host_address.empty()) {
      return InvalidArgument(source_name + ": ledger_host is for nodes that follow one; this node is the ledger host");
    }
  } else {
    if (c.ledger_host_address.empty()) {
      return InvalidArgument(source_name + ": ledger_host (host:port of the ledger host) is required for a node without the ledger-host role");
    }
    CAIRN_RETURN_IF_ERROR(CheckAddress(source_name, "ledger_host", c.ledger_host_address));
    if (!c.referee_key_file.empty()) return InvalidArgument(source_name + ": referee_key_file is for the ledger host");
  }

  top.MarkUsed("solver");
  if (const toml::table* t = root["solver"].as_table()) {
    TableReader s(t, source_name + ": solver");
    uint64_t fee_min = c.solver_fee_min, stake_max = c.solver_stake_max, jobs = c.solver_jobs_max;
    CAIRN_ASSIGN_OR_RETURN(c.solver_fee_min, s.Unsigned("fee_min", &fee_min));
    CAIRN_ASSIGN_OR_RETURN(c.solver_stake_max, s.Unsigned("stake_max", &stake_max));
    CAIRN_ASSIGN_OR_RETURN(jobs, s.Unsigned("jobs_max", &jobs, 64));
    if (jobs == 0) return InvalidArgument(source_name + ": solver.jobs_max must be 1..64");
    c.solver_jobs_max = static_cast<uint32_t>(jobs);
    CAIRN_ASSIGN_OR_RETURN(c.solver_cheat, s.String("cheat", &empty));
    if (!c.solver_cheat.empty() && !OneOf(c.solver_cheat, kSolverCheats)) {
      return InvalidArgument(source_name + ": solver.cheat must be one of " + Listed(kSolverCheats) +
                             " (devnet and test demonstrations of a cheater) or absent, got \"" + c.solver_cheat + "\"");
    }
    CAIRN_RETURN_IF_ERROR(s.CheckNoUnknownKeys());
  }

  top.MarkUsed("referee");
  if (const toml::table* t = root["referee"].as_table()) {
    TableReader r(t, source_name + ": referee");
    CAIRN_ASSIGN_OR_RETURN(c.referee_cheat, r.String("cheat", &empty));
    if (!c.referee_cheat.empty() && c.referee_cheat != "rule-for-solver") {
      return InvalidArgument(source_name + ": referee.cheat must be \"rule-for-solver\" (a test cheat) or absent");
    }
    if (!c.referee_cheat.empty() && c.referee_key_file.empty()) {
      return InvalidArgument(source_name + ": referee.cheat needs referee_key_file (only the referee can lie)");
    }
    CAIRN_RETURN_IF_ERROR(r.CheckNoUnknownKeys());
  }

  top.MarkUsed("verifier");
  if (const toml::table* t = root["verifier"].as_table()) {
    TableReader v(t, source_name + ": verifier");
    bool challenge = c.verifier_challenge;
    CAIRN_ASSIGN_OR_RETURN(c.verifier_challenge, v.Bool("challenge", &challenge));
    CAIRN_ASSIGN_OR_RETURN(c.verifier_cheat, v.String("cheat", &empty));
    if (!c.verifier_cheat.empty() && !OneOf(c.verifier_cheat, kVerifierCheats)) {
      return InvalidArgument(source_name + ": verifier.cheat must be one of " + Listed(kVerifierCheats) +
                             " (devnet and test demonstrations of a cheater) or absent, got \"" + c.verifier_cheat +
                             "\"");
    }
    CAIRN_RETURN_IF_ERROR(v.CheckNoUnknownKeys());
  }

  top.MarkUsed("limits");
  if (const toml::table* t = root["limits"].as_table()) {
    TableReader l(t, source_name + ": limits");
    sandbox::Limits d;
    CAIRN_ASSIGN_OR_RETURN(c.limits.address_space_bytes, l.Unsigned("address_space_bytes", &d.address_space_bytes));
    CAIRN_ASSIGN_OR_RETURN(c.limits.cpu_seconds, l.Unsigned("cpu_seconds", &d.cpu_seconds));
    CAIRN_ASSIGN_OR_RETURN(c.limits.file_size_bytes, l.Unsigned("file_size_bytes", &d.file_size_bytes));
    CAIRN_ASSIGN_OR_RETURN(c.limits.open_files, l.Unsigned("open_files", &d.open_files));
    uint64_t wall = static_cast<uint64_t>(d.wall_seconds);
    CAIRN_ASSIGN_OR_RETURN(wall, l.Unsigned("wall_seconds", &wall));
    c.limits.wall_seconds = static_cast<double>(wall);
    CAIRN_RETURN_IF_ERROR(l.CheckNoUnknownKeys());
    Status valid = sandbox::ValidateLimits(c.limits);
    if (!valid.ok()) return InvalidArgument(source_name + ": limits: " + valid.message());
  }

  top.MarkUsed("devnet");
  if (const toml::table* t = root["devnet"].as_table()) {
    TableReader d(t, source_name + ": devnet");
    const uint64_t zero = 0;
    CAIRN_ASSIGN_OR_RETURN(c.devnet_faucet, d.Unsigned("faucet", &zero));
    CAIRN_ASSIGN_OR_RETURN(c.devnet_stake, d.Unsigned("stake", &zero));
    CAIRN_RETURN_IF_ERROR(d.CheckNoUnknownKeys());
  }
  CAIRN_RETURN_IF_ERROR(top.CheckNoUnknownKeys());
  c.key_file = Resolve(base_dir, c.key_file);
  c.referee_key_file = Resolve(base_dir, c.referee_key_file);
  c.data_dir = Resolve(base_dir, c.data_dir);
  c.genesis_file = Resolve(base_dir, c.genesis_file);
  return c;
}

Result<NodeConfig> LoadNodeConfig(const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(Bytes bytes, util::ReadFile(path, kNodeConfigBytesMax));
  std::string base = path.find('/') == std::string::npos ? "" : path.substr(0, path.rfind('/'));
  return ParseNodeToml(std::string(bytes.begin(), bytes.end()), path, base);
}

}  // namespace cairn::config
