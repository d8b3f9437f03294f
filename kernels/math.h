// cairn's own scalar exp, log and erf (docs/kernels.md has the formulas).
// Every backend evaluates exactly these; they are exported for tests and for
// code that needs the same bits outside a kernel.
#pragma once

namespace cairn::kernels {

float Exp(float x);
float Log(float x);
float Erf(float x);

}  // namespace cairn::kernels
