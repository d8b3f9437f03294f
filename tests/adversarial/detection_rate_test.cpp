// How often a cheater escapes a verifier's sample, measured over many seeded
// trials of the real sampler (proof::SampleSegments over the verifier's real
// Ed25519 sampling signature) and compared with the arithmetic of
// docs/certificates.md, "Detection rate":
//   - uniform part (top_q = 0): with F of n segments faked and u sampled
//     without replacement, escape = C(n-F, u) / C(n, u), which is at most
//     and, for n >> u, about (1-f)^u with f = F/n (EscapeProbability);
//   - top-Q: fakes that move the weights most (an interpolation's jump, a
//     wrong learning rate) are replayed by top-Q every time: escape 0;
//     fakes that move them least are never in top-Q, and escape the uniform
//     part over the other n-Q segments; fakes whose update norms look like
//     everyone else's are as likely as any segment to be in top-Q, so top-Q
//     acts as Q more uniform draws: escape C(n-F, Q+u) / C(n, Q+u).
// Each comparison allows 5 binomial standard deviations plus 4 trials (see
// Bound; a fair sampler falls outside with a chance below one in a million
// per comparison); the trials are seeded, so a run is reproducible.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "crypto/keys.h"
#include "proof/certificate.h"

namespace cairn::proof {
namespace {

constexpr int kTrials = 2000;
constexpr double kSigmas = 5;

// C(n-F, s) / C(n, s): s draws without replacement all miss the F fakes.
double HypergeometricEscape(uint32_t n, uint32_t faked, uint32_t sampled) {
  double p = 1;
  for (uint32_t i = 0; i < sampled; ++i) p *= static_cast<double>(n - faked - i) / static_cast<double>(n - i);
  return std::max(p, 0.0);
}

enum class FakeNorms { kLikeHonest, kLargest, kSmallest };

struct Trials {
  uint32_t segments = 0;
  uint32_t faked = 0;
  uint32_t top_q = 0;
  uint32_t uniform = 0;
  FakeNorms norms = FakeNorms::kLikeHonest;
};

// The fraction of `kTrials` seeded trials in which the sample misses every
// faked segment. Each trial: a fresh certificate hash, a fresh verifier key,
// the faked segments at random positions, update norms drawn at random
// (fakes: like the others, or all above, or all below them).
double MeasuredEscape(const Trials& t, uint64_t seed) {
  std::mt19937_64 rng(seed);
  int escaped = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    std::vector<uint32_t> order(t.segments);
    for (uint32_t i = 0; i < t.segments; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    const std::set<uint32_t> faked(order.begin(), order.begin() + t.faked);
    std::uniform_real_distribution<double> norm(1.0, 2.0);
    Certificate c;
    for (uint32_t i = 0; i < t.segments; ++i) {
      double n = norm(rng);
      if (faked.count(i) && t.norms == FakeNorms::kLargest) n += 10;
      if (faked.count(i) && t.norms == FakeNorms::kSmallest) n -= 1;
      c.segments.push_back({i * 10ull, i * 10ull + 10, 1.0, 1.0, n});
    }
    Hash256 cert_hash;
    for (auto& b : cert_hash.bytes) b = static_cast<uint8_t>(rng());
    std::array<uint8_t, 32> key_seed;
    for (auto& b : key_seed) b = static_cast<uint8_t>(rng());
    const crypto::KeyPair verifier = crypto::KeyPair::FromSeed(key_seed);
    const std::vector<uint32_t> sample = SampleSegments(c, SamplingSignature(verifier, cert_hash), t.top_q, t.uniform);
    EXPECT_EQ(sample.size(), std::min(t.segments, t.top_q + t.uniform));
    bool caught = false;
    for (uint32_t s : sample) caught = caught || faked.count(s) > 0;
    escaped += caught ? 0 : 1;
  }
  return static_cast<double>(escaped) / kTrials;
}

// The allowed distance from the expected escape rate p: kSigmas binomial
// standard deviations, plus 4 trials' worth for the rare-event cases where
// the normal approximation is poor (p * kTrials of a few).
double Bound(double p, int trials = kTrials) {
  return kSigmas * std::sqrt(p * (1 - p) / trials) + 4.0 / trials;
}

TEST(DetectionRate, UniformSamplingEscapesWithOneMinusFToTheS) {
  // n = 1000: the hypergeometric escape is within 0.5% (relative) of
  // (1-f)^s for every case here, well inside the binomial bound.
  const uint32_t n = 1000;
  uint64_t seed = 1;
  for (double f : {0.01, 0.05, 0.2, 0.5}) {
    for (uint32_t s : {1u, 3u, 10u, 30u}) {
      const uint32_t faked = static_cast<uint32_t>(f * n);
      const double measured = MeasuredEscape({n, faked, /*top_q=*/0, /*uniform=*/s, FakeNorms::kLikeHonest}, seed++);
      const double exact = HypergeometricEscape(n, faked, s);
      const double formula = EscapeProbability(f, s);
      SCOPED_TRACE("f = " + std::to_string(f) + ", s = " + std::to_string(s) + ": measured " +
                   std::to_string(measured) + ", (1-f)^s " + std::to_string(formula) + ", exact " +
                   std::to_string(exact));
      EXPECT_LE(exact, formula + 1e-12);  // Without replacement never escapes more often.
      EXPECT_NEAR(measured, exact, Bound(exact));
      EXPECT_NEAR(measured, formula, Bound(formula));
    }
  }
}

TEST(DetectionRate, FewSegmentsFollowTheExactCountNotTheApproximation) {
  // With 20 segments, 5 of them faked, 4 sampled: exact 0.2817,
  // (1-f)^s = 0.3164: the sampler draws without replacement, so the exact
  // figure is what it measures, and (1-f)^s is an upper bound.
  const double measured = MeasuredEscape({20, 5, 0, 4, FakeNorms::kLikeHonest}, 101);
  const double exact = HypergeometricEscape(20, 5, 4);
  EXPECT_NEAR(measured, exact, Bound(exact));
  EXPECT_LT(exact, EscapeProbability(0.25, 4));
}

TEST(DetectionRate, TopQCatchesFakesThatMoveTheWeightsMostEveryTime) {
  uint64_t seed = 200;
  for (uint32_t faked : {1u, 5u, 50u}) {
    for (uint32_t top_q : {1u, 2u}) {
      const double measured = MeasuredEscape({100, faked, top_q, /*uniform=*/3, FakeNorms::kLargest}, seed++);
      EXPECT_EQ(measured, 0.0) << faked << " faked, top_q " << top_q;
    }
  }
}

TEST(DetectionRate, FakesThatMoveTheWeightsLeastFaceOnlyTheUniformPart) {
  // Top-Q replays honest segments; the u uniform draws come from the other
  // n - Q, F of them faked.
  uint64_t seed = 300;
  for (uint32_t faked : {5u, 20u}) {
    const uint32_t n = 100, q = 2, u = 3;
    const double measured = MeasuredEscape({n, faked, q, u, FakeNorms::kSmallest}, seed++);
    const double exact = HypergeometricEscape(n - q, faked, u);
    EXPECT_NEAR(measured, exact, Bound(exact)) << faked << " faked";
    EXPECT_NEAR(measured, EscapeProbability(static_cast<double>(faked) / (n - q), u), Bound(exact));
  }
}

TEST(DetectionRate, FakesWithOrdinaryNormsMeetTopQAsMoreUniformDraws) {
  uint64_t seed = 400;
  for (uint32_t faked : {5u, 20u}) {
    const uint32_t n = 100, q = 2, u = 3;
    const double measured = MeasuredEscape({n, faked, q, u, FakeNorms::kLikeHonest}, seed++);
    const double exact = HypergeometricEscape(n, faked, q + u);
    EXPECT_NEAR(measured, exact, Bound(exact)) << faked << " faked";
  }
}

}  // namespace
}  // namespace cairn::proof
