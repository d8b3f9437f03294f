// The shared formulas (detail/*.inc) instantiated for the scalar reference,
// in namespace cairn::kernels::reference.
#pragma once

#include <cstdint>

#include "kernels/types.h"

#define CAIRN_HD inline
namespace cairn::kernels::reference {
#include "kernels/detail/scalar_ops.inc"
#include "kernels/detail/math.inc"
#include "kernels/detail/formulas.inc"
using S = ScalarOps;
}  // namespace cairn::kernels::reference
#undef CAIRN_HD
