// Helpers for the kernel tests: seeded random buffers and a bit-for-bit
// comparison that names the first differing element.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace cairn::kernels::testing {

// Uniform floats in [lo, hi) from a seeded generator (the seed is part of
// every failure message through the test's SCOPED_TRACE).
inline std::vector<float> RandomFloats(std::mt19937& rng, int64_t n, float lo = -2.0f, float hi = 2.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

inline uint32_t BitsOf(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

// memcmp over the whole buffer; on a mismatch, the first differing index.
inline ::testing::AssertionResult SameBits(const std::vector<float>& expected, const std::vector<float>& actual) {
  if (expected.size() != actual.size()) {
    return ::testing::AssertionFailure() << "sizes " << expected.size() << " vs " << actual.size();
  }
  if (expected.empty() || std::memcmp(expected.data(), actual.data(), expected.size() * sizeof(float)) == 0) {
    return ::testing::AssertionSuccess();
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    if (BitsOf(expected[i]) != BitsOf(actual[i])) {
      return ::testing::AssertionFailure()
             << "first difference at element " << i << " of " << expected.size() << ": reference " << expected[i]
             << " (0x" << std::hex << BitsOf(expected[i]) << "), backend " << actual[i] << " (0x" << BitsOf(actual[i])
             << std::dec << ")";
    }
  }
  return ::testing::AssertionFailure() << "memcmp differs but no element does (padding?)";
}

// Distance in units in the last place between two finite floats of the same sign.
inline int64_t UlpDistance(float a, float b) {
  auto key = [](float x) {
    const int64_t u = BitsOf(x);
    return (u & 0x80000000) != 0 ? -(u & 0x7fffffff) : u;
  };
  const int64_t d = key(a) - key(b);
  return d < 0 ? -d : d;
}

}  // namespace cairn::kernels::testing
