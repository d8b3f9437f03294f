#include "proof/forced_checkpoint.h"

#include "proof/model_state.h"

namespace cairn::proof {

Result<Bytes> FlipForcedBit(const Bytes& checkpoint) {
  CAIRN_ASSIGN_OR_RETURN(CheckpointView view, DecodeCheckpoint(ByteView(checkpoint)));
  for (const TensorView& t : view.model.tensors) {
    bool floating = t.dtype == DType::kFloat32 || t.dtype == DType::kFloat64 || t.dtype == DType::kFloat16 ||
                    t.dtype == DType::kBFloat16;
    if (t.role != TensorRole::kParameter || !floating || t.data.size == 0) continue;
    size_t offset = static_cast<size_t>(t.data.data - checkpoint.data());
    Bytes flipped = checkpoint;
    flipped[offset] ^= 1;  // Little-endian: byte 0 holds the lowest mantissa bit.
    return flipped;
  }
  return FailedPrecondition("the checkpoint has no floating-point parameter to make wrong");
}

}  // namespace cairn::proof
