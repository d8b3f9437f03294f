// The canonical bytes of a model's whole state and of a training checkpoint,
// decoded without libtorch (so verifiers, fuzzers and the node can inspect
// them). Layout: docs/checkpoints.md.
//
//   model file  = "CAIRNMD2", u32 tensor count, per tensor:
//                 string name, u8 role, u8 dtype, u32 rank, i64 dims[rank], raw data (LE)
//   checkpoint  = "CAIRNCK2", u64 step, model file,
//                 u8 optimizer kind, u64 optimizer steps, u32 state tensors per parameter,
//                 per trainable parameter, per state tensor: f32 data of the parameter's shape
//
// Every size read from bytes is checked before it is used: counts against
// named limits, dims against overflow, data lengths against what remains.
// Decoded views point into the input buffer, which must outlive them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cairn/bytes.h"
#include "cairn/status.h"

namespace cairn::proof {

inline constexpr uint32_t kStateTensorsMax = 1'000'000;
inline constexpr uint32_t kTensorRankMax = 8;
inline constexpr size_t kTensorNameBytesMax = 1024;
inline constexpr uint32_t kOptimizerStatePerParameterMax = 4;

// What a tensor is to training. Only parameters are trained (and have
// optimizer state); frozen parameters and buffers are carried unchanged by
// the optimizer, though a model's forward may update buffers (BatchNorm's
// running statistics and counter).
enum class TensorRole : uint8_t { kParameter = 1, kFrozenParameter = 2, kBuffer = 3 };

enum class DType : uint8_t {
  kFloat32 = 1,
  kFloat64 = 2,
  kFloat16 = 3,
  kBFloat16 = 4,
  kInt64 = 5,
  kInt32 = 6,
  kInt16 = 7,
  kInt8 = 8,
  kUInt8 = 9,
  kBool = 10,
};
size_t DTypeBytes(DType dtype);
std::string DTypeName(DType dtype);  // "float32", ... (PyTorch's spelling).
std::string TensorRoleName(TensorRole role);

struct TensorView {
  std::string name;
  TensorRole role = TensorRole::kParameter;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> dims;
  uint64_t numel = 0;
  ByteView data;  // numel * DTypeBytes(dtype) bytes, little-endian, row-major.
};

struct ModelStateView {
  std::vector<TensorView> tensors;
  ByteView encoded;  // The whole model file, magic included (what ModelHash covers).
};

struct CheckpointView {
  uint64_t step = 0;
  ModelStateView model;
  uint8_t optimizer_kind = 0;
  uint64_t optimizer_steps = 0;
  uint32_t state_per_parameter = 0;
  // Per trainable parameter (in model order) and per state tensor: f32 data.
  std::vector<ByteView> optimizer_state;
};

Bytes EncodeModelState(const std::vector<TensorView>& tensors);
Result<ModelStateView> DecodeModelState(ByteView bytes);

Bytes EncodeCheckpoint(uint64_t step, ByteView model_state, uint8_t optimizer_kind, uint64_t optimizer_steps,
                       uint32_t state_per_parameter, const std::vector<ByteView>& optimizer_state);
Result<CheckpointView> DecodeCheckpoint(ByteView bytes);

// Whether two states have the same tensors (names, roles, dtypes, shapes).
Status CheckSameLayout(const ModelStateView& a, const ModelStateView& b);

// TaggedHash("cairn/model/v2", model file): the certificate's final_model_hash.
Hash256 ModelHash(ByteView model_file);

// ‖to − from‖₂ over the trainable parameters (the certificate's update
// norm): each float32 element widened to double, squared differences summed
// sequentially in tensor and element order, then sqrt. A pure function of
// the bytes, so solver and verifier agree bit for bit on any machine.
// Fails when the two checkpoints do not have the same parameters.
Result<double> UpdateNorm(const CheckpointView& from, const CheckpointView& to);

// Relative L2, L-infinity and cosine distance between two model states
// (tolerance mode), over every floating-point tensor (parameters, frozen
// parameters and float buffers) concatenated, computed in double. Integer and
// bool tensors (counters) must be equal: otherwise every distance is
// infinite. Fails when the states do not have the same tensors.
struct StateDistances {
  double l2_relative = 0;
  double linf = 0;
  double cosine_distance = 0;
};
Result<StateDistances> CompareStates(const ModelStateView& replayed, const ModelStateView& committed);

// Whether every floating-point value in the state is finite.
bool AllFinite(const ModelStateView& state, std::string* first_bad_tensor);

}  // namespace cairn::proof
