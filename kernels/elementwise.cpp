#include "kernels/elementwise.h"

#include "cairn/assert.h"
#include "kernels/cpu/parallel.h"

namespace cairn::kernels {
namespace {

// Below this many elements per thread a thread costs more than it saves.
constexpr int64_t kGrainElements = 16384;

int64_t GrainFor(int64_t elements_per_unit) {
  return elements_per_unit >= kGrainElements ? 1 : kGrainElements / (elements_per_unit < 1 ? 1 : elements_per_unit);
}

}  // namespace

void Add(const Exec& exec, const float* a, const float* b, float* out, int64_t n) {
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(n, exec.threads, kGrainElements, [&](int64_t lo, int64_t hi) { t.add(a, b, out, lo, hi); });
}

void Mul(const Exec& exec, const float* a, const float* b, float* out, int64_t n) {
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(n, exec.threads, kGrainElements, [&](int64_t lo, int64_t hi) { t.mul(a, b, out, lo, hi); });
}

void Scale(const Exec& exec, const float* x, float s, float* out, int64_t n) {
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(n, exec.threads, kGrainElements, [&](int64_t lo, int64_t hi) { t.scale(x, s, out, lo, hi); });
}

void AddBiasRows(const Exec& exec, float* y, const float* bias, int64_t rows, int64_t cols) {
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(rows, exec.threads, GrainFor(cols),
                      [&](int64_t lo, int64_t hi) { t.add_bias_rows(y, bias, cols, lo, hi); });
}

void AddBiasChannels(const Exec& exec, float* y, const float* bias, int64_t batch, int64_t channels, int64_t spatial) {
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(batch * channels, exec.threads, GrainFor(spatial),
                      [&](int64_t lo, int64_t hi) { t.add_bias_planes(y, bias, channels, spatial, lo, hi); });
}

void SumRows(const Exec& exec, const float* x, float* out, int64_t rows, int64_t cols) {
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(cols, exec.threads, GrainFor(rows),
                      [&](int64_t lo, int64_t hi) { t.sum_rows(x, out, rows, cols, lo, hi); });
}

void BiasGradChannels(const Exec& exec, const float* dy, float* dbias, int64_t batch, int64_t channels,
                      int64_t spatial) {
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(channels, exec.threads, GrainFor(batch * spatial), [&](int64_t lo, int64_t hi) {
    t.bias_grad_channels(dy, dbias, batch, channels, spatial, lo, hi);
  });
}

void ReluForward(const Exec& exec, const float* x, float* y, int64_t n) {
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(n, exec.threads, kGrainElements, [&](int64_t lo, int64_t hi) { t.relu_forward(x, y, lo, hi); });
}

void ReluBackward(const Exec& exec, const float* y, const float* dy, float* dx, int64_t n) {
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(n, exec.threads, kGrainElements,
                      [&](int64_t lo, int64_t hi) { t.relu_backward(y, dy, dx, lo, hi); });
}

void GeluForward(const Exec& exec, const float* x, float* y, int64_t n) {
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(n, exec.threads, kGrainElements, [&](int64_t lo, int64_t hi) { t.gelu_forward(x, y, lo, hi); });
}

void GeluBackward(const Exec& exec, const float* x, const float* dy, float* dx, int64_t n) {
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(n, exec.threads, kGrainElements,
                      [&](int64_t lo, int64_t hi) { t.gelu_backward(x, dy, dx, lo, hi); });
}

}  // namespace cairn::kernels
