// The scalar CPU backend: the generic kernels (impl/*.inc) over ScalarOps.

#include <cstdint>

#include "cairn/assert.h"
#include "kernels/cpu/table.h"

#define CAIRN_HD inline
namespace cairn::kernels::cpu::scalar {

// The order of these includes is the order of definition.
// clang-format off
#include "kernels/detail/scalar_ops.inc"

using S = ScalarOps;
using V = ScalarOps;
#include "kernels/detail/math.inc"
#include "kernels/detail/formulas.inc"

constexpr const char* kBackendName = "scalar";
// GEMM micro-tiles (rows x vectors): wide 4 x 4, narrow 8 x 2, small
// 4 x 2, sized to the register file, with their relative cost per
// padded output (loads per fma); cache blocks for a 48 KiB L1 / 2 MiB L2 core.
constexpr int kGemmWideMr = 4, kGemmWideNv = 4;
constexpr int kGemmNarrowMr = 8, kGemmNarrowNv = 2;
constexpr int kGemmSmallMr = 4, kGemmSmallNv = 2;
constexpr double kGemmWideCost = 1.0, kGemmNarrowCost = 1.1, kGemmSmallCost = 1.2;
constexpr int64_t kGemmMc = 96, kGemmNc = 512, kGemmKc = 256;

#include "kernels/cpu/impl/common.inc"
#include "kernels/cpu/impl/gemm.inc"
#include "kernels/cpu/impl/elementwise.inc"
#include "kernels/cpu/impl/rows.inc"
#include "kernels/cpu/impl/conv.inc"
#include "kernels/cpu/impl/table.inc"
// clang-format on

}  // namespace cairn::kernels::cpu::scalar
#undef CAIRN_HD

namespace cairn::kernels::cpu {
const KernelTable& ScalarTable() { return scalar::kTable; }
}  // namespace cairn::kernels::cpu
