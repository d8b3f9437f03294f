#include "data/batch_order.h"

#include <limits>

#include "cairn/assert.h"

namespace cairn::data {
namespace {

// Philox4x32-10 constants (Salmon et al., SC'11, and Random123's philox.h):
// the round multipliers and the Weyl sequence that bumps the key.
constexpr uint32_t kPhiloxMultiplier0 = 0xD2511F53;
constexpr uint32_t kPhiloxMultiplier1 = 0xCD9E8D57;
constexpr uint32_t kPhiloxWeyl0 = 0x9E3779B9;  // Golden ratio.
constexpr uint32_t kPhiloxWeyl1 = 0xBB67AE85;  // sqrt(3) - 1.
constexpr int kPhiloxRounds = 10;

// Rounds of the Feistel network behind PermutedIndex. Four rounds of a
// pseudo-random function already give a pseudo-random permutation
// (Luby-Rackoff); six leave margin for the tiny half-widths of small n.
constexpr uint32_t kFeistelRounds = 6;
// Permutation domains are [0, 2^bits) with an even bits in [2, 32].
constexpr uint32_t kFeistelBitsMin = 2;
constexpr uint32_t kFeistelBitsMax = 32;

uint32_t Low32(uint64_t v) { return static_cast<uint32_t>(v); }
uint32_t High32(uint64_t v) { return static_cast<uint32_t>(v >> 32); }

// The permutation of [0, n) for one (seed, epoch): a balanced Feistel network
// on [0, 2^bits), 2^bits >= n, restricted to [0, n) by cycle-walking. The
// round function is Philox4x32-10 under a per-epoch key, so one permutation
// is built per epoch and applied to many positions. docs/datasets.md.
class EpochPermutation {
 public:
  EpochPermutation(uint64_t seed, uint64_t epoch, uint32_t n) : n_(n) {
    CAIRN_ASSERT(n > 0);
    uint32_t bits = kFeistelBitsMin;
    while (bits < kFeistelBitsMax && (uint64_t{1} << bits) < n) bits += 2;
    CAIRN_ASSERT((uint64_t{1} << bits) >= n);
    half_bits_ = bits / 2;
    half_mask_ = (uint32_t{1} << half_bits_) - 1;  // half_bits_ <= 16.
    const uint64_t epoch_key = CounterRng(seed, kStreamBatchOrder).Bits64(epoch);
    key_ = {Low32(epoch_key), High32(epoch_key)};
  }

  // REQUIRES: i < n.
  uint32_t At(uint32_t i) const {
    CAIRN_ASSERT(i < n_);
    // Walking the cycle of i in the big permutation until it re-enters
    // [0, n) terminates: i itself is in [0, n). That takes 2^bits / n <= 4
    // steps on average (n >= 2^bits / 4); the bound below only catches a
    // broken Encrypt.
    const uint64_t walk_steps_max = uint64_t{1} << (2 * half_bits_);
    uint64_t x = i;
    for (uint64_t step = 0;; ++step) {
      CAIRN_ASSERT(step < walk_steps_max);
      x = Encrypt(static_cast<uint32_t>(x));
      if (x < n_) return static_cast<uint32_t>(x);
    }
  }

 private:
  // One pass of the Feistel network over [0, 2^(2 * half_bits_)).
  uint64_t Encrypt(uint32_t x) const {
    uint32_t left = static_cast<uint32_t>(uint64_t{x} >> half_bits_) & half_mask_;
    uint32_t right = x & half_mask_;
    for (uint32_t round = 0; round < kFeistelRounds; ++round) {
      const uint32_t f = Philox4x32({right, round, 0, 0}, key_)[0] & half_mask_;
      const uint32_t next_right = left ^ f;
      left = right;
      right = next_right;
    }
    return (uint64_t{left} << half_bits_) | right;
  }

  uint32_t n_;
  uint32_t half_bits_;
  uint32_t half_mask_;
  std::array<uint32_t, 2> key_;
};

}  // namespace

std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key) {
  for (int round = 0; round < kPhiloxRounds; ++round) {
    if (round > 0) {
      key[0] += kPhiloxWeyl0;
      key[1] += kPhiloxWeyl1;
    }
    const uint64_t product0 = uint64_t{kPhiloxMultiplier0} * counter[0];
    const uint64_t product1 = uint64_t{kPhiloxMultiplier1} * counter[2];
    counter = {High32(product1) ^ counter[1] ^ key[0], Low32(product1), High32(product0) ^ counter[3] ^ key[1],
               Low32(product0)};
  }
  return counter;
}

uint64_t CounterRng::Bits64(uint64_t index) const {
  const std::array<uint32_t, 4> out =
      Philox4x32({Low32(index), High32(index), Low32(stream_), High32(stream_)}, {Low32(seed_), High32(seed_)});
  return uint64_t{out[0]} | uint64_t{out[1]} << 32;
}

float CounterRng::UniformFloat(uint64_t index) const {
  // The top 24 bits as an integer times 2^-24: exact in float32, in [0, 1).
  constexpr float kTwoToMinus24 = 1.0f / 16777216.0f;
  return static_cast<float>(Bits64(index) >> 40) * kTwoToMinus24;
}

uint32_t PermutedIndex(uint64_t seed, uint64_t epoch, uint32_t i, uint32_t n) {
  CAIRN_ASSERT(n > 0 && i < n);
  return EpochPermutation(seed, epoch, n).At(i);
}

std::vector<uint32_t> BatchIndices(uint64_t seed, uint64_t step, uint32_t batch_size, uint32_t dataset_size) {
  CAIRN_ASSERT(batch_size > 0 && dataset_size > 0);
  // The last position, step * batch_size + batch_size - 1, must fit in 64 bits.
  CAIRN_ASSERT(step <= (std::numeric_limits<uint64_t>::max() - (batch_size - 1)) / batch_size);
  std::vector<uint32_t> indices;
  indices.reserve(batch_size);
  const uint64_t first = step * batch_size;
  uint64_t epoch = first / dataset_size;
  uint32_t offset = static_cast<uint32_t>(first % dataset_size);  // Position within the epoch.
  EpochPermutation permutation(seed, epoch, dataset_size);
  for (uint32_t j = 0; j < batch_size; ++j) {
    if (offset == dataset_size) {  // The batch straddles into the next epoch.
      offset = 0;
      ++epoch;
      permutation = EpochPermutation(seed, epoch, dataset_size);
    }
    indices.push_back(permutation.At(offset));
    ++offset;
  }
  return indices;
}

}  // namespace cairn::data
