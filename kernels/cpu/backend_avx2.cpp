// The avx2 CPU backend: the generic kernels (impl/*.inc) over Avx2Ops.
// Compiled with its own ISA flags (kernels/CMakeLists.txt); only selected
// when CpuSupports(Backend::kAvx2).
#include <immintrin.h>

#include <cstdint>

#include "cairn/assert.h"
#include "kernels/cpu/table.h"

#define CAIRN_HD inline
namespace cairn::kernels::cpu::avx2 {

// The order of these includes is the order of definition.
// clang-format off
#include "kernels/detail/scalar_ops.inc"
#include "kernels/cpu/avx2_ops.inc"
using S = ScalarOps;
using V = Avx2Ops;
#include "kernels/detail/math.inc"
#include "kernels/detail/formulas.inc"

constexpr const char* kBackendName = "avx2";
// GEMM micro-tiles (rows x vectors): wide 6 x 2, narrow 12 x 1, small
// 6 x 1, sized to the register file, with their relative cost per
// padded output (loads per fma); cache blocks for a 48 KiB L1 / 2 MiB L2 core.
constexpr int kGemmWideMr = 6, kGemmWideNv = 2;
constexpr int kGemmNarrowMr = 12, kGemmNarrowNv = 1;
constexpr int kGemmSmallMr = 6, kGemmSmallNv = 1;
constexpr double kGemmWideCost = 1.0, kGemmNarrowCost = 1.1, kGemmSmallCost = 1.2;
constexpr int64_t kGemmMc = 96, kGemmNc = 1024, kGemmKc = 256;

#include "kernels/cpu/impl/common.inc"
#include "kernels/cpu/impl/gemm.inc"
#include "kernels/cpu/impl/elementwise.inc"
#include "kernels/cpu/impl/rows.inc"
#include "kernels/cpu/impl/conv.inc"
#include "kernels/cpu/impl/table.inc"
// clang-format on

}  // namespace cairn::kernels::cpu::avx2
#undef CAIRN_HD

namespace cairn::kernels::cpu {
const KernelTable& Avx2Table() { return avx2::kTable; }
}  // namespace cairn::kernels::cpu
