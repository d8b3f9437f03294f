// Channel (sandbox/channel.h) over pipes within one process.

#include "sandbox/channel.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace cairn::sandbox {
namespace {

using ::testing::HasSubstr;

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
};

Pipe MakePipe() {
  int fds[2];
  CAIRN_ASSERT(::pipe2(fds, O_CLOEXEC) == 0);
  return {fds[0], fds[1]};
}

void WriteRaw(int fd, const void* data, size_t size) {
  CAIRN_ASSERT(::write(fd, data, size) == static_cast<ssize_t>(size));
}

// Two connected ends: what `near` sends, `far` receives, and back.
struct ChannelPair {
  explicit ChannelPair(uint64_t bytes_max = kMessageBytesMax)
      : ChannelPair(MakePipe(), MakePipe(), bytes_max) {}
  ChannelPair(Pipe there, Pipe back, uint64_t bytes_max)
      : near(back.read_fd, there.write_fd, bytes_max), far(there.read_fd, back.write_fd, bytes_max) {}
  Channel near;
  Channel far;
};

Bytes Pattern(size_t size) {
  Bytes bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(i ^ (i >> 8) ^ (i >> 16));
  return bytes;
}

TEST(Channel, RoundTripsEmptyOneByteAndLargeMessages) {
  ChannelPair pair;
  // 16 MiB is far more than a pipe holds: sending must wait for the reader.
  const std::vector<Message> messages = {{0, {}}, {1, {42}}, {0xffffffff, Pattern(16 << 20)}};
  std::thread sender([&] {
    for (const Message& m : messages) CAIRN_ASSERT(pair.near.Send(m).ok());
  });
  for (const Message& expected : messages) {
    auto got = pair.far.Receive(/*timeout_seconds=*/60);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->type, expected.type);
    EXPECT_TRUE(got->payload == expected.payload) << "payload of type " << expected.type << " differs";
  }
  sender.join();
}

TEST(Channel, WorksInBothDirectionsAtOnce) {
  ChannelPair pair;
  const Message big{7, Pattern(4 << 20)};
  // Both ends send a large message before either reads: each Send must make
  // progress while the other side's Receive runs on another thread.
  std::thread far_side([&] {
    CAIRN_ASSERT(pair.far.Send(big).ok());
    auto got = pair.far.Receive(60);
    CAIRN_ASSERT(got.ok() && got->payload == big.payload);
  });
  std::thread near_receiver([&] {
    auto got = pair.near.Receive(60);
    CAIRN_ASSERT(got.ok() && got->payload == big.payload);
  });
  ASSERT_TRUE(pair.near.Send(big).ok());
  near_receiver.join();
  far_side.join();
}

TEST(Channel, TheHeaderIsLittleEndianTypeThenLength) {
  Pipe pipe = MakePipe();
  Channel sender(-1, pipe.write_fd);
  ASSERT_TRUE(sender.Send(Message{0x01020304, {'a', 'b'}}).ok());
  uint8_t raw[14] = {};
  ASSERT_EQ(::read(pipe.read_fd, raw, sizeof(raw)), 14);
  const uint8_t expected[14] = {0x04, 0x03, 0x02, 0x01, 2, 0, 0, 0, 0, 0, 0, 0, 'a', 'b'};
  EXPECT_EQ(std::string(raw, raw + 14), std::string(expected, expected + 14));
  EXPECT_EQ(EncodeMessageHeader(0x01020304, 0x1122334455667788),
            (std::array<uint8_t, 12>{0x04, 0x03, 0x02, 0x01, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}));
  ::close(pipe.read_fd);
}

TEST(Channel, ATimeoutIsDistinguishableAndLeavesTheChannelUsable) {
  ChannelPair pair;
  auto none = pair.far.Receive(/*timeout_seconds=*/0.05);
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(IsTimeout(none.status()));
  EXPECT_FALSE(IsPeerClosed(none.status()));
  EXPECT_EQ(none.status().message(), "channel: no message within 0.05 s");

  EXPECT_TRUE(IsTimeout(pair.far.Receive(/*timeout_seconds=*/0).status()));
  ASSERT_TRUE(pair.near.Send(Message{3, {1, 2, 3}}).ok());
  auto got = pair.far.Receive(/*timeout_seconds=*/0);  // Already there: no waiting needed.
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->type, 3u);
}

TEST(Channel, APeerClosingAtAMessageBoundaryIsPeerClosed) {
  ChannelPair pair;
  ASSERT_TRUE(pair.near.Send(Message{1, {9}}).ok());
  pair.near.CloseSend();
  // What was sent before closing still arrives.
  auto first = pair.far.Receive(5);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->payload, Bytes{9});
  auto closed = pair.far.Receive(5);
  ASSERT_FALSE(closed.ok());
  EXPECT_TRUE(IsPeerClosed(closed.status()));
  EXPECT_FALSE(IsTimeout(closed.status()));
  EXPECT_EQ(closed.status().message(), "channel: the peer closed the channel");
  EXPECT_TRUE(IsPeerClosed(pair.near.Send(Message{})));
}

TEST(Channel, APeerClosingMidMessageIsPeerClosed) {
  {
    Pipe pipe = MakePipe();
    Channel receiver(pipe.read_fd, -1);
    WriteRaw(pipe.write_fd, "\x01\x00\x00", 3);
    ::close(pipe.write_fd);
    auto got = receiver.Receive(5);
    ASSERT_FALSE(got.ok());
    EXPECT_TRUE(IsPeerClosed(got.status()));
    EXPECT_EQ(got.status().message(),
              "channel: the peer closed the channel in the middle of a message (after 3 of the 12 bytes header)");
  }
  {
    Pipe pipe = MakePipe();
    Channel receiver(pipe.read_fd, -1);
    auto header = EncodeMessageHeader(1, 100);
    WriteRaw(pipe.write_fd, header.data(), header.size());
    WriteRaw(pipe.write_fd, "0123456789", 10);
    ::close(pipe.write_fd);
    auto got = receiver.Receive(5);
    ASSERT_FALSE(got.ok());
    EXPECT_TRUE(IsPeerClosed(got.status()));
    EXPECT_THAT(got.status().message(), HasSubstr("(after 22 of 112 bytes)"));
    // Sticky: the channel stays closed.
    EXPECT_EQ(receiver.Receive(5).status().message(), got.status().message());
  }
}

TEST(Channel, APeerStallingMidMessageIsNotATimeout) {
  Pipe pipe = MakePipe();
  Channel receiver(pipe.read_fd, -1);
  auto header = EncodeMessageHeader(1, 100);
  WriteRaw(pipe.write_fd, header.data(), header.size());
  auto got = receiver.Receive(/*timeout_seconds=*/0.1);
  ASSERT_FALSE(got.ok());
  // The stream is out of step: retrying would misread the rest as a header.
  EXPECT_EQ(got.status().code(), StatusCode::kCorruption) << got.status().ToString();
  EXPECT_FALSE(IsTimeout(got.status()));
  EXPECT_FALSE(IsPeerClosed(got.status()));
  WriteRaw(pipe.write_fd, Pattern(100).data(), 100);
  EXPECT_EQ(receiver.Receive(5).status().code(), StatusCode::kCorruption);
  ::close(pipe.write_fd);
}

TEST(Channel, RefusesToSendAnOversizedMessageAndStaysUsable) {
  ChannelPair pair(/*bytes_max=*/1024);
  EXPECT_EQ(pair.near.message_bytes_max(), 1024u);
  Status refused = pair.near.Send(Message{1, Bytes(1025)});
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.message(),
            "channel: refusing to send a message of 1025 bytes, more than the limit of 1024 bytes");
  EXPECT_TRUE(IsTimeout(pair.far.Receive(0).status())) << "nothing may have been written";
  ASSERT_TRUE(pair.near.Send(Message{2, Bytes(1024, 5)}).ok());
  auto got = pair.far.Receive(5);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->payload, Bytes(1024, 5));
}

TEST(Channel, RefusesAnOversizedHeader) {
  Pipe pipe = MakePipe();
  Channel receiver(pipe.read_fd, -1, /*message_bytes_max=*/1024);
  auto header = EncodeMessageHeader(1, 1025);
  WriteRaw(pipe.write_fd, header.data(), header.size());
  auto got = receiver.Receive(5);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(got.status().message(),
            "channel: the peer announced a message of 1025 bytes, more than the limit of 1024 bytes");
  EXPECT_EQ(receiver.Receive(5).status().code(), StatusCode::kResourceExhausted);
  ::close(pipe.write_fd);
}

TEST(Channel, TheDefaultBoundIsOneGibibyte) {
  Channel channel(-1, -1);
  EXPECT_EQ(channel.message_bytes_max(), uint64_t{1} << 30);
}

TEST(Channel, SendingToAClosedPeerIsPeerClosedWithoutSigpipe) {
  Pipe pipe = MakePipe();
  ::close(pipe.read_fd);
  Channel sender(-1, pipe.write_fd);
  // With SIGPIPE's default action this process would die here.
  Status sent = sender.Send(Message{1, Bytes(100)});
  EXPECT_TRUE(IsPeerClosed(sent)) << sent.ToString();
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE)) << "the SIGPIPE our write raised must be consumed";
}

TEST(Channel, SendGivesUpWhenThePeerDoesNotRead) {
  {
    // Nothing could be written: a plain timeout, the channel stays usable.
    Pipe pipe = MakePipe();
    ::fcntl(pipe.write_fd, F_SETFL, O_NONBLOCK);
    char filler[4096] = {};
    while (::write(pipe.write_fd, filler, sizeof(filler)) > 0) {
    }
    Channel sender(-1, pipe.write_fd);
    Status sent = sender.Send(Message{1, {1}}, /*timeout_seconds=*/0.1);
    EXPECT_TRUE(IsTimeout(sent)) << sent.ToString();
    ::close(pipe.read_fd);
  }
  {
    // Part of a message was written: the channel is out of step.
    Pipe pipe = MakePipe();
    Channel sender(-1, pipe.write_fd);
    Status sent = sender.Send(Message{1, Pattern(4 << 20)}, /*timeout_seconds=*/0.1);
    EXPECT_EQ(sent.code(), StatusCode::kCorruption) << sent.ToString();
    EXPECT_EQ(sender.Send(Message{}).code(), StatusCode::kCorruption);
    ::close(pipe.read_fd);
  }
}

std::atomic<int> interruptions{0};
void CountInterruption(int) { interruptions.fetch_add(1); }

TEST(Channel, SurvivesInterruptingSignals) {
  // A handler installed without SA_RESTART makes poll, read and write fail
  // with EINTR; Receive and Send must carry on.
  struct sigaction action {}, old_action {};
  action.sa_handler = CountInterruption;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  ASSERT_EQ(::sigaction(SIGUSR1, &action, &old_action), 0);
  interruptions = 0;

  ChannelPair pair;
  const Message message{4, Pattern(2 << 20)};
  const pthread_t receiver = ::pthread_self();
  std::thread sender([&] {
    for (int i = 0; i < 100; ++i) {
      ::pthread_kill(receiver, SIGUSR1);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    CAIRN_ASSERT(pair.near.Send(message).ok());
    for (int i = 0; i < 20; ++i) ::pthread_kill(receiver, SIGUSR1);
  });
  auto got = pair.far.Receive(/*timeout_seconds=*/60);
  sender.join();
  ::sigaction(SIGUSR1, &old_action, nullptr);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->payload == message.payload);
  EXPECT_GT(interruptions.load(), 0);
}

}  // namespace
}  // namespace cairn::sandbox
