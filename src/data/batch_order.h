// The data order of a training job: a pure function of (job seed, step), so a
// verifier can reproduce the batch of any step without replaying the steps
// before it.
//
// Each epoch visits every example exactly once, in an order given by a keyed
// pseudo-random permutation of [0, n) (a Feistel network over the next power
// of two with cycle-walking, keyed by Philox of (seed, epoch)). Step s takes
// positions [s*B, (s+1)*B) of the endless sequence epoch 0, epoch 1, ...; a
// batch may straddle two epochs. docs/datasets.md specifies it bit for bit.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace cairn::data {

// Philox4x32-10 (Salmon et al., SC'11), the counter-based generator used by
// cuRAND and JAX. Pure function: same counter and key, same output.
std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

// Random numbers addressed by (seed, stream, index) instead of by a state:
// Bits64(index) is the first two words of Philox4x32 with counter
// (index, stream) and key seed, each split into (low, high) 32-bit words.
// Immutable value; safe to share between threads.
class CounterRng {
 public:
  CounterRng(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}
  // 64 random bits for `index`.
  uint64_t Bits64(uint64_t index) const;
  // Uniform float in [0, 1), 24-bit resolution: identical on every platform.
  float UniformFloat(uint64_t index) const;

 private:
  uint64_t seed_;
  uint64_t stream_;
};

// Streams of CounterRng used by cairn (kept distinct so uses never overlap).
inline constexpr uint64_t kStreamBatchOrder = 1;
inline constexpr uint64_t kStreamWeightInit = 2;
inline constexpr uint64_t kStreamVerifierSampling = 3;
// Seeds of torch's generators before each training step (dropout, noise).
inline constexpr uint64_t kStreamModelRandomness = 4;

// Index in [0, n) of position `i` of the permutation keyed by (seed, epoch).
// Each call derives the epoch's key afresh (one Philox call) and then walks
// the Feistel network (6 Philox calls per step of the walk, at most 4
// steps on average). REQUIRES: i < n, n > 0.
uint32_t PermutedIndex(uint64_t seed, uint64_t epoch, uint32_t i, uint32_t n);

// The dataset indices of training step `step` (0-based): position p =
// step * batch_size + j (j < batch_size) is PermutedIndex(seed, p / n, p % n, n).
// REQUIRES: batch_size > 0, dataset_size > 0, and (step + 1) * batch_size - 1
// fits in 64 bits.
std::vector<uint32_t> BatchIndices(uint64_t seed, uint64_t step, uint32_t batch_size, uint32_t dataset_size);

}  // namespace cairn::data
