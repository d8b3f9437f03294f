// Step counts, checkpoint counts and the learning-rate schedule: pure
// functions, specified bit for bit in docs/jobs.md ("Learning rate").
//
// LearningRateAt must give the same double on every machine, because solver
// and verifier both feed it to the optimizer. It therefore uses only IEEE-754
// +, -, *, / in a fixed order: no std::pow or std::cos, whose last bit differs
// between libm versions. The library is built with -ffp-contract=off so the
// compiler cannot fuse a*b+c into an FMA on targets that have one.
#include "job/spec.h"

namespace cairn::job {
namespace {

// gamma^n by binary exponentiation: a fixed sequence of multiplications for a
// given n (at most 2 * 64).
double PowerOf(double gamma, uint64_t n) {
  double result = 1.0;
  double base = gamma;
  while (n != 0) {
    if ((n & 1) != 0) result = result * base;
    base = base * base;
    n >>= 1;
  }
  return result;
}

// cos(pi * x) for x in [0, 1], as sin(z) with z = pi * (0.5 - x) in
// [-pi/2, pi/2], by its Taylor series to z^23 evaluated in Horner form. The
// truncation error is below |z|^25 / 25! < 6e-21, far under one ulp of the
// result's scale; the exact digits matter less than that every machine
// computes the same ones.
double CosPi(double x) {
  constexpr double kPi = 3.141592653589793116;  // The double nearest pi.
  const double z = kPi * (0.5 - x);
  const double z2 = z * z;
  // Coefficients (-1)^k / (2k+1)! for k = 11 down to 1.
  constexpr double kCoefficients[] = {
      -1.0 / 25852016738884976640000.0,  // 23!
      1.0 / 51090942171709440000.0,      // 21!
      -1.0 / 121645100408832000.0,       // 19!
      1.0 / 355687428096000.0,           // 17!
      -1.0 / 1307674368000.0,            // 15!
      1.0 / 6227020800.0,                // 13!
      -1.0 / 39916800.0,                 // 11!
      1.0 / 362880.0,                    // 9!
      -1.0 / 5040.0,                     // 7!
      1.0 / 120.0,                       // 5!
      -1.0 / 6.0,                        // 3!
  };
  double sum = 0.0;
  for (double coefficient : kCoefficients) sum = (sum + coefficient) * z2;
  return z + z * sum;
}

}  // namespace

uint64_t ResolvedSteps(const JobSpec& spec, uint64_t dataset_size) {
  if (spec.steps != 0) return spec.steps;
  CAIRN_ASSERT(spec.batch_size >= 1);
  CAIRN_ASSERT(spec.epochs <= kStepsMax && dataset_size <= data::kExamplesMax);
  // epochs * n <= 1e8 * 5e7 < 2^63: no overflow.
  const uint64_t examples = spec.epochs * dataset_size;
  return (examples + spec.batch_size - 1) / spec.batch_size;
}

uint64_t CheckpointCount(const JobSpec& spec, uint64_t total_steps) {
  const uint64_t k = spec.checkpoint_interval;
  CAIRN_ASSERT(k >= 1);
  // Steps 0, k, 2k, ..., floor(T/k)*k, then T itself when k does not divide it.
  return total_steps / k + 1 + (total_steps % k != 0 ? 1 : 0);
}

double LearningRateAt(const JobSpec& spec, uint64_t step, uint64_t total_steps) {
  const double lr = spec.optimizer.learning_rate;
  const ScheduleSpec& s = spec.schedule;
  // Step counts are < 2^53, so these conversions are exact.
  if (step < s.warmup_steps) return lr * static_cast<double>(step) / static_cast<double>(s.warmup_steps);
  const uint64_t since_warmup = step - s.warmup_steps;
  switch (s.kind) {
    case ScheduleKind::kConstant:
      return lr;
    case ScheduleKind::kStep:
      CAIRN_ASSERT(s.step_size >= 1);
      return lr * PowerOf(s.gamma, since_warmup / s.step_size);
    case ScheduleKind::kCosine: {
      const uint64_t decay_steps = total_steps > s.warmup_steps ? total_steps - s.warmup_steps : 0;
      if (since_warmup >= decay_steps) return s.min_learning_rate;
      const double progress = static_cast<double>(since_warmup) / static_cast<double>(decay_steps);
      return s.min_learning_rate + (lr - s.min_learning_rate) * (0.5 * (1.0 + CosPi(progress)));
    }
  }
  CAIRN_ASSERT(false && "schedule.kind not validated");
  return lr;
}

}  // namespace cairn::job
