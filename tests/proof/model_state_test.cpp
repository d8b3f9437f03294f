// proof::AllFinite, which the solver's checkpoint writer runs on every
// checkpoint: every non-finite value in every floating-point dtype is found,
// wherever it is, and no finite one is mistaken for it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "proof/model_state.h"

namespace cairn::proof {
namespace {

template <typename T>
TensorView View(const std::string& name, DType dtype, const std::vector<T>& values) {
  TensorView t;
  t.name = name;
  t.role = TensorRole::kBuffer;
  t.dtype = dtype;
  t.dims = {static_cast<int64_t>(values.size())};
  t.numel = values.size();
  t.data = ByteView(reinterpret_cast<const uint8_t*>(values.data()), values.size() * sizeof(T));
  return t;
}

TEST(AllFinite, FindsEveryNonFiniteFloat32AtEveryPosition) {
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::signaling_NaN(),
                            std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::quiet_NaN()};
  for (size_t n : {1, 7, 64, 1001}) {
    for (size_t at = 0; at < n; at += (n > 64 ? 97 : 1)) {
      for (float special : specials) {
        std::vector<float> values(n, 1.5f);
        values[at] = special;
        std::vector<float> fine = {0.0f, -0.0f};
        ModelStateView state;
        state.tensors = {View("fine", DType::kFloat32, fine), View("w", DType::kFloat32, values)};
        std::string bad;
        EXPECT_FALSE(AllFinite(state, &bad)) << n << " floats, non-finite at " << at;
        EXPECT_EQ(bad, "w");
      }
    }
  }
}

TEST(AllFinite, AcceptsEveryKindOfFiniteValue) {
  std::vector<float> f32 = {0.0f, -0.0f, std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::min(), std::numeric_limits<float>::denorm_min(), 1e-40f,
                            -3.25f};
  std::vector<double> f64 = {std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min(), -1.0};
  std::vector<int32_t> ints = {-1, 0x7f800000, 0x7fc00000};  // NaN bit patterns in an integer tensor are numbers.
  ModelStateView state;
  state.tensors = {View("a", DType::kFloat32, f32), View("b", DType::kFloat64, f64), View("c", DType::kInt32, ints)};
  std::string bad;
  EXPECT_TRUE(AllFinite(state, &bad)) << bad;
}

TEST(AllFinite, FindsNonFiniteFloat64AndFloat16) {
  std::vector<double> f64 = {1.0, std::numeric_limits<double>::infinity()};
  std::vector<uint16_t> f16 = {0x3c00, 0x7c00};  // 1.0, +inf.
  std::string bad;
  ModelStateView doubles;
  doubles.tensors = {View("d", DType::kFloat64, f64)};
  EXPECT_FALSE(AllFinite(doubles, &bad));
  EXPECT_EQ(bad, "d");
  ModelStateView halves;
  halves.tensors = {View("h", DType::kFloat16, f16)};
  EXPECT_FALSE(AllFinite(halves, &bad));
  EXPECT_EQ(bad, "h");
}

}  // namespace
}  // namespace cairn::proof
