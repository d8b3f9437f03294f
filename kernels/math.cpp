#include "kernels/math.h"

#include "kernels/reference/formulas.h"

namespace cairn::kernels {

float Exp(float x) { return reference::Exp<reference::S>(x); }
float Log(float x) { return reference::Log<reference::S>(x); }
float Erf(float x) { return reference::Erf<reference::S>(x); }

}  // namespace cairn::kernels
