// The CUDA twin (cuda.h): one thread per independent output, each running
// the reference order with the shared formulas. Compiled with --fmad=false
// (kernels/CMakeLists.txt) so plain + - * / stay separate IEEE operations.

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cuda/cuda.h"

#define CAIRN_HD __device__ inline
namespace cairn::kernels::cuda::device {
// The order of these includes is the order of definition.
// clang-format off
#include "kernels/cuda/cuda_ops.inc"
using S = CudaOps;
#include "kernels/detail/math.inc"
#include "kernels/detail/formulas.inc"
// clang-format on

// Rows longer than this many reduction blocks are refused (as on the CPU).
constexpr int64_t kRowBlocksMax = 1024;

// The fixed tree of reduce.h over [0, n) with accumulator step step(acc, i).
template <class Step>
__device__ float TreeReduce(int64_t n, Step step) {
  float partials[kRowBlocksMax];
  int64_t blocks = 0;
  for (int64_t begin = 0; begin < n; begin += kReduceBlockElements) {
    float acc[kReduceLanes];
    for (int lane = 0; lane < kReduceLanes; ++lane) acc[lane] = 0.0f;
    for (int64_t i = begin; i < n && i < begin + kReduceBlockElements; ++i) {
      float& a = acc[(i - begin) % kReduceLanes];
      a = step(a, i);
    }
    partials[blocks++] = PairwiseCombine(acc, kReduceLanes);
  }
  return PairwiseCombine(partials, blocks);
}

__device__ float RowSum(const float* x, int64_t n) {
  return TreeReduce(n, [=](float acc, int64_t i) { return S::Add(acc, x[i]); });
}

__device__ float RowMax(const float* x, int64_t n) {
  float m = S::FromBits(S::SetI(kMinusInfBits));
  for (int64_t i = 0; i < n; ++i) m = S::Max(x[i], m);
  return S::Add(m, 0.0f);
}

__device__ int64_t Index() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }

__global__ void GemmKernel(GemmArgs g) {
  const int64_t id = Index();
  if (id >= g.batch * g.m * g.n) return;
  const int64_t t = id / (g.m * g.n), i = (id / g.n) % g.m, j = id % g.n;
  const float* a = g.a + t * g.a_batch_stride + i * g.a_row_stride;
  const float* b = g.b + t * g.b_batch_stride + j * g.b_col_stride;
  float* c = g.c + t * g.c_batch_stride + i * g.c_row_stride + j * g.c_col_stride;
  float acc = g.accumulate ? *c : 0.0f;
  for (int64_t p = 0; p < g.k; ++p) acc = S::Fma(a[p * g.a_col_stride], b[p * g.b_row_stride], acc);
  *c = acc;
}

enum class Binary { kAdd, kMul };

__global__ void BinaryKernel(Binary op, const float* a, const float* b, float* out, int64_t n) {
  const int64_t i = Index();
  if (i < n) out[i] = op == Binary::kAdd ? S::Add(a[i], b[i]) : S::Mul(a[i], b[i]);
}

__global__ void ScaleKernel(const float* x, float s, float* out, int64_t n) {
  const int64_t i = Index();
  if (i < n) out[i] = S::Mul(x[i], s);
}

enum class Unary { kReluForward, kReluBackward, kGeluForward, kGeluBackward };

__global__ void ActivationKernel(Unary op, const float* x, const float* dy, float* out, int64_t n) {
  const int64_t i = Index();
  if (i >= n) return;
  switch (op) {
    case Unary::kReluForward:
      out[i] = ReluElement<S>(x[i]);
      break;
    case Unary::kReluBackward:
      out[i] = ReluGradElement<S>(x[i], dy[i]);
      break;
    case Unary::kGeluForward:
      out[i] = GeluElement<S>(x[i]);
      break;
    case Unary::kGeluBackward:
      out[i] = GeluGradElement<S>(x[i], dy[i]);
      break;
  }
}

// y[i] += bias[(i / inner) % count].
__global__ void BroadcastAddKernel(float* y, const float* bias, int64_t n, int64_t inner, int64_t count) {
  const int64_t i = Index();
  if (i < n) y[i] = S::Add(y[i], bias[(i / inner) % count]);
}

// y[i] = bias[(i / inner) % count]: the starting value of a chain.
__global__ void BroadcastFillKernel(float* y, const float* bias, int64_t n, int64_t inner, int64_t count) {
  const int64_t i = Index();
  if (i < n) y[i] = bias[(i / inner) % count];
}

__global__ void SumRowsKernel(const float* x, float* out, int64_t rows, int64_t cols) {
  const int64_t j = Index();
  if (j >= cols) return;
  float acc = 0.0f;
  for (int64_t r = 0; r < rows; ++r) acc = S::Add(acc, x[r * cols + j]);
  out[j] = acc;
}

__global__ void BiasGradChannelsKernel(const float* dy, float* dbias, int64_t batch, int64_t channels,
                                       int64_t spatial) {
  const int64_t c = Index();
  if (c >= channels) return;
  float acc = 0.0f;
  for (int64_t n = 0; n < batch; ++n) acc = S::Add(acc, RowSum(dy + (n * channels + c) * spatial, spatial));
  dbias[c] = acc;
}

__global__ void ReduceBlocksKernel(bool squares, const float* x, int64_t n, float* partials, int64_t blocks) {
  const int64_t block = Index();
  if (block >= blocks) return;
  const int64_t begin = block * kReduceBlockElements;
  float acc[kReduceLanes];
  for (int lane = 0; lane < kReduceLanes; ++lane) acc[lane] = 0.0f;
  for (int64_t i = begin; i < n && i < begin + kReduceBlockElements; ++i) {
    float& a = acc[(i - begin) % kReduceLanes];
    a = squares ? S::Fma(x[i], x[i], a) : S::Add(a, x[i]);
  }
  partials[block] = PairwiseCombine(acc, kReduceLanes);
}

__global__ void Im2ColKernel(Conv2dShape s, const float* image, float* col) {
  const int64_t oh = s.OutHeight(), ow = s.OutWidth();
  const int64_t id = Index();
  if (id >= s.ColRows() * oh * ow) return;
  const int64_t row = id / (oh * ow), q = id % (oh * ow);
  const int64_t c = row / (s.kernel_h * s.kernel_w), ki = (row / s.kernel_w) % s.kernel_h, kj = row % s.kernel_w;
  const int64_t h = (q / ow) * s.stride - s.pad + ki, w = (q % ow) * s.stride - s.pad + kj;
  const bool inside = h >= 0 && h < s.height && w >= 0 && w < s.width;
  col[id] = inside ? image[(c * s.height + h) * s.width + w] : 0.0f;
}

// Gather form of col2im: each pixel adds its contributions in increasing
// (ki, kj) order, exactly the order of the reference's scatter.
__global__ void Col2ImKernel(Conv2dShape s, const float* col, float* image) {
  const int64_t oh = s.OutHeight(), ow = s.OutWidth();
  const int64_t id = Index();
  if (id >= s.in_channels * s.height * s.width) return;
  const int64_t c = id / (s.height * s.width), h = (id / s.width) % s.height, w = id % s.width;
  float acc = 0.0f;
  for (int64_t ki = 0; ki < s.kernel_h; ++ki) {
    for (int64_t kj = 0; kj < s.kernel_w; ++kj) {
      const int64_t ys = h + s.pad - ki, xs = w + s.pad - kj;
      if (ys < 0 || xs < 0 || ys % s.stride != 0 || xs % s.stride != 0) continue;
      const int64_t y = ys / s.stride, x = xs / s.stride;
      if (y >= oh || x >= ow) continue;
      acc = S::Add(acc, col[((c * s.kernel_h + ki) * s.kernel_w + kj) * oh * ow + y * ow + x]);
    }
  }
  image[id] = acc;
}

__global__ void MaxPoolForwardKernel(const float* x, float* y, uint8_t* argmax, int64_t planes, int64_t h, int64_t w) {
  const int64_t oh = h / 2, ow = w / 2;
  const int64_t id = Index();
  if (id >= planes * oh * ow) return;
  const int64_t plane = id / (oh * ow), i = (id / ow) % oh, j = id % ow;
  const float* top = x + (plane * h + 2 * i) * w + 2 * j;
  const float window[4] = {top[0], top[1], top[w], top[w + 1]};
  float best = window[0];
  uint8_t at = 0;
  for (uint8_t q = 1; q < 4; ++q) {
    if (window[q] > best || S::IsNan(window[q])) {
      best = window[q];
      at = q;
    }
  }
  y[id] = best;
  argmax[id] = at;
}

__global__ void MaxPoolBackwardKernel(const float* dy, const uint8_t* argmax, float* dx, int64_t planes, int64_t h,
                                      int64_t w) {
  const int64_t oh = h / 2, ow = w / 2;
  const int64_t id = Index();
  if (id >= planes * h * w) return;
  const int64_t plane = id / (h * w), r = (id / w) % h, c = id % w;
  float v = 0.0f;
  if (r / 2 < oh && c / 2 < ow) {
    const int64_t out = (plane * oh + r / 2) * ow + c / 2;
    if (argmax[out] == (r % 2) * 2 + c % 2) v = dy[out];
  }
  dx[id] = v;
}

__global__ void LayerNormForwardKernel(const float* x, const float* gamma, const float* beta, float eps, float* y,
                                       float* mean, float* rstd, int64_t rows, int64_t d) {
  const int64_t r = Index();
  if (r >= rows) return;
  const float* xr = x + r * d;
  float* yr = y + r * d;
  const float mu = S::Div(RowSum(xr, d), static_cast<float>(d));
  for (int64_t j = 0; j < d; ++j) yr[j] = S::Sub(xr[j], mu);
  const float var =
      S::Div(TreeReduce(d, [=](float acc, int64_t j) { return S::Fma(yr[j], yr[j], acc); }), static_cast<float>(d));
  const float rs = S::Div(1.0f, S::Sqrt(S::Add(var, eps)));
  for (int64_t j = 0; j < d; ++j) yr[j] = S::Fma(S::Mul(yr[j], rs), gamma[j], beta[j]);
  mean[r] = mu;
  rstd[r] = rs;
}

__global__ void LayerNormBackwardRowsKernel(const float* x, const float* gamma, const float* mean, const float* rstd,
                                            const float* dy, float* dx, int64_t rows, int64_t d) {
  const int64_t r = Index();
  if (r >= rows) return;
  const float* xr = x + r * d;
  float* gr = dx + r * d;
  const float mu = mean[r], rs = rstd[r];
  for (int64_t j = 0; j < d; ++j) gr[j] = S::Mul(dy[r * d + j], gamma[j]);
  const float a = S::Div(RowSum(gr, d), static_cast<float>(d));
  const float b =
      S::Div(TreeReduce(d, [=](float acc, int64_t j) { return S::Fma(gr[j], S::Mul(S::Sub(xr[j], mu), rs), acc); }),
             static_cast<float>(d));
  for (int64_t j = 0; j < d; ++j) {
    const float xhat = S::Mul(S::Sub(xr[j], mu), rs);
    gr[j] = S::Mul(S::Fnma(xhat, b, S::Sub(gr[j], a)), rs);
  }
}

__global__ void LayerNormBackwardColsKernel(const float* x, const float* mean, const float* rstd, const float* dy,
                                            float* dgamma, float* dbeta, int64_t rows, int64_t d) {
  const int64_t j = Index();
  if (j >= d) return;
  float dg = 0.0f, db = 0.0f;
  for (int64_t r = 0; r < rows; ++r) {
    const float xhat = S::Mul(S::Sub(x[r * d + j], mean[r]), rstd[r]);
    dg = S::Fma(dy[r * d + j], xhat, dg);
    db = S::Add(db, dy[r * d + j]);
  }
  dgamma[j] = dg;
  dbeta[j] = db;
}

__device__ float RowSumExp(const float* xr, float m, int64_t d) {
  return TreeReduce(d, [=](float acc, int64_t j) { return S::Add(acc, Exp<S>(S::Sub(xr[j], m))); });
}

__global__ void SoftmaxForwardKernel(bool log, const float* x, float* y, int64_t rows, int64_t d) {
  const int64_t r = Index();
  if (r >= rows) return;
  const float* xr = x + r * d;
  float* yr = y + r * d;
  const float m = RowMax(xr, d);
  if (log) {
    const float lse = Log<S>(RowSumExp(xr, m, d));
    for (int64_t j = 0; j < d; ++j) yr[j] = S::Sub(S::Sub(xr[j], m), lse);
    return;
  }
  for (int64_t j = 0; j < d; ++j) yr[j] = Exp<S>(S::Sub(xr[j], m));
  const float sum = RowSum(yr, d);
  for (int64_t j = 0; j < d; ++j) yr[j] = S::Div(yr[j], sum);
}

__global__ void SoftmaxBackwardKernel(bool log, const float* y, const float* dy, float* dx, int64_t rows, int64_t d) {
  const int64_t r = Index();
  if (r >= rows) return;
  const float* yr = y + r * d;
  const float* gr = dy + r * d;
  float* out = dx + r * d;
  if (log) {
    const float sum = RowSum(gr, d);
    for (int64_t j = 0; j < d; ++j) out[j] = S::Fnma(Exp<S>(yr[j]), sum, gr[j]);
    return;
  }
  const float dot = TreeReduce(d, [=](float acc, int64_t j) { return S::Fma(gr[j], yr[j], acc); });
  for (int64_t j = 0; j < d; ++j) out[j] = S::Mul(yr[j], S::Sub(gr[j], dot));
}

__global__ void CrossEntropyRowsKernel(const float* logits, const int64_t* labels, float* losses, int64_t rows,
                                       int64_t classes) {
  const int64_t r = Index();
  if (r >= rows) return;
  const float* xr = logits + r * classes;
  const float m = RowMax(xr, classes);
  losses[r] = S::Sub(Log<S>(RowSumExp(xr, m, classes)), S::Sub(xr[labels[r]], m));
}

__global__ void CrossEntropyBackwardKernel(const float* logits, const int64_t* labels, float scale, float* dlogits,
                                           int64_t rows, int64_t classes) {
  const int64_t r = Index();
  if (r >= rows) return;
  const float* xr = logits + r * classes;
  float* gr = dlogits + r * classes;
  const float m = RowMax(xr, classes);
  for (int64_t j = 0; j < classes; ++j) gr[j] = Exp<S>(S::Sub(xr[j], m));
  const float sum = RowSum(gr, classes);
  for (int64_t j = 0; j < classes; ++j) {
    gr[j] = S::Mul(S::Sub(S::Div(gr[j], sum), j == labels[r] ? 1.0f : 0.0f), scale);
  }
}

__global__ void SgdKernel(SgdScalars s, float* param, const float* grad, float* buf, int64_t n) {
  const int64_t i = Index();
  if (i >= n) return;
  float b = buf != nullptr ? buf[i] : 0.0f;
  SgdElement<S>(s, param[i], grad[i], b);
  if (buf != nullptr) buf[i] = b;
}

__global__ void AdamKernel(AdamScalars s, float* param, const float* grad, float* m, float* v, int64_t n) {
  const int64_t i = Index();
  if (i < n) AdamElement<S>(s, param[i], grad[i], m[i], v[i]);
}

}  // namespace cairn::kernels::cuda::device
#undef CAIRN_HD

namespace cairn::kernels::cuda {
namespace {

constexpr int kThreadsPerBlock = 128;

unsigned BlocksFor(int64_t work) { return static_cast<unsigned>((work + kThreadsPerBlock - 1) / kThreadsPerBlock); }

Status Check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  return Internal(std::string("cuda: ") + what + ": " + cudaGetErrorString(e));
}

// Launches fn<<<...>>> over `work` threads and reports launch and execution
// errors (synchronous: these kernels favour clarity over overlap).
template <class Kernel, class... Args>
Status Launch(const char* what, int64_t work, Kernel kernel, Args... args) {
  if (work <= 0) return Status::Ok();
  kernel<<<BlocksFor(work), kThreadsPerBlock>>>(args...);
  CAIRN_RETURN_IF_ERROR(Check(cudaGetLastError(), what));
  return Check(cudaDeviceSynchronize(), what);
}

// The host-side PairwiseCombine (same rule as formulas.inc).
float Combine(std::vector<float>& v) {
  int64_t count = static_cast<int64_t>(v.size());
  if (count == 0) return 0.0f;
  while (count > 1) {
    const int64_t half = count / 2;
    for (int64_t i = 0; i < half; ++i) v[i] = v[2 * i] + v[2 * i + 1];
    if (count % 2 != 0) v[half] = v[count - 1];
    count = half + count % 2;
  }
  return v[0];
}

// Frees a device allocation when it goes out of scope (errors on free are
// dropped: the result being returned already says what went wrong first).
class Scratch {
 public:
  explicit Scratch(float* p) : p_(p) {}
  ~Scratch() { cudaFree(p_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  float* get() const { return p_; }

 private:
  float* p_;
};

}  // namespace

Status DeviceStatus() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return Unavailable(std::string("no usable CUDA device: ") + cudaGetErrorString(e));
  if (count == 0) return Unavailable("no CUDA device");
  return Status::Ok();
}

// Block partials on the device, the pairwise combination on the host.
static Result<float> Reduce(bool squares, const float* x, int64_t n) {
  const int64_t blocks = (n + device::kReduceBlockElements - 1) / device::kReduceBlockElements;
  if (blocks == 0) return 0.0f;
  CAIRN_ASSIGN_OR_RETURN(float* raw, Allocate(blocks));
  Scratch partials(raw);
  CAIRN_RETURN_IF_ERROR(Launch("reduce", blocks, device::ReduceBlocksKernel, squares, x, n, partials.get(), blocks));
  std::vector<float> host(static_cast<size_t>(blocks));
  CAIRN_RETURN_IF_ERROR(Download(host.data(), partials.get(), blocks));
  return Combine(host);
}

Result<float*> Allocate(int64_t floats) {
  void* p = nullptr;
  CAIRN_RETURN_IF_ERROR(Check(cudaMalloc(&p, static_cast<size_t>(floats > 0 ? floats : 1) * sizeof(float)), "malloc"));
  return static_cast<float*>(p);
}
Result<int64_t*> AllocateLabels(int64_t count) {
  void* p = nullptr;
  CAIRN_RETURN_IF_ERROR(Check(cudaMalloc(&p, static_cast<size_t>(count > 0 ? count : 1) * sizeof(int64_t)), "malloc"));
  return static_cast<int64_t*>(p);
}
Result<uint8_t*> AllocateBytes(int64_t count) {
  void* p = nullptr;
  CAIRN_RETURN_IF_ERROR(Check(cudaMalloc(&p, static_cast<size_t>(count > 0 ? count : 1)), "malloc"));
  return static_cast<uint8_t*>(p);
}
Status Free(void* device) { return Check(cudaFree(device), "free"); }
Status Upload(float* device, const float* host, int64_t floats) {
  return Check(cudaMemcpy(device, host, static_cast<size_t>(floats) * sizeof(float), cudaMemcpyHostToDevice), "upload");
}
Status Download(float* host, const float* device, int64_t floats) {
  return Check(cudaMemcpy(host, device, static_cast<size_t>(floats) * sizeof(float), cudaMemcpyDeviceToHost),
               "download");
}
Status UploadLabels(int64_t* device, const int64_t* host, int64_t count) {
  return Check(cudaMemcpy(device, host, static_cast<size_t>(count) * sizeof(int64_t), cudaMemcpyHostToDevice),
               "upload");
}
Status DownloadBytes(uint8_t* host, const uint8_t* device, int64_t count) {
  return Check(cudaMemcpy(host, device, static_cast<size_t>(count), cudaMemcpyDeviceToHost), "download");
}

Status Gemm(const GemmArgs& g) { return Launch("gemm", g.batch * g.m * g.n, device::GemmKernel, g); }
Status Add(const float* a, const float* b, float* out, int64_t n) {
  return Launch("add", n, device::BinaryKernel, device::Binary::kAdd, a, b, out, n);
}
Status Mul(const float* a, const float* b, float* out, int64_t n) {
  return Launch("mul", n, device::BinaryKernel, device::Binary::kMul, a, b, out, n);
}
Status Scale(const float* x, float s, float* out, int64_t n) {
  return Launch("scale", n, device::ScaleKernel, x, s, out, n);
}
Status AddBiasRows(float* y, const float* bias, int64_t rows, int64_t cols) {
  return Launch("bias", rows * cols, device::BroadcastAddKernel, y, bias, rows * cols, int64_t{1}, cols);
}
Status AddBiasChannels(float* y, const float* bias, int64_t batch, int64_t channels, int64_t spatial) {
  return Launch("bias", batch * channels * spatial, device::BroadcastAddKernel, y, bias, batch * channels * spatial,
                spatial, channels);
}
Status SumRows(const float* x, float* out, int64_t rows, int64_t cols) {
  return Launch("sum rows", cols, device::SumRowsKernel, x, out, rows, cols);
}
Status BiasGradChannels(const float* dy, float* dbias, int64_t batch, int64_t channels, int64_t spatial) {
  return Launch("bias grad", channels, device::BiasGradChannelsKernel, dy, dbias, batch, channels, spatial);
}
Status ReluForward(const float* x, float* y, int64_t n) {
  return Launch("relu", n, device::ActivationKernel, device::Unary::kReluForward, x, static_cast<const float*>(nullptr),
                y, n);
}
Status ReluBackward(const float* y, const float* dy, float* dx, int64_t n) {
  return Launch("relu grad", n, device::ActivationKernel, device::Unary::kReluBackward, y, dy, dx, n);
}
Status GeluForward(const float* x, float* y, int64_t n) {
  return Launch("gelu", n, device::ActivationKernel, device::Unary::kGeluForward, x, static_cast<const float*>(nullptr),
                y, n);
}
Status GeluBackward(const float* x, const float* dy, float* dx, int64_t n) {
  return Launch("gelu grad", n, device::ActivationKernel, device::Unary::kGeluBackward, x, dy, dx, n);
}

Status Im2Col(const Conv2dShape& s, const float* image, float* col) {
  return Launch("im2col", s.ColRows() * s.ColCols(), device::Im2ColKernel, s, image, col);
}
Status Col2Im(const Conv2dShape& s, const float* col, float* image) {
  return Launch("col2im", s.in_channels * s.height * s.width, device::Col2ImKernel, s, col, image);
}

Status Conv2dForward(const Conv2dShape& s, const float* x, const float* weight, const float* bias, float* y) {
  const int64_t rows = s.ColRows(), cols = s.ColCols();
  CAIRN_ASSIGN_OR_RETURN(float* raw, Allocate(rows * cols));
  Scratch col(raw);
  for (int64_t n = 0; n < s.batch; ++n) {
    float* out = y + n * s.out_channels * cols;
    CAIRN_RETURN_IF_ERROR(Im2Col(s, x + n * s.in_channels * s.height * s.width, col.get()));
    if (bias != nullptr) {
      // Chains start at the bias: broadcast it into y, then accumulate.
      CAIRN_RETURN_IF_ERROR(Launch("bias fill", s.out_channels * cols, device::BroadcastFillKernel, out, bias,
                                   s.out_channels * cols, cols, s.out_channels));
    }
    GemmArgs g;
    g.m = s.out_channels, g.n = cols, g.k = rows, g.a = weight, g.a_row_stride = rows, g.b = col.get();
    g.b_row_stride = cols, g.c = out, g.c_row_stride = cols, g.accumulate = bias != nullptr;
    CAIRN_RETURN_IF_ERROR(Gemm(g));
  }
  return Status::Ok();
}

Status Conv2dBackward(const Conv2dShape& s, const float* x, const float* weight, const float* dy, float* dx,
                      float* dweight, float* dbias) {
  const int64_t rows = s.ColRows(), cols = s.ColCols(), image = s.in_channels * s.height * s.width;
  CAIRN_ASSIGN_OR_RETURN(float* raw, Allocate(rows * cols));
  Scratch col(raw);
  for (int64_t n = 0; n < s.batch; ++n) {
    const float* g = dy + n * s.out_channels * cols;
    CAIRN_RETURN_IF_ERROR(Im2Col(s, x + n * image, col.get()));
    GemmArgs w;
    w.m = s.out_channels, w.n = rows, w.k = cols, w.a = g, w.a_row_stride = cols, w.b = col.get();
    w.b_row_stride = 1, w.b_col_stride = cols, w.c = dweight, w.c_row_stride = rows, w.accumulate = n > 0;
    CAIRN_RETURN_IF_ERROR(Gemm(w));
    if (dx != nullptr) {
      GemmArgs d;
      d.m = rows, d.n = cols, d.k = s.out_channels, d.a = weight, d.a_row_stride = 1, d.a_col_stride = rows;
      d.b = g, d.b_row_stride = cols, d.c = col.get(), d.c_row_stride = cols;
      CAIRN_RETURN_IF_ERROR(Gemm(d));
      CAIRN_RETURN_IF_ERROR(Col2Im(s, col.get(), dx + n * image));
    }
  }
  return dbias != nullptr ? BiasGradChannels(dy, dbias, s.batch, s.out_channels, cols) : Status::Ok();
}

Status MaxPool2x2Forward(const float* x, float* y, uint8_t* argmax, int64_t planes, int64_t h, int64_t w) {
  return Launch("maxpool", planes * (h / 2) * (w / 2), device::MaxPoolForwardKernel, x, y, argmax, planes, h, w);
}
Status MaxPool2x2Backward(const float* dy, const uint8_t* argmax, float* dx, int64_t planes, int64_t h, int64_t w) {
  return Launch("maxpool grad", planes * h * w, device::MaxPoolBackwardKernel, dy, argmax, dx, planes, h, w);
}

Status LayerNormForward(const float* x, const float* gamma, const float* beta, float eps, float* y, float* mean,
                        float* rstd, int64_t rows, int64_t d) {
  return Launch("layernorm", rows, device::LayerNormForwardKernel, x, gamma, beta, eps, y, mean, rstd, rows, d);
}
Status LayerNormBackward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t d) {
  CAIRN_RETURN_IF_ERROR(
      Launch("layernorm grad", rows, device::LayerNormBackwardRowsKernel, x, gamma, mean, rstd, dy, dx, rows, d));
  return Launch("layernorm grad", d, device::LayerNormBackwardColsKernel, x, mean, rstd, dy, dgamma, dbeta, rows, d);
}
Status SoftmaxForward(const float* x, float* y, int64_t rows, int64_t d) {
  return Launch("softmax", rows, device::SoftmaxForwardKernel, false, x, y, rows, d);
}
Status SoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows, int64_t d) {
  return Launch("softmax grad", rows, device::SoftmaxBackwardKernel, false, y, dy, dx, rows, d);
}
Status LogSoftmaxForward(const float* x, float* y, int64_t rows, int64_t d) {
  return Launch("log-softmax", rows, device::SoftmaxForwardKernel, true, x, y, rows, d);
}
Status LogSoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows, int64_t d) {
  return Launch("log-softmax grad", rows, device::SoftmaxBackwardKernel, true, y, dy, dx, rows, d);
}

Result<float> CrossEntropyForward(const float* logits, const int64_t* labels, int64_t rows, int64_t classes) {
  CAIRN_ASSIGN_OR_RETURN(float* raw, Allocate(rows));
  Scratch losses(raw);
  CAIRN_RETURN_IF_ERROR(
      Launch("cross-entropy", rows, device::CrossEntropyRowsKernel, logits, labels, losses.get(), rows, classes));
  CAIRN_ASSIGN_OR_RETURN(const float sum, Sum(losses.get(), rows));
  return sum / static_cast<float>(rows);
}
Status CrossEntropyBackward(const float* logits, const int64_t* labels, float dloss, float* dlogits, int64_t rows,
                            int64_t classes) {
  const float scale = dloss / static_cast<float>(rows);
  return Launch("cross-entropy grad", rows, device::CrossEntropyBackwardKernel, logits, labels, scale, dlogits, rows,
                classes);
}

Result<float> Sum(const float* x, int64_t n) { return Reduce(false, x, n); }
Result<float> SumSquares(const float* x, int64_t n) { return Reduce(true, x, n); }

Status SgdStep(const SgdScalars& s, float* param, const float* grad, float* momentum_buf, int64_t n) {
  return Launch("sgd", n, device::SgdKernel, s, param, grad, momentum_buf, n);
}
Status AdamStep(const AdamScalars& s, float* param, const float* grad, float* m, float* v, int64_t n) {
  return Launch("adam", n, device::AdamKernel, s, param, grad, m, v, n);
}

}  // namespace cairn::kernels::cuda
