// Property: whatever sequence of transactions users send, accepted or not,
// no unit is created or destroyed except by the faucet. Every unit is in an
// account (balance, free, bonded or unbonding stake), in a live job's escrow,
// or in the jackpot, and together they equal the recorded total supply.
#include <random>

#include "ledger/audit.h"
#include "ledger_fixture.h"

namespace cairn::ledger::testing {
namespace {

class LedgerConservation : public LedgerFixture {
 protected:
  // Sums every unit in the committed state by scanning it.
  void ExpectConserved() {
    Amount total = 0;
    Status scanned = kv_->Scan(kStateColumnFamily, "", [&](std::string_view key, std::string_view value) {
      std::string_view logical = key.substr(2);
      if (logical.rfind("a/", 0) == 0) {
        Account a = DecodeAccount(value).value();
        total += a.balance + a.stake_free + a.stake_bonded + a.unbonding;
      } else if (logical.rfind("j/", 0) == 0) {
        total += DecodeJob(value).value().fee;
      }
      return true;
    });
    ASSERT_TRUE(scanned.ok());
    total += ledger_->GetJackpot().value();
    Amount supply = GetAmount(StoreStateReader(kv_.get()), kSupplyKey).value();
    ASSERT_EQ(total, supply) << "at height " << ledger_->head().height;
  }
};

TEST_F(LedgerConservation, RandomTrafficNeverCreatesOrDestroysUnits) {
  const uint32_t seed = ::testing::UnitTest::GetInstance()->random_seed();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun with --gtest_random_seed)");
  std::mt19937_64 rng(seed);
  const uint8_t parties[] = {kSubmitter, kSolver, kVerifier, kVerifier2, kOutsider, kReferee};
  auto pick = [&] { return parties[rng() % std::size(parties)]; };
  auto job = [&] { return JobId(static_cast<uint8_t>(1 + rng() % 4)); };
  auto amount = [&] { return static_cast<Amount>(rng() % 3000); };
  int accepted = 0;
  for (int block = 0; block < 60; ++block) {
    for (int i = 0; i < 12; ++i) {
      Operation op;
      switch (rng() % 10) {
        case 0: op = TransferOp{Id(pick()), amount()}; break;
        case 1: op = FaucetOp{amount() % 1200}; break;
        case 2: op = StakeOp{amount()}; break;
        case 3: op = UnstakeOp{amount()}; break;
        case 4: op = PostJobOp{job(), amount(), 1 + amount(), 1 + rng() % 6, 1 + rng() % 6, Hash256{}}; break;
        case 5: op = ClaimJobOp{job(), Hash256{}}; break;
        case 6: op = CommitCertificateOp{job(), Hash256{}, Hash256{}, Hash256{}}; break;
        case 7: op = VerdictOp{job(), rng() % 3 != 0, Hash256{}}; break;
        case 8: op = RulingOp{job(), rng() % 2 == 0}; break;
        default: op = SettleOp{job()}; break;
      }
      uint8_t sender = (std::holds_alternative<RulingOp>(op) && rng() % 2) ? uint8_t{kReferee} : pick();
      if (Submit(sender, op).ok()) accepted++;
    }
    Seal();
    ExpectConserved();
  }
  EXPECT_GT(accepted, 100);  // The traffic exercised the rules, not just the error paths.
  auto audit = AuditLedger(*kv_);
  EXPECT_TRUE(audit.ok()) << audit.status().ToString();
}

}  // namespace
}  // namespace cairn::ledger::testing
