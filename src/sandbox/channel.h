// Channel: framed messages over a pair of file descriptors (normally pipes)
// between the trusted node and its sandboxed worker (docs/sandbox.md).
//
// Wire format of one message: a 12-byte little-endian header
//   u32 type | u64 payload length
// followed by the payload. A length above the channel's bound is refused on
// both ends: Send refuses to write it, Receive refuses to accept it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "cairn/bytes.h"
#include "cairn/status.h"
#include "sandbox/unique_fd.h"

namespace cairn::sandbox {

// Checkpoints travel through the channel, so the default bound is large.
inline constexpr uint64_t kMessageBytesMax = uint64_t{1} << 30;
inline constexpr size_t kMessageHeaderBytes = 12;
// A timeout that never expires.
inline constexpr double kForever = std::numeric_limits<double>::infinity();

struct Message {
  uint32_t type = 0;  // Meaning is up to the two ends.
  Bytes payload;
};

// Which failure a Status from Send or Receive is:
//   IsTimeout: nothing arrived (or could be written) before the deadline; the
//     channel is intact and the call may be repeated. (kUnavailable)
//   IsPeerClosed: the other end closed its side or died, possibly in the
//     middle of a message; no more messages will come. (kFailedPrecondition)
// Other codes: kResourceExhausted (a message over the bound), kCorruption (the
// peer stalled mid-message past the deadline), kIoError (the OS failed).
// After any failure other than IsTimeout the direction that failed is
// unusable and every later call in that direction returns the same Status.
bool IsTimeout(const Status& status);
bool IsPeerClosed(const Status& status);

// One end of a two-way message channel. Owns both descriptors, which it sets
// non-blocking. Thread-safety: one thread may Send while another Receives;
// Send (or Receive) must not be called from two threads at once. Writing to a
// closed pipe never raises SIGPIPE in the process: Send reports it instead.
class Channel {
 public:
  // Takes ownership of `read_fd` and `write_fd` (either may be -1 for a
  // one-way channel). REQUIRES: each is -1 or an open descriptor.
  Channel(int read_fd, int write_fd, uint64_t message_bytes_max = kMessageBytesMax);
  Channel(Channel&&) noexcept = default;
  Channel& operator=(Channel&&) noexcept = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() = default;

  // Writes one whole message, waiting up to `timeout_seconds` for the peer to
  // make room. A payload over the bound is refused before anything is written
  // (the channel stays usable).
  // REQUIRES: timeout_seconds >= 0 (kForever allowed).
  Status Send(const Message& message, double timeout_seconds = kForever);

  // Reads one whole message. The deadline covers the whole message; 0 returns
  // at once if no message has started to arrive. The payload buffer grows as
  // bytes arrive, so a peer that announces a large message and sends nothing
  // does not make us allocate it.
  // REQUIRES: timeout_seconds >= 0 (kForever allowed).
  Result<Message> Receive(double timeout_seconds);

  // Closes the sending side: the peer's Receive reports IsPeerClosed once it
  // has read every message already sent.
  void CloseSend();

  uint64_t message_bytes_max() const { return message_bytes_max_; }

 private:
  UniqueFd read_fd_;
  UniqueFd write_fd_;
  uint64_t message_bytes_max_;
  Status send_error_;     // Sticky: set once the sending side is unusable.
  Status receive_error_;  // Sticky: set once the receiving side is unusable.
};

// The header of a message of `payload_bytes` bytes (exposed for tests and for
// anyone who must speak the format without a Channel).
std::array<uint8_t, kMessageHeaderBytes> EncodeMessageHeader(uint32_t type, uint64_t payload_bytes);

}  // namespace cairn::sandbox
