#include "kernels/norm.h"

#include <vector>

#include "cairn/assert.h"
#include "kernels/cpu/parallel.h"
#include "kernels/reduce.h"

namespace cairn::kernels {
namespace {

constexpr int64_t kGrainElements = 16384;

int64_t GrainFor(int64_t elements_per_unit) {
  return elements_per_unit >= kGrainElements ? 1 : kGrainElements / (elements_per_unit < 1 ? 1 : elements_per_unit);
}

void CheckRow(int64_t d) { CAIRN_ASSERT(d >= 1 && d <= cpu::kRowBlocksMax * 256); }

}  // namespace

void LayerNormForward(const Exec& exec, const float* x, const float* gamma, const float* beta, float eps, float* y,
                      float* mean, float* rstd, int64_t rows, int64_t d) {
  CheckRow(d);
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(rows, exec.threads, GrainFor(d), [&](int64_t lo, int64_t hi) {
    t.layernorm_forward(x, gamma, beta, eps, y, mean, rstd, d, lo, hi);
  });
}

void LayerNormBackward(const Exec& exec, const float* x, const float* gamma, const float* mean, const float* rstd,
                       const float* dy, float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t d) {
  CheckRow(d);
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(rows, exec.threads, GrainFor(d), [&](int64_t lo, int64_t hi) {
    t.layernorm_backward_rows(x, gamma, mean, rstd, dy, dx, d, lo, hi);
  });
  cpu::ParallelRanges(d, exec.threads, GrainFor(rows), [&](int64_t lo, int64_t hi) {
    t.layernorm_backward_cols(x, mean, rstd, dy, dgamma, dbeta, rows, d, lo, hi);
  });
}

void SoftmaxForward(const Exec& exec, const float* x, float* y, int64_t rows, int64_t d) {
  CheckRow(d);
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(rows, exec.threads, GrainFor(d),
                      [&](int64_t lo, int64_t hi) { t.softmax_forward(x, y, d, lo, hi); });
}

void SoftmaxBackward(const Exec& exec, const float* y, const float* dy, float* dx, int64_t rows, int64_t d) {
  CheckRow(d);
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(rows, exec.threads, GrainFor(d),
                      [&](int64_t lo, int64_t hi) { t.softmax_backward(y, dy, dx, d, lo, hi); });
}

void LogSoftmaxForward(const Exec& exec, const float* x, float* y, int64_t rows, int64_t d) {
  CheckRow(d);
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(rows, exec.threads, GrainFor(d),
                      [&](int64_t lo, int64_t hi) { t.log_softmax_forward(x, y, d, lo, hi); });
}

void LogSoftmaxBackward(const Exec& exec, const float* y, const float* dy, float* dx, int64_t rows, int64_t d) {
  CheckRow(d);
  const auto& t = cpu::TableFor(exec);
  cpu::ParallelRanges(rows, exec.threads, GrainFor(d),
                      [&](int64_t lo, int64_t hi) { t.log_softmax_backward(y, dy, dx, d, lo, hi); });
}

float CrossEntropyForward(const Exec& exec, const float* logits, const int64_t* labels, int64_t rows, int64_t classes) {
  CheckRow(classes);
  CAIRN_ASSERT(rows >= 1);
  const auto& t = cpu::TableFor(exec);
  std::vector<float> losses(static_cast<size_t>(rows));
  cpu::ParallelRanges(rows, exec.threads, GrainFor(classes), [&](int64_t lo, int64_t hi) {
    t.cross_entropy_rows(logits, labels, classes, losses.data(), lo, hi);
  });
  return Sum(exec, losses.data(), rows) / static_cast<float>(rows);
}

void CrossEntropyBackward(const Exec& exec, const float* logits, const int64_t* labels, float dloss, float* dlogits,
                          int64_t rows, int64_t classes) {
  CheckRow(classes);
  CAIRN_ASSERT(rows >= 1);
  const auto& t = cpu::TableFor(exec);
  const float scale = dloss / static_cast<float>(rows);
  cpu::ParallelRanges(rows, exec.threads, GrainFor(classes), [&](int64_t lo, int64_t hi) {
    t.cross_entropy_backward(logits, labels, scale, dlogits, classes, lo, hi);
  });
}

}  // namespace cairn::kernels
