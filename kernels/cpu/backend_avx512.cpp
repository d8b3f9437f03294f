// The avx512 CPU backend: the generic kernels (impl/*.inc) over Avx512Ops.
// Compiled with its own ISA flags (kernels/CMakeLists.txt); only selected
// when CpuSupports(Backend::kAvx512).
#include <immintrin.h>

#include <cstdint>

#include "cairn/assert.h"
#include "kernels/cpu/table.h"

#define CAIRN_HD inline
namespace cairn::kernels::cpu::avx512 {

// The order of these includes is the order of definition.
// clang-format off
#include "kernels/detail/scalar_ops.inc"
#include "kernels/cpu/avx512_ops.inc"
using S = ScalarOps;
using V = Avx512Ops;
#include "kernels/detail/math.inc"
#include "kernels/detail/formulas.inc"

constexpr const char* kBackendName = "avx512";
// GEMM micro-tiles (rows x vectors): wide 12 x 2, narrow 24 x 1, small
// 12 x 1, sized to the register file, with their relative cost per
// padded output (loads per fma); cache blocks for a 48 KiB L1 / 2 MiB L2 core.
constexpr int kGemmWideMr = 12, kGemmWideNv = 2;
constexpr int kGemmNarrowMr = 24, kGemmNarrowNv = 1;
constexpr int kGemmSmallMr = 12, kGemmSmallNv = 1;
constexpr double kGemmWideCost = 1.0, kGemmNarrowCost = 1.1, kGemmSmallCost = 1.2;
constexpr int64_t kGemmMc = 96, kGemmNc = 1024, kGemmKc = 256;

#include "kernels/cpu/impl/common.inc"
#include "kernels/cpu/impl/gemm.inc"
#include "kernels/cpu/impl/elementwise.inc"
#include "kernels/cpu/impl/rows.inc"
#include "kernels/cpu/impl/conv.inc"
#include "kernels/cpu/impl/table.inc"
// clang-format on

}  // namespace cairn::kernels::cpu::avx512
#undef CAIRN_HD

namespace cairn::kernels::cpu {
const KernelTable& Avx512Table() { return avx512::kTable; }
}  // namespace cairn::kernels::cpu
