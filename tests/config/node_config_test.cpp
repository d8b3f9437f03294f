// Node TOML: the cheat keys (docs/node.md, "Cheat modes") parse strictly and
// run only on a chain with a faucet.
#include <gtest/gtest.h>

#include "config/node_config.h"

namespace cairn::config {
namespace {

Result<NodeConfig> Parse(const std::string& tables, const std::string& roles = "\"solver\", \"verifier\"") {
  return ParseNodeToml("roles = [" + roles + "]\nkey_file = \"k\"\ndata_dir = \"d\"\ngenesis = \"g\"\n"
                       "ledger_host = \"127.0.0.1:7700\"\n" + tables,
                       "node.toml", "");
}

TEST(NodeConfig, EveryCheatModeParses) {
  for (const char* cheat : kSolverCheats) {
    auto c = Parse(std::string("[solver]\ncheat = \"") + cheat + "\"\n");
    ASSERT_TRUE(c.ok()) << cheat << ": " << c.status().ToString();
    EXPECT_EQ(c->solver_cheat, cheat);
  }
  for (const char* cheat : kVerifierCheats) {
    auto c = Parse(std::string("[verifier]\ncheat = \"") + cheat + "\"\n");
    ASSERT_TRUE(c.ok()) << cheat << ": " << c.status().ToString();
    EXPECT_EQ(c->verifier_cheat, cheat);
  }
}

TEST(NodeConfig, AnUnknownCheatIsRefusedListingTheModes) {
  auto s = Parse("[solver]\ncheat = \"fake-everything\"\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("solver.cheat must be one of \"fake-segment\""), std::string::npos)
      << s.status().ToString();
  EXPECT_NE(s.status().message().find("\"fake-everything\""), std::string::npos);
  auto v = Parse("[verifier]\ncheat = \"sleepy\"\n");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("verifier.cheat must be one of \"lazy\", \"accuse\""), std::string::npos)
      << v.status().ToString();
}

TEST(NodeConfig, CheatsRunOnlyOnAChainWithAFaucet) {
  ledger::Genesis real;
  real.chain_id = "mainnet";
  ledger::Genesis devnet = real;
  devnet.params.faucet_amount_max = 1000;
  NodeConfig honest = Parse("").value();
  EXPECT_TRUE(CheckCheatsAllowed(honest, real).ok());
  NodeConfig cheater = Parse("[solver]\ncheat = \"skip-segments\"\n").value();
  Status refused = CheckCheatsAllowed(cheater, real);
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.message().find("solver.cheat = \"skip-segments\" is a devnet and test demonstration"),
            std::string::npos)
      << refused.ToString();
  EXPECT_NE(refused.message().find("\"mainnet\" has no faucet"), std::string::npos) << refused.ToString();
  EXPECT_TRUE(CheckCheatsAllowed(cheater, devnet).ok());
  NodeConfig lazy = Parse("[verifier]\ncheat = \"lazy\"\n").value();
  EXPECT_EQ(CheckCheatsAllowed(lazy, real).code(), StatusCode::kPermissionDenied);
  NodeConfig misplaced = Parse("[verifier]\ncheat = \"lazy\"\n", "\"solver\"").value();
  EXPECT_FALSE(CheckCheatsAllowed(misplaced, devnet).ok());
}

}  // namespace
}  // namespace cairn::config
