// Inbox: PopUpTo takes what is waiting, in order (urgent items first), up
// to its bound, and frees room for blocked producers.
#include "node/inbox.h"

#include <gtest/gtest.h>

#include <thread>

namespace cairn::node {
namespace {

using std::chrono::milliseconds;

TEST(Inbox, PopUpToTakesWhatIsWaitingInOrderUpToItsBound) {
  Inbox<int> inbox(10);
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(inbox.Push(i));
  ASSERT_TRUE(inbox.Push(0, /*urgent=*/true));
  EXPECT_EQ(inbox.PopUpTo(4, milliseconds(0)), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(inbox.PopUpTo(4, milliseconds(0)), (std::vector<int>{4, 5}));
  EXPECT_TRUE(inbox.PopUpTo(4, milliseconds(10)).empty());  // Timed out.
}

TEST(Inbox, PopUpToMakesRoomForABlockedProducer) {
  Inbox<int> inbox(2);
  ASSERT_TRUE(inbox.Push(1));
  ASSERT_TRUE(inbox.Push(2));
  std::thread producer([&] { EXPECT_TRUE(inbox.Push(3)); });  // Blocks until there is room.
  EXPECT_EQ(inbox.PopUpTo(8, milliseconds(1000)), (std::vector<int>{1, 2}));
  producer.join();
  EXPECT_EQ(inbox.PopUpTo(8, milliseconds(1000)), (std::vector<int>{3}));
}

TEST(Inbox, PopUpToOnAClosedEmptyInboxReturnsAtOnce) {
  Inbox<int> inbox(2);
  inbox.Close();
  EXPECT_TRUE(inbox.PopUpTo(8, milliseconds(60'000)).empty());
  EXPECT_FALSE(inbox.Push(1));
}

}  // namespace
}  // namespace cairn::node
