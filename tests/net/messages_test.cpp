// The ledger's records as gRPC messages: every field a node, the CLI or the
// Python client reads survives the round trip, and a hostile peer's
// out-of-range values are refused instead of truncated.
#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "net/messages.h"

namespace cairn::net {
namespace {

Hash256 Tagged(const char* what) { return crypto::TaggedHash("test/messages", ByteView(std::string(what))); }

ledger::Job AReplicaJob() {
  ledger::Job j;
  j.job_id = Tagged("job");
  j.fee = 1000;
  j.solver_stake = 2000;
  j.status = ledger::JobStatus::kCommitted;
  j.checkpoint_count = 11;
  j.claim_seed = Tagged("seed");
  j.forced = ledger::ForcedError::kMasked;
  j.forced_leaf = 4;
  j.exact_replay = true;
  j.group = Tagged("group");
  j.replica = 2;
  j.replicas = 3;
  j.votes.push_back({crypto::PublicKey{}, false, 0, Tagged("report")});  // A slashed accept.
  return j;
}

TEST(JobMessage, EveryFieldSurvivesTheRoundTrip) {
  ledger::Job job = AReplicaJob();
  ::cairn::v1::Job message;
  ToProto(job, &message);
  auto back = FromProto(message);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->exact_replay, true);
  EXPECT_EQ(back->group, job.group);
  EXPECT_EQ(back->replica, 2u);
  EXPECT_EQ(back->replicas, 3u);
  EXPECT_EQ(back->forced, ledger::ForcedError::kMasked);
  EXPECT_EQ(back->forced_leaf, 4u);
  ASSERT_EQ(back->votes.size(), 1u);
  EXPECT_TRUE(back->votes[0].slashed());
  EXPECT_STREQ(ledger::VoteName(back->votes[0]), "SLASHED ACCEPT");
}

TEST(JobMessage, AReplicaOutsideItsGroupIsRefused) {
  ::cairn::v1::Job message;
  ToProto(AReplicaJob(), &message);
  message.set_replicas(300);  // Would truncate to 44 in a uint8_t.
  EXPECT_EQ(FromProto(message).status().code(), StatusCode::kInvalidArgument);
  message.set_replicas(3);
  message.set_replica(3);
  EXPECT_EQ(FromProto(message).status().code(), StatusCode::kInvalidArgument);
  message.set_forced("something else");
  message.set_replica(0);
  EXPECT_EQ(FromProto(message).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn::net
