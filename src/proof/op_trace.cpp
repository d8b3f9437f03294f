#include "proof/op_trace.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "crypto/hash.h"
#include "crypto/merkle.h"
#include "proof/model_state.h"
#include "util/codec.h"

namespace cairn::proof {
namespace {

constexpr char kOpInputsMagic[] = "CAIRNOI1";
constexpr size_t kMagicBytes = 8;
constexpr uint8_t kStepTraceVersion = 1;
constexpr uint8_t kDeviceIndexMax = 127;

bool IsTensorKind(ValueKind kind) {
  return kind == ValueKind::kTensor || kind == ValueKind::kTensorList || kind == ValueKind::kOptionalTensorList;
}

void WriteTensorDescriptor(util::Writer& w, const TensorDescriptor& t) {
  w.Bool(t.defined);
  if (!t.defined) return;
  w.Bool(t.wrapped_number);
  w.U8(t.dtype);
  w.U32(static_cast<uint32_t>(t.sizes.size()));
  for (int64_t s : t.sizes) w.I64(s);
  for (int64_t s : t.strides) w.I64(s);
  w.Hash(t.content);
}

void WriteValueDescriptor(util::Writer& w, const ValueDescriptor& v) {
  w.U8(static_cast<uint8_t>(v.kind));
  if (v.kind == ValueKind::kTensor) {
    CAIRN_ASSERT(v.tensors.size() == 1);
    WriteTensorDescriptor(w, v.tensors[0]);
  } else if (IsTensorKind(v.kind)) {
    w.U32(static_cast<uint32_t>(v.tensors.size()));
    for (const TensorDescriptor& t : v.tensors) WriteTensorDescriptor(w, t);
  } else {
    w.Hash(v.value);
  }
}

void WriteValueDescriptors(util::Writer& w, const std::vector<ValueDescriptor>& values) {
  w.U32(static_cast<uint32_t>(values.size()));
  for (const ValueDescriptor& v : values) WriteValueDescriptor(w, v);
}

void WriteRecord(util::Writer& w, const OpRecord& r) {
  w.String(r.op);
  w.String(r.overload);
  WriteValueDescriptors(w, r.inputs);
  w.Bool(r.generator_state.has_value());
  if (r.generator_state) w.Hash(*r.generator_state);
  WriteValueDescriptors(w, r.outputs);
}

TensorDescriptor ReadTensorDescriptor(util::Reader& r) {
  TensorDescriptor t;
  t.defined = r.Bool();
  if (!r.ok() || !t.defined) return t;
  t.wrapped_number = r.Bool();
  t.dtype = r.U8();
  if (r.ok() && ScalarCodeBytes(t.dtype) == 0) r.Fail("unknown tensor element type " + std::to_string(t.dtype));
  const uint32_t rank = r.U32();
  if (r.ok() && rank > kOpTensorRankMax) r.Fail("tensor of rank " + std::to_string(rank));
  if (!r.ok()) return t;
  for (uint32_t d = 0; d < rank && r.ok(); ++d) t.sizes.push_back(r.I64());
  for (uint32_t d = 0; d < rank && r.ok(); ++d) t.strides.push_back(r.I64());
  for (uint32_t d = 0; d < rank && r.ok(); ++d) {
    if (t.sizes[d] < 0 || t.strides[d] < 0) r.Fail("tensor with a negative size or stride");
  }
  t.content = r.Hash();
  return t;
}

ValueDescriptor ReadValueDescriptor(util::Reader& r) {
  ValueDescriptor v;
  const uint8_t kind = r.U8();
  if (r.ok() && kind > kValueKindMax) r.Fail("unknown value kind " + std::to_string(kind));
  if (!r.ok()) return v;
  v.kind = static_cast<ValueKind>(kind);
  if (v.kind == ValueKind::kTensor) {
    v.tensors.push_back(ReadTensorDescriptor(r));
  } else if (IsTensorKind(v.kind)) {
    const uint32_t n = r.ListLength(kOpValuesMax);
    for (uint32_t i = 0; i < n && r.ok(); ++i) v.tensors.push_back(ReadTensorDescriptor(r));
  } else {
    v.value = r.Hash();
  }
  return v;
}

std::vector<ValueDescriptor> ReadValueDescriptors(util::Reader& r) {
  std::vector<ValueDescriptor> values;
  const uint32_t n = r.ListLength(kOpValuesMax);
  for (uint32_t i = 0; i < n && r.ok(); ++i) values.push_back(ReadValueDescriptor(r));
  return values;
}

OpRecord ReadRecord(util::Reader& r) {
  OpRecord record;
  record.op = r.String(kOpNameBytesMax);
  record.overload = r.String(kOpNameBytesMax);
  record.inputs = ReadValueDescriptors(r);
  if (r.Bool()) record.generator_state = r.Hash();
  record.outputs = ReadValueDescriptors(r);
  return record;
}

// The payload of a non-tensor value: what its hash covers and what the blob holds.
void WriteScalarPayload(util::Writer& w, const OpValue& v) {
  switch (v.kind) {
    case ValueKind::kNone:
      break;
    case ValueKind::kBool:
      w.Bool(v.boolean);
      break;
    case ValueKind::kInt:
      w.I64(v.integer);
      break;
    case ValueKind::kDouble:
      w.F64(v.real);
      break;
    case ValueKind::kComplex:
      w.F64(v.real);
      w.F64(v.imaginary);
      break;
    case ValueKind::kString:
    case ValueKind::kOpaque:
      w.String(v.text);
      break;
    case ValueKind::kDevice:
      w.U8(v.device_type);
      w.I64(v.device_index);
      break;
    case ValueKind::kIntList:
      w.U32(static_cast<uint32_t>(v.integers.size()));
      for (int64_t i : v.integers) w.I64(i);
      break;
    case ValueKind::kDoubleList:
      w.U32(static_cast<uint32_t>(v.reals.size()));
      for (double d : v.reals) w.F64(d);
      break;
    case ValueKind::kBoolList:
      w.U32(static_cast<uint32_t>(v.booleans.size()));
      for (bool b : v.booleans) w.Bool(b);
      break;
    case ValueKind::kGenerator:
      w.LengthPrefixed(v.generator_state);
      break;
    case ValueKind::kTensor:
    case ValueKind::kTensorList:
    case ValueKind::kOptionalTensorList:
      CAIRN_ASSERT(false);
  }
}

// A u32-length-prefixed field, viewed in place.
ByteView ReadPrefixedView(util::Reader& r, ByteView in, size_t bytes_max, const char* what) {
  const uint32_t n = r.U32();
  if (!r.ok()) return {};
  if (n > bytes_max || n > r.remaining()) {
    r.Fail(std::string(what) + " of " + std::to_string(n) + " bytes");
    return {};
  }
  const size_t at = r.offset();
  r.Skip(n);
  return ByteView(in.data + at, n);
}

void ReadScalarPayload(util::Reader& r, ByteView in, OpValue* v) {
  switch (v->kind) {
    case ValueKind::kNone:
      break;
    case ValueKind::kBool:
      v->boolean = r.Bool();
      break;
    case ValueKind::kInt:
      v->integer = r.I64();
      break;
    case ValueKind::kDouble:
      v->real = r.F64();
      break;
    case ValueKind::kComplex:
      v->real = r.F64();
      v->imaginary = r.F64();
      break;
    case ValueKind::kString:
      v->text = r.String(kOpStringBytesMax);
      break;
    case ValueKind::kDevice:
      v->device_type = r.U8();
      v->device_index = r.I64();
      if (r.ok() && (v->device_index < -1 || v->device_index > kDeviceIndexMax)) r.Fail("device index out of range");
      break;
    case ValueKind::kIntList: {
      const uint32_t n = r.ListLength(kOpValuesMax);
      for (uint32_t i = 0; i < n && r.ok(); ++i) v->integers.push_back(r.I64());
      break;
    }
    case ValueKind::kDoubleList: {
      const uint32_t n = r.ListLength(kOpValuesMax);
      for (uint32_t i = 0; i < n && r.ok(); ++i) v->reals.push_back(r.F64());
      break;
    }
    case ValueKind::kBoolList: {
      const uint32_t n = r.ListLength(kOpValuesMax);
      for (uint32_t i = 0; i < n && r.ok(); ++i) v->booleans.push_back(r.Bool());
      break;
    }
    case ValueKind::kGenerator:
      v->generator_state = ReadPrefixedView(r, in, kGeneratorStateBytesMax, "generator state");
      break;
    case ValueKind::kOpaque:
      r.Fail("an argument cairn cannot encode");
      break;
    case ValueKind::kTensor:
    case ValueKind::kTensorList:
    case ValueKind::kOptionalTensorList:
      CAIRN_ASSERT(false);
  }
}

uint64_t Numel(const std::vector<int64_t>& sizes) {
  uint64_t numel = 1;
  for (int64_t s : sizes) numel *= static_cast<uint64_t>(s);
  return numel;
}

Status CheckTensorData(const TensorData& t) {
  if (!t.defined) return Status::Ok();
  const size_t element_bytes = ScalarCodeBytes(t.dtype);
  if (element_bytes == 0) return InvalidArgument("unknown tensor element type " + std::to_string(t.dtype));
  if (t.sizes.size() > kOpTensorRankMax || t.strides.size() != t.sizes.size()) {
    return InvalidArgument("tensor of rank " + std::to_string(t.sizes.size()) + " with " +
                           std::to_string(t.strides.size()) + " strides");
  }
  if (!TensorSpan(t.sizes, t.strides, kOpInputsBytesMax / element_bytes) ||
      !TensorSpan(t.sizes, ContiguousStrides(t.sizes), kOpInputsBytesMax / element_bytes) ||
      t.values.size != Numel(t.sizes) * element_bytes) {
    return InvalidArgument("tensor values do not match its sizes and strides");
  }
  if (t.wrapped_number && !t.sizes.empty()) return InvalidArgument("a wrapped number that is not 0-dimensional");
  return Status::Ok();
}

void WriteTensorData(util::Writer& w, const TensorData& t) {
  w.Bool(t.defined);
  if (!t.defined) return;
  w.Bool(t.wrapped_number);
  w.U8(t.dtype);
  w.U32(static_cast<uint32_t>(t.sizes.size()));
  for (int64_t s : t.sizes) w.I64(s);
  for (int64_t s : t.strides) w.I64(s);
  w.Raw(t.values);
}

TensorData ReadTensorData(util::Reader& r, ByteView in) {
  TensorData t;
  t.defined = r.Bool();
  if (!r.ok() || !t.defined) return t;
  t.wrapped_number = r.Bool();
  t.dtype = r.U8();
  const size_t element_bytes = ScalarCodeBytes(t.dtype);
  if (r.ok() && element_bytes == 0) r.Fail("unknown tensor element type " + std::to_string(t.dtype));
  const uint32_t rank = r.U32();
  if (r.ok() && rank > kOpTensorRankMax) r.Fail("tensor of rank " + std::to_string(rank));
  if (!r.ok()) return t;
  for (uint32_t d = 0; d < rank && r.ok(); ++d) t.sizes.push_back(r.I64());
  for (uint32_t d = 0; d < rank && r.ok(); ++d) t.strides.push_back(r.I64());
  if (!r.ok()) return t;
  // The values must be in the blob, and the memory the layout spans (what
  // a recompute allocates) within the blob limit.
  auto numel = TensorSpan(t.sizes, ContiguousStrides(t.sizes), r.remaining() / element_bytes);
  if (!numel) {
    r.Fail("tensor with a negative size, or larger than the bytes that remain");
    return t;
  }
  if (!TensorSpan(t.sizes, t.strides, kOpInputsBytesMax / element_bytes)) {
    r.Fail("tensor with a negative stride, or spanning more memory than an input blob may");
    return t;
  }
  if (t.wrapped_number && rank != 0) {
    r.Fail("a wrapped number that is not 0-dimensional");
    return t;
  }
  const size_t bytes = *numel * element_bytes;
  t.values = ByteView(in.data + r.offset(), bytes);
  r.Skip(bytes);
  if (r.ok() && t.dtype == static_cast<uint8_t>(ScalarCode::kBool)) {
    for (size_t i = 0; i < bytes; ++i) {
      if (t.values.data[i] > 1) {
        r.Fail("a bool tensor holds a byte other than 0 or 1");
        break;
      }
    }
  }
  return t;
}

// Matches proof::DType (checkpoints) to ATen's codes.
uint8_t ScalarCodeOf(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return static_cast<uint8_t>(ScalarCode::kFloat32);
    case DType::kFloat64:
      return static_cast<uint8_t>(ScalarCode::kFloat64);
    case DType::kFloat16:
      return static_cast<uint8_t>(ScalarCode::kFloat16);
    case DType::kBFloat16:
      return static_cast<uint8_t>(ScalarCode::kBFloat16);
    case DType::kInt64:
      return static_cast<uint8_t>(ScalarCode::kInt64);
    case DType::kInt32:
      return static_cast<uint8_t>(ScalarCode::kInt32);
    case DType::kInt16:
      return static_cast<uint8_t>(ScalarCode::kInt16);
    case DType::kInt8:
      return static_cast<uint8_t>(ScalarCode::kInt8);
    case DType::kUInt8:
      return static_cast<uint8_t>(ScalarCode::kUInt8);
    case DType::kBool:
      return static_cast<uint8_t>(ScalarCode::kBool);
  }
  CAIRN_ASSERT(false);
  return 0;
}

TensorDescriptor ContiguousDescriptor(uint8_t dtype, const std::vector<int64_t>& dims, ByteView data) {
  TensorData t;
  t.dtype = dtype;
  t.sizes = dims;
  t.strides = ContiguousStrides(dims);
  t.values = data;
  return DescribeTensor(t);
}

}  // namespace

size_t ScalarCodeBytes(uint8_t code) {
  switch (static_cast<ScalarCode>(code)) {
    case ScalarCode::kUInt8:
    case ScalarCode::kInt8:
    case ScalarCode::kBool:
      return 1;
    case ScalarCode::kInt16:
    case ScalarCode::kFloat16:
    case ScalarCode::kBFloat16:
      return 2;
    case ScalarCode::kInt32:
    case ScalarCode::kFloat32:
    case ScalarCode::kComplex32:
      return 4;
    case ScalarCode::kInt64:
    case ScalarCode::kFloat64:
    case ScalarCode::kComplex64:
      return 8;
    case ScalarCode::kComplex128:
      return 16;
  }
  return 0;
}

std::string OpDisplayName(const OpRecord& record) {
  return record.overload.empty() ? record.op : record.op + "." + record.overload;
}

std::optional<uint64_t> TensorSpan(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides,
                                   uint64_t elements_max) {
  if (sizes.size() != strides.size()) return std::nullopt;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] < 0 || strides[d] < 0) return std::nullopt;
  }
  for (int64_t s : sizes) {
    if (s == 0) return 0;
  }
  uint64_t last = 0;  // Offset of the last element reached.
  for (size_t d = 0; d < sizes.size(); ++d) {
    const uint64_t steps = static_cast<uint64_t>(sizes[d] - 1);
    const uint64_t stride = static_cast<uint64_t>(strides[d]);
    if (steps != 0 && stride > (elements_max - last) / steps) return std::nullopt;
    last += steps * stride;
    if (last >= elements_max) return std::nullopt;
  }
  if (last + 1 > elements_max) return std::nullopt;
  return last + 1;
}

std::vector<int64_t> ContiguousStrides(const std::vector<int64_t>& sizes) {
  // Saturates at INT64_MAX: the sizes may come from a hostile blob before
  // they are checked, and a saturated stride then fails TensorSpan.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<int64_t> strides(sizes.size());
  int64_t stride = 1;
  for (size_t d = sizes.size(); d-- > 0;) {
    strides[d] = stride;
    const int64_t s = std::max<int64_t>(sizes[d], 1);
    stride = stride > kMax / s ? kMax : stride * s;
  }
  return strides;
}

Hash256 TensorContentHash(const TensorData& t) {
  CAIRN_ASSERT(t.defined);
  CAIRN_ASSERT(t.values.size == Numel(t.sizes) * ScalarCodeBytes(t.dtype));
  return crypto::TaggedHash("cairn/op-tensor/v1", t.values);
}

Bytes ScatterToSpan(const TensorData& t) {
  CAIRN_ASSERT(t.defined);
  const size_t element_bytes = ScalarCodeBytes(t.dtype);
  auto span = TensorSpan(t.sizes, t.strides, UINT64_MAX / element_bytes);
  CAIRN_ASSERT(span.has_value() && t.values.size == Numel(t.sizes) * element_bytes);
  Bytes out(*span * element_bytes, 0);
  const uint64_t numel = Numel(t.sizes);
  if (numel == 0) return out;
  const size_t rank = t.sizes.size();
  if (rank == 0) {
    std::memcpy(out.data(), t.values.data, element_bytes);
    return out;
  }
  // Walk the indices in row-major order (the order of `values`), keeping
  // the element offset each one maps to.
  const int64_t inner_size = t.sizes[rank - 1];
  const uint64_t inner_stride = static_cast<uint64_t>(t.strides[rank - 1]);
  std::vector<int64_t> index(rank - 1, 0);
  uint64_t offset = 0;
  const uint8_t* from = t.values.data;
  for (;;) {
    if (inner_stride == 1) {
      std::memcpy(out.data() + offset * element_bytes, from, static_cast<size_t>(inner_size) * element_bytes);
      from += static_cast<size_t>(inner_size) * element_bytes;
    } else {
      for (int64_t k = 0; k < inner_size; ++k) {
        std::memcpy(out.data() + (offset + static_cast<uint64_t>(k) * inner_stride) * element_bytes, from,
                    element_bytes);
        from += element_bytes;
      }
    }
    size_t d = rank - 1;
    while (d-- > 0) {
      index[d]++;
      offset += static_cast<uint64_t>(t.strides[d]);
      if (index[d] < t.sizes[d]) break;
      offset -= static_cast<uint64_t>(t.strides[d]) * static_cast<uint64_t>(t.sizes[d]);
      index[d] = 0;
    }
    if (d == static_cast<size_t>(-1)) break;
  }
  CAIRN_ASSERT(from == t.values.data + t.values.size);
  return out;
}

Hash256 GeneratorStateHash(ByteView state) { return crypto::TaggedHash("cairn/op-generator/v1", state); }

TensorDescriptor DescribeTensor(const TensorData& t) {
  TensorDescriptor d;
  d.defined = t.defined;
  if (!t.defined) return d;
  d.wrapped_number = t.wrapped_number;
  d.dtype = t.dtype;
  d.sizes = t.sizes;
  d.strides = t.strides;
  d.content = TensorContentHash(t);
  return d;
}

ValueDescriptor DescribeValue(const OpValue& v) {
  ValueDescriptor d;
  d.kind = v.kind;
  if (IsTensorKind(v.kind)) {
    for (const TensorData& t : v.tensors) d.tensors.push_back(DescribeTensor(t));
    return d;
  }
  util::Writer w;
  w.U8(static_cast<uint8_t>(v.kind));
  WriteScalarPayload(w, v);
  d.value = crypto::TaggedHash("cairn/op-value/v1", w.bytes());
  return d;
}

Hash256 OutputHash(const std::vector<ValueDescriptor>& outputs) {
  util::Writer w;
  WriteValueDescriptors(w, outputs);
  return crypto::TaggedHash("cairn/op-outputs/v1", w.bytes());
}

Bytes EncodeOpRecord(const OpRecord& record) {
  util::Writer w;
  WriteRecord(w, record);
  return w.Take();
}

Result<OpRecord> DecodeOpRecord(ByteView bytes) {
  util::Reader r(bytes);
  OpRecord record = ReadRecord(r);
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("operator record"));
  return record;
}

Hash256 OpRecordHash(const OpRecord& record) {
  return crypto::TaggedHash("cairn/op-record/v1", EncodeOpRecord(record));
}

Bytes EncodeStepTrace(const StepTrace& trace) {
  util::Writer w;
  w.U8(kStepTraceVersion);
  w.U64(trace.step);
  w.Hash(trace.state_before);
  w.Hash(trace.state_after);
  w.U32(static_cast<uint32_t>(trace.step_inputs.size()));
  for (const NamedTensorDescriptor& input : trace.step_inputs) {
    w.String(input.name);
    WriteTensorDescriptor(w, input.tensor);
  }
  w.U32(static_cast<uint32_t>(trace.records.size()));
  for (const OpRecord& record : trace.records) WriteRecord(w, record);
  return w.Take();
}

Result<StepTrace> DecodeStepTrace(ByteView bytes) {
  util::Reader r(bytes);
  StepTrace trace;
  const uint8_t version = r.U8();
  if (r.ok() && version != kStepTraceVersion) r.Fail("step trace version " + std::to_string(version));
  trace.step = r.U64();
  trace.state_before = r.Hash();
  trace.state_after = r.Hash();
  const uint32_t inputs = r.ListLength(kStepInputsMax);
  for (uint32_t i = 0; i < inputs && r.ok(); ++i) {
    NamedTensorDescriptor input;
    input.name = r.String(kTensorNameBytesMax + 64);
    input.tensor = ReadTensorDescriptor(r);
    trace.step_inputs.push_back(std::move(input));
  }
  const uint32_t records = r.ListLength(kOpRecordsPerStepMax);
  for (uint32_t i = 0; i < records && r.ok(); ++i) trace.records.push_back(ReadRecord(r));
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("step trace"));
  return trace;
}

std::vector<Hash256> RecordLeafHashes(const StepTrace& trace) {
  std::vector<Hash256> leaves;
  leaves.reserve(trace.records.size());
  for (const OpRecord& record : trace.records) leaves.push_back(crypto::MerkleLeafHash(OpRecordHash(record).bytes));
  return leaves;
}

Hash256 TraceRoot(const StepTrace& trace) { return crypto::MerkleRoot(RecordLeafHashes(trace)); }

std::vector<Hash256> TraceProof(const StepTrace& trace, size_t index) {
  CAIRN_ASSERT(index < trace.records.size());
  return crypto::MerkleTree(RecordLeafHashes(trace)).Proof(index);
}

bool VerifyRecordProof(const OpRecord& record, size_t index, size_t count, const std::vector<Hash256>& proof,
                       const Hash256& root) {
  return crypto::VerifyMerkleProof(crypto::MerkleLeafHash(OpRecordHash(record).bytes), index, count, proof, root);
}

std::optional<size_t> FirstDifferingRecord(const StepTrace& a, const StepTrace& b) {
  const size_t n = std::min(a.records.size(), b.records.size());
  for (size_t i = 0; i < n; ++i) {
    if (a.records[i] != b.records[i]) return i;
  }
  if (a.records.size() != b.records.size()) return n;
  return std::nullopt;
}

std::optional<TensorSource> FindTensorSource(const StepTrace& trace, size_t record, const TensorDescriptor& tensor) {
  CAIRN_ASSERT(record < trace.records.size());
  auto same = [&](const TensorDescriptor& t) {
    return t.defined && tensor.defined && t.dtype == tensor.dtype && t.sizes == tensor.sizes &&
           t.content == tensor.content;
  };
  for (size_t r = record; r-- > 0;) {
    const std::vector<ValueDescriptor>& outputs = trace.records[r].outputs;
    for (size_t o = 0; o < outputs.size(); ++o) {
      for (size_t i = 0; i < outputs[o].tensors.size(); ++i) {
        if (same(outputs[o].tensors[i])) return TensorSource{false, r, o, i};
      }
    }
  }
  for (size_t i = 0; i < trace.step_inputs.size(); ++i) {
    if (same(trace.step_inputs[i].tensor)) return TensorSource{true, i, 0, 0};
  }
  return std::nullopt;
}

Result<Bytes> EncodeOpInputs(const OpInputs& inputs) {
  if (inputs.op.size() > kOpNameBytesMax || inputs.overload.size() > kOpNameBytesMax) {
    return InvalidArgument("operator name too long");
  }
  if (inputs.values.size() > kOpValuesMax) return InvalidArgument("too many arguments");
  uint64_t total = 0;
  for (const OpValue& v : inputs.values) {
    if (v.kind == ValueKind::kOpaque) {
      return InvalidArgument("an argument of type " + v.text + " cannot be encoded");
    }
    if (v.tensors.size() > kOpValuesMax || v.integers.size() > kOpValuesMax || v.reals.size() > kOpValuesMax ||
        v.booleans.size() > kOpValuesMax || v.text.size() > kOpStringBytesMax ||
        v.generator_state.size > kGeneratorStateBytesMax) {
      return InvalidArgument("an argument larger than the blob format allows");
    }
    for (const TensorData& t : v.tensors) {
      CAIRN_RETURN_IF_ERROR(CheckTensorData(t));
      total += t.values.size;
    }
  }
  if (inputs.generator_state.size > kGeneratorStateBytesMax) return InvalidArgument("generator state too large");
  if (total > kOpInputsBytesMax) {
    return ResourceExhausted("the operator's inputs hold " + std::to_string(total) +
                             " bytes, more than an input blob (" + std::to_string(kOpInputsBytesMax) + ")");
  }
  util::Writer w;
  w.Raw(ByteView(reinterpret_cast<const uint8_t*>(kOpInputsMagic), kMagicBytes));
  w.String(inputs.op);
  w.String(inputs.overload);
  w.U32(static_cast<uint32_t>(inputs.values.size()));
  for (const OpValue& v : inputs.values) {
    w.U8(static_cast<uint8_t>(v.kind));
    if (v.kind == ValueKind::kTensor) {
      if (v.tensors.size() != 1) return InvalidArgument("a tensor argument without exactly one tensor");
      WriteTensorData(w, v.tensors[0]);
    } else if (IsTensorKind(v.kind)) {
      w.U32(static_cast<uint32_t>(v.tensors.size()));
      for (const TensorData& t : v.tensors) WriteTensorData(w, t);
    } else {
      WriteScalarPayload(w, v);
    }
  }
  w.Bool(inputs.has_generator_state);
  if (inputs.has_generator_state) w.LengthPrefixed(inputs.generator_state);
  if (w.bytes().size() > kOpInputsBytesMax) return ResourceExhausted("the operator's input blob is too large");
  return w.Take();
}

Result<OpInputs> DecodeOpInputs(ByteView blob) {
  if (blob.size > kOpInputsBytesMax) return InvalidArgument("operator input blob too large");
  util::Reader r(blob);
  uint8_t magic[kMagicBytes];
  r.Raw(magic, kMagicBytes);
  if (r.ok() && std::memcmp(magic, kOpInputsMagic, kMagicBytes) != 0) r.Fail("not an operator input blob");
  OpInputs inputs;
  inputs.op = r.String(kOpNameBytesMax);
  inputs.overload = r.String(kOpNameBytesMax);
  const uint32_t n = r.ListLength(kOpValuesMax);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    OpValue v;
    const uint8_t kind = r.U8();
    if (r.ok() && kind > kValueKindMax) r.Fail("unknown value kind " + std::to_string(kind));
    if (!r.ok()) break;
    v.kind = static_cast<ValueKind>(kind);
    if (v.kind == ValueKind::kTensor) {
      v.tensors.push_back(ReadTensorData(r, blob));
    } else if (IsTensorKind(v.kind)) {
      const uint32_t items = r.ListLength(kOpValuesMax);
      for (uint32_t k = 0; k < items && r.ok(); ++k) v.tensors.push_back(ReadTensorData(r, blob));
    } else {
      ReadScalarPayload(r, blob, &v);
    }
    inputs.values.push_back(std::move(v));
  }
  inputs.has_generator_state = r.Bool();
  if (r.ok() && inputs.has_generator_state) {
    inputs.generator_state = ReadPrefixedView(r, blob, kGeneratorStateBytesMax, "generator state");
  }
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("operator input blob"));
  return inputs;
}

Status CheckOpInputs(const OpRecord& record, const OpInputs& inputs) {
  const std::string name = OpDisplayName(record);
  if (inputs.op != record.op || inputs.overload != record.overload) {
    return InvalidArgument("the input blob is for " +
                           (inputs.overload.empty() ? inputs.op : inputs.op + "." + inputs.overload) +
                           ", the record for " + name);
  }
  if (inputs.values.size() != record.inputs.size()) {
    return InvalidArgument("the input blob holds " + std::to_string(inputs.values.size()) +
                           " arguments, the record of " + name + " " + std::to_string(record.inputs.size()));
  }
  for (size_t i = 0; i < inputs.values.size(); ++i) {
    if (record.inputs[i].kind == ValueKind::kOpaque) {
      return InvalidArgument("argument " + std::to_string(i) + " of " + name + " is of a kind cairn cannot recompute");
    }
    if (DescribeValue(inputs.values[i]) != record.inputs[i]) {
      return InvalidArgument("argument " + std::to_string(i) + " of the input blob does not match the record of " +
                             name + " (its kind, layout or hash differs)");
    }
  }
  if (inputs.has_generator_state != record.generator_state.has_value()) {
    return InvalidArgument(std::string("the record of ") + name +
                           (record.generator_state ? " names a generator state the blob lacks"
                                                   : " names no generator state, the blob holds one"));
  }
  if (record.generator_state && GeneratorStateHash(inputs.generator_state) != *record.generator_state) {
    return InvalidArgument("the blob's generator state does not match the record of " + name);
  }
  return Status::Ok();
}

Result<std::vector<NamedTensorDescriptor>> CheckpointStepInputs(ByteView checkpoint) {
  CAIRN_ASSIGN_OR_RETURN(CheckpointView view, DecodeCheckpoint(checkpoint));
  std::vector<NamedTensorDescriptor> out;
  for (const TensorView& t : view.model.tensors) {
    out.push_back({t.name, ContiguousDescriptor(ScalarCodeOf(t.dtype), t.dims, t.data)});
  }
  size_t state = 0;
  for (const TensorView& t : view.model.tensors) {
    if (t.role != TensorRole::kParameter) continue;
    for (uint32_t i = 0; i < view.state_per_parameter; ++i, ++state) {
      CAIRN_ASSERT(state < view.optimizer_state.size());
      out.push_back(
          {"optimizer." + t.name + "." + std::to_string(i),
           ContiguousDescriptor(static_cast<uint8_t>(ScalarCode::kFloat32), t.dims, view.optimizer_state[state])});
    }
  }
  return out;
}

}  // namespace cairn::proof
