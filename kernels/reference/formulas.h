// The shared formulas (detail/*.inc) instantiated for the scalar reference,
// in namespace cairn::kernels::reference.
#pragma once

#include <cstdint>

#include "kernels/types.h"

#define CAIRN_HD inline
namespace cairn::kernels::reference {
// The order of these includes is the order of definition.
// clang-format off
#include "kernels/detail/scalar_ops.inc"
#include "kernels/detail/math.inc"
#include "kernels/detail/formulas.inc"
// clang-format on
using S = ScalarOps;
}  // namespace cairn::kernels::reference
#undef CAIRN_HD
