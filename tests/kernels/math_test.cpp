// cairn's own Exp, Log and Erf against the C library in double precision:
// the formulas must be accurate, not just reproducible.

#include "kernels/math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "test_util.h"

namespace cairn::kernels {
namespace {

using testing::UlpDistance;

float FloatFromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Correctly rounded reference: the double result rounded to float.
float Rounded(double v) { return static_cast<float>(v); }

TEST(KernelMath, ExpWithinTwoUlpOverItsRange) {
  int64_t worst = 0;
  float worst_x = 0;
  for (float x = -86.5f; x <= 88.72f; x += 0.000731f) {
    const int64_t d = UlpDistance(Exp(x), Rounded(std::exp(static_cast<double>(x))));
    if (d > worst) worst = d, worst_x = x;
  }
  EXPECT_LE(worst, 2) << "at x = " << worst_x;
}

TEST(KernelMath, ExpSpecialValues) {
  EXPECT_EQ(Exp(0.0f), 1.0f);
  EXPECT_EQ(Exp(-0.0f), 1.0f);
  EXPECT_EQ(Exp(-__builtin_inff()), 0.0f);
  EXPECT_EQ(Exp(__builtin_inff()), __builtin_inff());
  EXPECT_EQ(Exp(89.0f), __builtin_inff());
  EXPECT_EQ(Exp(-87.0f), 0.0f);  // documented: no denormal results
  EXPECT_TRUE(std::isnan(Exp(__builtin_nanf(""))));
  EXPECT_TRUE(std::isfinite(Exp(88.72283172607421875f)));
}

TEST(KernelMath, LogWithinTwoUlpOnEveryBinade) {
  int64_t worst = 0;
  float worst_x = 0;
  // Every 4099th float from the smallest denormal to the largest finite value.
  for (uint32_t u = 1; u < 0x7f800000u; u += 4099) {
    const float x = FloatFromBits(u);
    const int64_t d = UlpDistance(Log(x), Rounded(std::log(static_cast<double>(x))));
    if (d > worst) worst = d, worst_x = x;
  }
  EXPECT_LE(worst, 2) << "at x = " << worst_x;
}

TEST(KernelMath, LogSpecialValues) {
  EXPECT_EQ(Log(1.0f), 0.0f);
  EXPECT_EQ(Log(0.0f), -__builtin_inff());
  EXPECT_EQ(Log(-0.0f), -__builtin_inff());
  EXPECT_EQ(Log(__builtin_inff()), __builtin_inff());
  EXPECT_TRUE(std::isnan(Log(-1.0f)));
  EXPECT_TRUE(std::isnan(Log(__builtin_nanf(""))));
}

TEST(KernelMath, ErfCloseToTheCLibrary) {
  double worst = 0;
  float worst_x = 0;
  for (float x = -6.0f; x <= 6.0f; x += 0.000317f) {
    const double err = std::fabs(static_cast<double>(Erf(x)) - std::erf(static_cast<double>(x)));
    // Relative near 0 (erf(x) ~ 1.13 x), absolute elsewhere.
    const double scaled = err / std::max(1e-3, std::fabs(std::erf(static_cast<double>(x))));
    if (scaled > worst) worst = scaled, worst_x = x;
  }
  EXPECT_LT(worst, 1e-6) << "at x = " << worst_x;
  EXPECT_EQ(Erf(0.0f), 0.0f);
  EXPECT_TRUE(std::isnan(Erf(__builtin_nanf(""))));
}

}  // namespace
}  // namespace cairn::kernels
