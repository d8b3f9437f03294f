// What every command that talks to a node shares: where the node is
// (--node, else $CAIRN_NODE, else `node` in the client config file), which
// key signs (--key, else `key_file` in the client config), and sending one
// signed transaction and waiting for it to land.
#pragma once

#include <string>

#include "crypto/keys.h"
#include "ledger/tx.h"
#include "net/clients.h"

namespace CLI {
class App;
}

namespace cairn::cli {

// ~/.cairn/client.toml: `node = "host:port"`, `key_file = "path"`.
std::string DefaultClientConfigPath();

struct ClientArgs {
  std::string node;
  std::string key;
  std::string client_config;
};

void AddNodeOption(CLI::App* cmd, ClientArgs* args);
void AddKeyOption(CLI::App* cmd, ClientArgs* args);

Result<std::string> ResolveNode(const ClientArgs& args);
Result<crypto::KeyPair> ResolveKey(const ClientArgs& args);

// Signs `op` with `key` (next nonce from the node), submits it and waits up
// to `wait_seconds` for it to be in a block. Errors say what the ledger said.
Status SendAndWait(net::NodeQueries& node, const crypto::KeyPair& key, ledger::Operation op, double wait_seconds = 30);

std::string ShortHex(const Hash256& h);
Result<Hash256> ParseJobId(const std::string& text);

}  // namespace cairn::cli
