// The avx512 CPU backend: the generic kernels (impl/*.inc) over Avx512Ops.
// Compiled with its own ISA flags (kernels/CMakeLists.txt); only selected
// when CpuSupports(Backend::kAvx512).
#include <immintrin.h>

#include <cstdint>

#include "cairn/assert.h"
#include "kernels/cpu/table.h"

#define CAIRN_HD inline
namespace cairn::kernels::cpu::avx512 {

#include "kernels/detail/scalar_ops.inc"
#include "kernels/cpu/avx512_ops.inc"
using S = ScalarOps;
using V = Avx512Ops;
#include "kernels/detail/math.inc"
#include "kernels/detail/formulas.inc"

constexpr const char* kBackendName = "avx512";
// Micro-tile 12 x 2 vectors; cache blocks for a 48 KiB L1 / 2 MiB L2 core.
constexpr int kGemmMr = 12;
constexpr int kGemmNv = 2;
constexpr int64_t kGemmMc = 96, kGemmNc = 1024, kGemmKc = 256;

#include "kernels/cpu/impl/common.inc"
#include "kernels/cpu/impl/gemm.inc"
#include "kernels/cpu/impl/elementwise.inc"
#include "kernels/cpu/impl/rows.inc"
#include "kernels/cpu/impl/conv.inc"
#include "kernels/cpu/impl/table.inc"

}  // namespace cairn::kernels::cpu::avx512
#undef CAIRN_HD

namespace cairn::kernels::cpu {
const KernelTable& Avx512Table() { return avx512::kTable; }
}  // namespace cairn::kernels::cpu
