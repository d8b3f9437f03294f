// The CUDA twin of the CPU kernels: the same formulas (detail/*.inc) and
// the same per-element order, so results equal the reference bit for bit.
// Every pointer argument is a DEVICE pointer. The host API has no CUDA
// types, so callers need no CUDA headers. Failures of the CUDA runtime (no
// device, launch errors) are Statuses.
//
// Parallelism is one GPU thread per independent output (a C element, a row,
// a column, a plane, a reduction block), each running the reference's
// sequential order with __fmaf_rn / __fadd_rn-equivalent IEEE operations
// (compiled with --fmad=false, IEEE division and sqrt, no flush-to-zero).
// Simple and exact; tuned kernels (shared-memory tiles over independent
// outputs) can replace these without changing the bits.
#pragma once

#include <cstdint>
#include <string>

#include "cairn/status.h"
#include "kernels/types.h"

namespace cairn::kernels::cuda {

// OK when a CUDA device is usable; otherwise why not (no driver, no device).
Status DeviceStatus();

// Device memory helpers for tests and callers without their own allocator.
Result<float*> Allocate(int64_t floats);
Status Free(void* device);
Status Upload(float* device, const float* host, int64_t floats);
Status Download(float* host, const float* device, int64_t floats);
Result<int64_t*> AllocateLabels(int64_t count);
Status UploadLabels(int64_t* device, const int64_t* host, int64_t count);
Result<uint8_t*> AllocateBytes(int64_t count);
Status DownloadBytes(uint8_t* host, const uint8_t* device, int64_t count);

Status Gemm(const GemmArgs& args);
Status Add(const float* a, const float* b, float* out, int64_t n);
Status Mul(const float* a, const float* b, float* out, int64_t n);
Status Scale(const float* x, float s, float* out, int64_t n);
Status AddBiasRows(float* y, const float* bias, int64_t rows, int64_t cols);
Status AddBiasChannels(float* y, const float* bias, int64_t batch, int64_t channels, int64_t spatial);
Status SumRows(const float* x, float* out, int64_t rows, int64_t cols);
Status BiasGradChannels(const float* dy, float* dbias, int64_t batch, int64_t channels, int64_t spatial);
Status ReluForward(const float* x, float* y, int64_t n);
Status ReluBackward(const float* y, const float* dy, float* dx, int64_t n);
Status GeluForward(const float* x, float* y, int64_t n);
Status GeluBackward(const float* x, const float* dy, float* dx, int64_t n);

Status Im2Col(const Conv2dShape& s, const float* image, float* col);
Status Col2Im(const Conv2dShape& s, const float* col, float* image);
Status Conv2dForward(const Conv2dShape& s, const float* x, const float* weight, const float* bias, float* y);
Status Conv2dBackward(const Conv2dShape& s, const float* x, const float* weight, const float* dy, float* dx,
                      float* dweight, float* dbias);
Status MaxPool2x2Forward(const float* x, float* y, uint8_t* argmax, int64_t planes, int64_t h, int64_t w);
Status MaxPool2x2Backward(const float* dy, const uint8_t* argmax, float* dx, int64_t planes, int64_t h, int64_t w);

Status LayerNormForward(const float* x, const float* gamma, const float* beta, float eps, float* y, float* mean,
                        float* rstd, int64_t rows, int64_t d);
Status LayerNormBackward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t d);
Status SoftmaxForward(const float* x, float* y, int64_t rows, int64_t d);
Status SoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows, int64_t d);
Status LogSoftmaxForward(const float* x, float* y, int64_t rows, int64_t d);
Status LogSoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows, int64_t d);
// The loss is returned to the host.
Result<float> CrossEntropyForward(const float* logits, const int64_t* labels, int64_t rows, int64_t classes);
Status CrossEntropyBackward(const float* logits, const int64_t* labels, float dloss, float* dlogits, int64_t rows,
                            int64_t classes);

// Results returned to the host.
Result<float> Sum(const float* x, int64_t n);
Result<float> SumSquares(const float* x, int64_t n);

Status SgdStep(const SgdScalars& s, float* param, const float* grad, float* momentum_buf, int64_t n);
Status AdamStep(const AdamScalars& s, float* param, const float* grad, float* m, float* v, int64_t n);

}  // namespace cairn::kernels::cuda
