// Level 2 of the pinpoint protocol (docs/pinpoint.md): the operators of one
// training step as canonical records, the Merkle tree over them, and the
// input blob that lets a referee recompute one operator. Torch-free, so the
// ledger and node sides encode, decode, prove and check blobs without
// libtorch; train/step_trace.h fills records from a traced step and
// recomputes an operator in the sandboxed worker.
//
// A record describes one ATen operator call of the step, at the level the
// tracer records (train/step_trace.h): its name and overload, a descriptor
// of every argument (tensors by dtype, sizes, strides and a hash of their
// values; everything else by a hash of its canonical encoding), the hash of
// the default generator's state if the operator drew random numbers from it,
// and a descriptor of every output (returns, then mutated arguments).
//
// Every decoder here is strict: every count and length is bounded by a
// named limit before anything is allocated, and trailing bytes are refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cairn/bytes.h"
#include "cairn/status.h"

namespace cairn::proof {

inline constexpr uint32_t kOpRecordsPerStepMax = 1'000'000;
// Arguments, outputs, or items of one list argument, of one operator.
inline constexpr uint32_t kOpValuesMax = 100'000;
inline constexpr size_t kOpNameBytesMax = 256;
inline constexpr size_t kOpStringBytesMax = 4096;
inline constexpr uint32_t kOpTensorRankMax = 16;
// An input blob travels in one worker message (sandbox::kMessageBytesMax = 1 GiB).
inline constexpr uint64_t kOpInputsBytesMax = (uint64_t{1} << 30) - (uint64_t{1} << 20);
inline constexpr size_t kGeneratorStateBytesMax = 1 << 16;
// Named step inputs (batch and state tensors) of one step trace.
inline constexpr uint32_t kStepInputsMax = 4'000'000;

// Element types, numbered as ATen's c10::ScalarType (stable across releases).
enum class ScalarCode : uint8_t {
  kUInt8 = 0,
  kInt8 = 1,
  kInt16 = 2,
  kInt32 = 3,
  kInt64 = 4,
  kFloat16 = 5,
  kFloat32 = 6,
  kFloat64 = 7,
  kComplex32 = 8,
  kComplex64 = 9,
  kComplex128 = 10,
  kBool = 11,
  kBFloat16 = 15,
};
// Bytes per element; 0 for a code that is not one of the above.
size_t ScalarCodeBytes(uint8_t code);

// What an operator argument or output is.
enum class ValueKind : uint8_t {
  kNone = 0,
  kTensor = 1,              // One tensor, possibly undefined.
  kTensorList = 2,          // Tensor[]
  kOptionalTensorList = 3,  // Tensor?[] (index): undefined items stand for None.
  kBool = 4,
  kInt = 5,  // int, SymInt, ScalarType, Layout, MemoryFormat.
  kDouble = 6,
  kComplex = 7,
  kString = 8,
  kDevice = 9,
  kIntList = 10,
  kDoubleList = 11,
  kBoolList = 12,
  kGenerator = 13,  // An explicit generator argument: its state.
  kOpaque = 14,     // Anything else: described by its type name, never recomputable.
};
inline constexpr uint8_t kValueKindMax = static_cast<uint8_t>(ValueKind::kOpaque);

// A tensor as a record sees it. `content` is TensorContentHash of its
// values; layout (sizes, strides) is kept because kernels may take other
// paths (and round differently) for other layouts.
struct TensorDescriptor {
  bool defined = true;
  bool wrapped_number = false;  // A scalar ATen wrapped as a 0-dim tensor (it promotes differently).
  uint8_t dtype = static_cast<uint8_t>(ScalarCode::kFloat32);
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  Hash256 content;

  friend bool operator==(const TensorDescriptor&, const TensorDescriptor&) = default;
};

// One argument or output. Tensor kinds carry their tensors' descriptors
// (kTensor exactly one); every other kind carries `value`, the hash of its
// canonical encoding (ValueHash), so a record commits to scalars, lists and
// generator states without holding them.
struct ValueDescriptor {
  ValueKind kind = ValueKind::kNone;
  std::vector<TensorDescriptor> tensors;
  Hash256 value;

  friend bool operator==(const ValueDescriptor&, const ValueDescriptor&) = default;
};

struct OpRecord {
  std::string op;                       // "aten::addmm"
  std::string overload;                 // "" for the default overload, "Tensor", "out", ...
  std::vector<ValueDescriptor> inputs;  // One per schema argument, in order, as they were at the call.
  // GeneratorStateHash of the default CPU generator before the call, when
  // the operator drew from it (dropout's bernoulli_, randn_like's normal_).
  std::optional<Hash256> generator_state;
  std::vector<ValueDescriptor> outputs;  // Returns in order, then every tensor argument the call wrote to, after it.

  friend bool operator==(const OpRecord&, const OpRecord&) = default;
};

// "aten::addmm" or "aten::add_.Tensor".
std::string OpDisplayName(const OpRecord& record);

// TaggedHash("cairn/op-outputs/v1", u32 count, each output's encoding): what
// the referee compares after recomputing the operator.
Hash256 OutputHash(const std::vector<ValueDescriptor>& outputs);
inline Hash256 OutputHash(const OpRecord& record) { return OutputHash(record.outputs); }

Bytes EncodeOpRecord(const OpRecord& record);
Result<OpRecord> DecodeOpRecord(ByteView bytes);
// TaggedHash("cairn/op-record/v1", EncodeOpRecord(record)).
Hash256 OpRecordHash(const OpRecord& record);

// A tensor the step starts from: a batch tensor or a state tensor.
struct NamedTensorDescriptor {
  std::string name;  // "batch.features", "batch.labels", a state tensor's name, "optimizer.<parameter>.<i>".
  TensorDescriptor tensor;
  friend bool operator==(const NamedTensorDescriptor&, const NamedTensorDescriptor&) = default;
};

// The trace of one training step `step` (from the state at `step` to the
// state at step + 1).
struct StepTrace {
  uint64_t step = 0;
  Hash256 state_before;  // CheckpointHash of the snapshot at `step`.
  Hash256 state_after;   // CheckpointHash of the snapshot at step + 1.
  // What the step reads besides its records' outputs: the batch, then
  // every model state tensor, then every optimizer state tensor (the state
  // part is CheckpointStepInputs of the state before).
  std::vector<NamedTensorDescriptor> step_inputs;
  std::vector<OpRecord> records;  // In call order.
};

Bytes EncodeStepTrace(const StepTrace& trace);
Result<StepTrace> DecodeStepTrace(ByteView bytes);

// Leaf j of a trace's tree is MerkleLeafHash(OpRecordHash(record j)); the
// tree is crypto/merkle.h's (RFC 9162 shape).
std::vector<Hash256> RecordLeafHashes(const StepTrace& trace);
Hash256 TraceRoot(const StepTrace& trace);
// Sibling hashes from leaf `index` up to the root. REQUIRES: index < records.size().
std::vector<Hash256> TraceProof(const StepTrace& trace, size_t index);
// Whether `proof` shows `record` is record `index` of a trace of `count`
// records with this root (`count` from the same trusted source as `root`).
bool VerifyRecordProof(const OpRecord& record, size_t index, size_t count, const std::vector<Hash256>& proof,
                       const Hash256& root);

// The first record index at which two traces differ (the shorter length if
// one is a prefix of the other); nullopt if their records are identical.
std::optional<size_t> FirstDifferingRecord(const StepTrace& a, const StepTrace& b);

// Where a tensor a record reads came from: a step input, or an output of an
// earlier record (the latest one), matched by dtype, sizes and content (a
// view's strides are its own). What a referee checks, with Merkle proofs of
// the records named, before it trusts a disputed record's inputs.
struct TensorSource {
  bool step_input = false;
  size_t index = 0;   // Into step_inputs, or the record's index.
  size_t output = 0;  // The record's output (value) index.
  size_t item = 0;    // The tensor's index within that output (lists).
};
// REQUIRES: record < trace.records.size().
std::optional<TensorSource> FindTensorSource(const StepTrace& trace, size_t record, const TensorDescriptor& tensor);

// ---- The input blob of one operator ----
//
//   "CAIRNOI1", string op, string overload, u32 count, per argument: u8 kind, payload,
//   bool has_generator_state, [length-prefixed default generator state]
//   tensor payload = bool defined, then if defined: bool wrapped_number, u8 dtype,
//                    u32 rank, i64 sizes[rank], i64 strides[rank],
//                    the values: numel elements, row-major, little-endian
//   (docs/pinpoint.md lists every kind's payload)
// A tensor's bytes are its values in row-major order whatever its layout,
// so a blob has one encoding and its hash is the record's content hash;
// the strides say how the operator saw it (ScatterToSpan rebuilds that).

// One tensor: its layout and its values. `values` points into memory owned
// elsewhere (the blob, or a tensor the tracer holds).
struct TensorData {
  bool defined = true;
  bool wrapped_number = false;
  uint8_t dtype = static_cast<uint8_t>(ScalarCode::kFloat32);
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  ByteView values;  // numel * ScalarCodeBytes(dtype) bytes, row-major.
};

// One argument with its value. Only the fields of its kind are meaningful.
struct OpValue {
  ValueKind kind = ValueKind::kNone;
  std::vector<TensorData> tensors;  // kTensor: one; lists: the items.
  bool boolean = false;
  int64_t integer = 0;
  double real = 0;
  double imaginary = 0;
  std::string text;         // kString; kOpaque: the type's name.
  uint8_t device_type = 0;  // kDevice: c10::DeviceType.
  int64_t device_index = -1;
  std::vector<int64_t> integers;
  std::vector<double> reals;
  std::vector<bool> booleans;
  ByteView generator_state;  // kGenerator.
};

struct OpInputs {
  std::string op;
  std::string overload;
  std::vector<OpValue> values;
  bool has_generator_state = false;
  ByteView generator_state;  // The default generator's state before the call.
};

// Refuses (InvalidArgument) a value that cannot be encoded (kOpaque) or
// tensors whose data does not match their layout. The result is at most
// kOpInputsBytesMax bytes, else ResourceExhausted.
Result<Bytes> EncodeOpInputs(const OpInputs& inputs);
// Views point into `blob`, which must outlive the result. Bool tensor bytes
// must be 0 or 1.
Result<OpInputs> DecodeOpInputs(ByteView blob);

// The descriptors a record holds for these values: what the tracer records
// and what a blob is checked against (one definition for both).
ValueDescriptor DescribeValue(const OpValue& value);
TensorDescriptor DescribeTensor(const TensorData& tensor);
// TaggedHash("cairn/op-tensor/v1", the tensor's values in row-major
// order, little-endian): the same for any layout holding the same values.
Hash256 TensorContentHash(const TensorData& tensor);
// The memory a tensor of this layout occupies (TensorSpan elements from its
// first one) with its values in place: what the operator was given. Where
// the layout maps several indices to one element (a stride of 0), the last
// value in row-major order is kept. Bytes of the span no index reaches are 0.
// REQUIRES: the tensor is defined and its layout was checked (TensorSpan).
Bytes ScatterToSpan(const TensorData& tensor);
// TaggedHash("cairn/op-generator/v1", state bytes).
Hash256 GeneratorStateHash(ByteView state);

// Whether `inputs` is what `record` describes: the same operator, one value
// per recorded argument with the same descriptor, and the generator state
// the record names. InvalidArgument naming the first mismatch otherwise.
Status CheckOpInputs(const OpRecord& record, const OpInputs& inputs);

// The number of elements the span of a tensor of these sizes and strides
// covers; nullopt for negative sizes or strides, or on overflow past
// `elements_max`.
std::optional<uint64_t> TensorSpan(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides,
                                   uint64_t elements_max);
// Row-major strides for `sizes` (as ATen computes them for a contiguous tensor).
std::vector<int64_t> ContiguousStrides(const std::vector<int64_t>& sizes);

// The state part of StepTrace::step_inputs, from a checkpoint's bytes: every
// model tensor by name, then per trainable parameter and optimizer state
// tensor "optimizer.<parameter>.<i>" (all contiguous). What the referee
// checks a trace's step inputs against, given the agreed checkpoint.
Result<std::vector<NamedTensorDescriptor>> CheckpointStepInputs(ByteView checkpoint);

}  // namespace cairn::proof
