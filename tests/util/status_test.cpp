// Status and Result (include/cairn/status.h): the error values every module
// returns, and the messages users read.

#include "cairn/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace cairn {
namespace {

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(Status, ToStringNamesTheCode) {
  EXPECT_EQ(Corruption("bad block").ToString(), "corruption: bad block");
  EXPECT_EQ(PermissionDenied("mode 644").ToString(), "permission denied: mode 644");
  EXPECT_EQ(Unavailable("peer").ToString(), "unavailable: peer");
}

TEST(Status, WithContextReadsFromTheOutsideIn) {
  Status s = Corruption("nonce 3 != 4").WithContext("tx 3").WithContext("block 12");
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ(s.message(), "block 12: tx 3: nonce 3 != 4");
  EXPECT_TRUE(Status::Ok().WithContext("ignored").ok());
  EXPECT_EQ(Status::Ok().WithContext("ignored").message(), "");
}

Result<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgument("must be positive");
  return v;
}

Result<int> Doubled(int v) {
  CAIRN_ASSIGN_OR_RETURN(int parsed, ParsePositive(v));
  return parsed * 2;
}

Status CheckBoth(int a, int b) {
  CAIRN_RETURN_IF_ERROR(ParsePositive(a).status());
  CAIRN_RETURN_IF_ERROR(ParsePositive(b).status().WithContext("b"));
  return Status::Ok();
}

TEST(Result, HoldsAValueOrAnError) {
  Result<int> good = ParsePositive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  Result<int> bad = ParsePositive(0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> taken = std::move(r).value();
  EXPECT_EQ(*taken, 5);
}

TEST(Result, MacrosPropagateTheFirstError) {
  Result<int> ok = Doubled(4);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 8);
  EXPECT_EQ(Doubled(-1).status().message(), "must be positive");
  EXPECT_TRUE(CheckBoth(1, 2).ok());
  EXPECT_EQ(CheckBoth(1, 0).message(), "b: must be positive");
  EXPECT_EQ(CheckBoth(0, 0).message(), "must be positive");
}

TEST(ResultDeathTest, ValueOfAnErrorAborts) {
  Result<int> bad = ParsePositive(0);
  EXPECT_DEATH((void)bad.value(), "assertion failed");
}

}  // namespace
}  // namespace cairn
