#include "sandbox/channel.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <new>
#include <string>

#include "sandbox/limits.h"

namespace cairn::sandbox {
namespace {

// The receive buffer starts this small and doubles as bytes arrive.
constexpr size_t kReceiveChunkBytes = size_t{64} << 10;
// Finite timeouts beyond this are treated as forever (and cannot overflow
// the clock arithmetic).
constexpr double kTimeoutSecondsMax = 1e9;

using Clock = std::chrono::steady_clock;

// A point in time after which I/O gives up.
class Deadline {
 public:
  explicit Deadline(double seconds) : forever_(!(seconds <= kTimeoutSecondsMax)) {
    if (!forever_) {
      at_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    }
  }
  // The timeout argument for poll(): -1 forever, 0 once expired.
  int PollMs() const {
    if (forever_) return -1;
    auto left = at_ - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    // Rounded up, so that we never spin on 0 ms just before the deadline.
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::min<int64_t>(ms, INT_MAX));
  }

 private:
  bool forever_;
  Clock::time_point at_{};
};

enum class Io { kDone, kClosed, kTimeout, kError };
struct IoResult {
  Io outcome = Io::kDone;
  int error = 0;  // errno when kError
};

IoResult WaitFor(int fd, short events, const Deadline& deadline) {
  for (;;) {
    pollfd entry{fd, events, 0};
    int rc = ::poll(&entry, 1, deadline.PollMs());
    // Ready, hung up or in error: the next read or write says which.
    if (rc > 0) return {};
    if (rc == 0) return {Io::kTimeout};
    if (errno != EINTR) return {Io::kError, errno};
  }
}

// Reads until buffer[0, size) is full, counting progress in *done.
IoResult ReadFully(int fd, uint8_t* buffer, size_t size, size_t* done, const Deadline& deadline) {
  while (*done < size) {
    ssize_t n = ::read(fd, buffer + *done, size - *done);
    if (n > 0) {
      *done += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return {Io::kClosed};
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return {Io::kError, errno};
    IoResult waited = WaitFor(fd, POLLIN, deadline);
    if (waited.outcome != Io::kDone) return waited;
  }
  return {};
}

IoResult WriteFully(int fd, const uint8_t* buffer, size_t size, size_t* done, const Deadline& deadline) {
  while (*done < size) {
    ssize_t n = ::write(fd, buffer + *done, size - *done);
    if (n > 0) {
      *done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) return {Io::kClosed};
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return {Io::kError, errno};
    IoResult waited = WaitFor(fd, POLLOUT, deadline);
    if (waited.outcome != Io::kDone) return waited;
  }
  return {};
}

// Keeps a write to a closed pipe from killing the process with SIGPIPE,
// without touching the process-wide disposition: SIGPIPE is blocked in this
// thread for the guard's lifetime, and one raised by our write is consumed
// before the mask is restored (a pipe write raises it in the writing thread).
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_mask_);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;
  ~SigpipeGuard() { pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr); }

  // Call after a write failed with EPIPE.
  void ConsumeSigpipe() {
    if (was_pending_) return;  // Someone else's; leave it.
    timespec zero{};
    while (sigtimedwait(&pipe_set_, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }

 private:
  sigset_t pipe_set_;
  sigset_t old_mask_;
  bool was_pending_ = false;
};

void MakeNonBlocking(int fd) {
  if (fd < 0) return;
  int flags = ::fcntl(fd, F_GETFL);
  CAIRN_ASSERT(flags >= 0);  // REQUIRES: an open descriptor.
  CAIRN_ASSERT(::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0);
}

std::string ByteCount(uint64_t n) { return std::to_string(n) + " bytes"; }

}  // namespace

bool IsTimeout(const Status& status) { return status.code() == StatusCode::kUnavailable; }
bool IsPeerClosed(const Status& status) { return status.code() == StatusCode::kFailedPrecondition; }

std::array<uint8_t, kMessageHeaderBytes> EncodeMessageHeader(uint32_t type, uint64_t payload_bytes) {
  std::array<uint8_t, kMessageHeaderBytes> header{};
  for (int i = 0; i < 4; ++i) header[i] = static_cast<uint8_t>(type >> (8 * i));
  for (int i = 0; i < 8; ++i) header[4 + i] = static_cast<uint8_t>(payload_bytes >> (8 * i));
  return header;
}

Channel::Channel(int read_fd, int write_fd, uint64_t message_bytes_max)
    : read_fd_(read_fd), write_fd_(write_fd), message_bytes_max_(message_bytes_max) {
  MakeNonBlocking(read_fd);
  MakeNonBlocking(write_fd);
}

void Channel::CloseSend() {
  write_fd_.Reset();
  if (send_error_.ok()) send_error_ = FailedPrecondition("channel: the sending side was closed");
}

Status Channel::Send(const Message& message, double timeout_seconds) {
  CAIRN_ASSERT(timeout_seconds >= 0);
  if (!send_error_.ok()) return send_error_;
  if (!write_fd_.valid()) return FailedPrecondition("channel: this end has no sending side");
  const uint64_t payload_bytes = message.payload.size();
  if (payload_bytes > message_bytes_max_) {
    return ResourceExhausted("channel: refusing to send a message of " + ByteCount(payload_bytes) +
                             ", more than the limit of " + ByteCount(message_bytes_max_));
  }
  const auto header = EncodeMessageHeader(message.type, payload_bytes);
  const Deadline deadline(timeout_seconds);
  SigpipeGuard sigpipe_guard;
  size_t header_done = 0;
  size_t payload_done = 0;
  IoResult result = WriteFully(write_fd_.get(), header.data(), header.size(), &header_done, deadline);
  if (result.outcome == Io::kDone) {
    result = WriteFully(write_fd_.get(), message.payload.data(), message.payload.size(), &payload_done, deadline);
  }
  if (result.outcome == Io::kDone) return Status::Ok();

  const uint64_t written = header_done + payload_done;
  const uint64_t total = header.size() + payload_bytes;
  switch (result.outcome) {
    case Io::kClosed:
      sigpipe_guard.ConsumeSigpipe();
      send_error_ = FailedPrecondition(written == 0 ? std::string("channel: the peer closed the channel")
                                                    : "channel: the peer closed the channel in the middle of a "
                                                      "message (" + std::to_string(written) + " of " +
                                                          ByteCount(total) + " written)");
      break;
    case Io::kTimeout:
      if (written == 0) {
        return Unavailable("channel: the peer took no message within " + FormatSeconds(timeout_seconds));
      }
      send_error_ = Corruption("channel: the peer stopped reading in the middle of a message (" +
                               std::to_string(written) + " of " + ByteCount(total) + " written within " +
                               FormatSeconds(timeout_seconds) + "); the channel is out of step");
      break;
    case Io::kError:
      send_error_ = IoError(std::string("channel: write failed: ") + std::strerror(result.error));
      break;
    case Io::kDone:
      break;
  }
  return send_error_;
}

Result<Message> Channel::Receive(double timeout_seconds) {
  CAIRN_ASSERT(timeout_seconds >= 0);
  if (!receive_error_.ok()) return receive_error_;
  if (!read_fd_.valid()) return FailedPrecondition("channel: this end has no receiving side");
  const Deadline deadline(timeout_seconds);

  // Turns a failed read into the (sticky) Status; `done` bytes of `total`
  // (0 while the header is incomplete) had arrived.
  auto fail = [&](const IoResult& result, uint64_t done, uint64_t total) -> Status {
    std::string progress = total == 0 ? std::to_string(done) + " of the " + ByteCount(kMessageHeaderBytes) + " header"
                                      : std::to_string(done) + " of " + ByteCount(total);
    switch (result.outcome) {
      case Io::kClosed:
        receive_error_ = FailedPrecondition(done == 0 ? std::string("channel: the peer closed the channel")
                                                      : "channel: the peer closed the channel in the middle of a "
                                                        "message (after " + progress + ")");
        break;
      case Io::kTimeout:
        receive_error_ = Corruption("channel: the peer stalled in the middle of a message (" + progress +
                                    " within " + FormatSeconds(timeout_seconds) + "); the channel is out of step");
        break;
      case Io::kError:
        receive_error_ = IoError(std::string("channel: read failed: ") + std::strerror(result.error));
        break;
      case Io::kDone:
        CAIRN_ASSERT(false);
    }
    return receive_error_;
  };

  std::array<uint8_t, kMessageHeaderBytes> header{};
  size_t header_done = 0;
  IoResult result = ReadFully(read_fd_.get(), header.data(), header.size(), &header_done, deadline);
  if (result.outcome == Io::kTimeout && header_done == 0) {
    return Unavailable("channel: no message within " + FormatSeconds(timeout_seconds));
  }
  if (result.outcome != Io::kDone) return fail(result, header_done, 0);

  Message message;
  uint64_t payload_bytes = 0;
  for (int i = 0; i < 4; ++i) message.type |= static_cast<uint32_t>(header[i]) << (8 * i);
  for (int i = 0; i < 8; ++i) payload_bytes |= static_cast<uint64_t>(header[4 + i]) << (8 * i);
  if (payload_bytes > message_bytes_max_) {
    receive_error_ = ResourceExhausted("channel: the peer announced a message of " + ByteCount(payload_bytes) +
                                       ", more than the limit of " + ByteCount(message_bytes_max_));
    return receive_error_;
  }
  const uint64_t total = kMessageHeaderBytes + payload_bytes;
  size_t payload_done = 0;
  while (payload_done < payload_bytes) {
    if (payload_done == message.payload.size()) {
      size_t grown = std::max(kReceiveChunkBytes, 2 * message.payload.size());
      try {
        message.payload.resize(static_cast<size_t>(std::min<uint64_t>(payload_bytes, grown)));
      } catch (const std::bad_alloc&) {
        receive_error_ = ResourceExhausted("channel: out of memory receiving a message of " + ByteCount(payload_bytes));
        return receive_error_;
      }
    }
    result = ReadFully(read_fd_.get(), message.payload.data(), message.payload.size(), &payload_done, deadline);
    if (result.outcome != Io::kDone) return fail(result, kMessageHeaderBytes + payload_done, total);
  }
  return message;
}

}  // namespace cairn::sandbox
