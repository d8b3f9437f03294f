// Genesis TOML: the shipped example parses, and every mistake names its key.
#include <gtest/gtest.h>

#include "config/genesis_config.h"
#include "ledger/genesis.h"

namespace cairn::config {
namespace {

const char* const kMinimal = R"(
chain_id = "t"
sequencer = "1f1e7c0e5ba1b6a3c7e4b0b1d2f2f6a0e3f1b1c2d3e4f5a6b7c8d9e0f1a2b3c4"
referee = "2a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40414243444546474849"
)";

TEST(GenesisConfig, ShippedExampleParsesWithEveryKey) {
  auto g = LoadGenesisFile(std::string(CAIRN_SOURCE_DIR) + "/configs/genesis.toml");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->chain_id, "cairn-example");
  EXPECT_EQ(g->params.unbonding_delay_blocks, 100u);
  EXPECT_EQ(g->params.verifier_stake_min, 100u);
  ASSERT_EQ(g->allocations.size(), 2u);
  EXPECT_EQ(g->allocations[1].stake, 20000u);
}

TEST(GenesisConfig, DefaultsApplyToOmittedParams) {
  auto g = ParseGenesisToml(kMinimal, "g.toml");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->params, ledger::Params{});
}

TEST(GenesisConfig, RoundTripsThroughToml) {
  auto g = ParseGenesisToml(kMinimal, "g.toml").value();
  g.allocations.push_back({g.sequencer, 5, 6});
  g.params.faucet_amount_max = 77;
  auto again = ParseGenesisToml(GenesisToToml(g), "again.toml");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ledger::GenesisHash(*again), ledger::GenesisHash(g));
}

void ExpectError(const std::string& text, const std::string& needle) {
  auto g = ParseGenesisToml(text, "g.toml");
  ASSERT_FALSE(g.ok()) << "accepted: " << text;
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(g.status().message().find(needle), std::string::npos) << g.status().message();
}

TEST(GenesisConfig, MistakesNameTheFileAndKey) {
  ExpectError("chain_id = \"t\"", "missing required key 'sequencer'");
  ExpectError(std::string(kMinimal) + "typo_key = 1\n", "unknown key 'typo_key'");
  ExpectError(std::string(kMinimal) + "[params]\nunbonding_delay_blocks = -3\n", "params: key 'unbonding_delay_blocks' must not be negative");
  ExpectError(std::string(kMinimal) + "[params]\njackpot_tax_bps = \"1%\"\n", "'jackpot_tax_bps' must be an integer");
  ExpectError(std::string(kMinimal) + "[params]\njackpot_tax_bps = 20000\n", "at most 10000");
  ExpectError(std::string(kMinimal) + "[[allocations]]\naccount = \"abc\"\n", "allocations[0]: key 'account'");
  ExpectError("chain_id = \"t\"\nsequencer = [1,2", "g.toml:2");
  ExpectError(std::string(kMinimal) + "[params]\njackpot_tax_bps = 6000\nverifier_share_bps = 5000\n", "must not exceed 10000");
}

}  // namespace
}  // namespace cairn::config
