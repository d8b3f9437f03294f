#include "cli/client.h"

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "util/file.h"

namespace cairn::cli {
namespace {

struct ClientConfig {
  std::string node;
  std::string key_file;
};

Result<ClientConfig> LoadClientConfig(const std::string& path, bool must_exist) {
  ClientConfig c;
  if (!util::FileExists(path)) {
    if (must_exist) return NotFound(path + " does not exist");
    return c;
  }
  try {
    toml::table t = toml::parse_file(path);
    for (const auto& [k, v] : t) {
      if (k == "node" && v.is_string()) {
        c.node = *v.value<std::string>();
      } else if (k == "key_file" && v.is_string()) {
        c.key_file = *v.value<std::string>();
      } else {
        return InvalidArgument(path + ": unknown key '" + std::string(k.str()) + "' (node, key_file)");
      }
    }
  } catch (const toml::parse_error& e) {
    return InvalidArgument(path + ": " + std::string(e.description()));
  }
  return c;
}

Result<ClientConfig> Config(const ClientArgs& args) {
  bool explicit_path = !args.client_config.empty();
  return LoadClientConfig(explicit_path ? args.client_config : DefaultClientConfigPath(), explicit_path);
}

}  // namespace

std::string DefaultClientConfigPath() {
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cairn/client.toml";
}

void AddNodeOption(CLI::App* cmd, ClientArgs* args) {
  cmd->add_option("--node", args->node, "host:port of a cairn node (default: $CAIRN_NODE, then `node` in ~/.cairn/client.toml)");
  cmd->add_option("--client-config", args->client_config, "Client config file (default ~/.cairn/client.toml)");
}

void AddKeyOption(CLI::App* cmd, ClientArgs* args) {
  cmd->add_option("--key", args->key, "Key file that signs (default: `key_file` in ~/.cairn/client.toml)");
}

Result<std::string> ResolveNode(const ClientArgs& args) {
  if (!args.node.empty()) return args.node;
  if (const char* env = std::getenv("CAIRN_NODE"); env && *env) return std::string(env);
  CAIRN_ASSIGN_OR_RETURN(ClientConfig c, Config(args));
  if (!c.node.empty()) return c.node;
  return InvalidArgument("which node? pass --node HOST:PORT, set CAIRN_NODE, or put node = \"HOST:PORT\" in " +
                         DefaultClientConfigPath() + " (`cairn devnet` prints the address of its ledger host)");
}

Result<crypto::KeyPair> ResolveKey(const ClientArgs& args) {
  std::string path = args.key;
  if (path.empty()) {
    CAIRN_ASSIGN_OR_RETURN(ClientConfig c, Config(args));
    path = c.key_file;
  }
  if (path.empty()) {
    return InvalidArgument("which key signs? pass --key FILE (cairn keys new --out FILE makes one), or put key_file in " +
                           DefaultClientConfigPath());
  }
  return crypto::ReadKeyFile(path);
}

Status SendAndWait(net::NodeQueries& node, const crypto::KeyPair& key, ledger::Operation op, double wait_seconds) {
  CAIRN_ASSIGN_OR_RETURN(net::HeadInfo head, node.GetHead());
  ledger::TxBody body;
  body.chain_id = head.chain_id;
  body.sender = key.public_key();
  CAIRN_ASSIGN_OR_RETURN(body.nonce, node.NextNonce(body.sender));
  body.op = std::move(op);
  const uint64_t nonce = body.nonce;
  CAIRN_RETURN_IF_ERROR(node.SubmitTx(ledger::SignTx(std::move(body), key)));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    auto account = node.GetAccount(key.public_key());
    if (account.ok() && account->nonce >= nonce) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Unavailable("the transaction was accepted by " + node.endpoint() + " but is not in a block after " +
                     std::to_string(static_cast<int>(wait_seconds)) + " s; check `cairn account show`");
}

std::string ShortHex(const Hash256& h) { return h.ToHex().substr(0, 16); }

Result<Hash256> ParseJobId(const std::string& text) {
  auto h = Hash256::FromHex(text);
  if (!h.ok()) {
    return InvalidArgument("'" + text + "' is not a job id (64 hex digits, as `cairn job submit` and `cairn job list` print)");
  }
  return h;
}

}  // namespace cairn::cli
