// The forced error's checkpoint (docs/protocol.md, "Forced errors"): the
// honest checkpoint with the lowest bit of its first floating-point
// parameter element flipped. The flip is its own inverse, so the same
// function turns a committed forced checkpoint back into its honest twin,
// which is how the referee checks that nothing else beside it was faked.
#pragma once

#include "cairn/bytes.h"
#include "cairn/status.h"

namespace cairn::proof {

// `checkpoint` (an encoded checkpoint) with that one bit flipped. It decodes
// and replays like any checkpoint. FailedPrecondition when it has no
// floating-point parameter.
Result<Bytes> FlipForcedBit(const Bytes& checkpoint);

}  // namespace cairn::proof
