#include "proof/model_state.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "crypto/hash.h"
#include "util/codec.h"

namespace cairn::proof {
namespace {

constexpr char kModelMagic[] = "CAIRNMD2";
constexpr char kCheckpointMagic[] = "CAIRNCK2";
constexpr size_t kMagicBytes = 8;

static_assert(sizeof(float) == 4 && sizeof(double) == 8, "checkpoints store IEEE-754 binary32/binary64");

bool KnownDType(uint8_t v) { return v >= 1 && v <= 10; }
bool KnownRole(uint8_t v) { return v >= 1 && v <= 3; }
bool IsFloat(DType d) {
  return d == DType::kFloat32 || d == DType::kFloat64 || d == DType::kFloat16 || d == DType::kBFloat16;
}

bool ReadMagic(util::Reader& r, const char* magic, const char* what) {
  uint8_t got[kMagicBytes];
  r.Raw(got, kMagicBytes);
  if (r.ok() && std::memcmp(got, magic, kMagicBytes) != 0) {
    r.Fail(std::string("not a cairn ") + what + " (bad magic)");
    return false;
  }
  return r.ok();
}

// Reads one tensor record, checking every size against what remains.
TensorView ReadTensor(util::Reader& r, ByteView in) {
  TensorView t;
  t.name = r.String(kTensorNameBytesMax);
  uint8_t role = r.U8();
  uint8_t dtype = r.U8();
  if (r.ok() && !KnownRole(role)) r.Fail("tensor '" + t.name + "' has unknown role " + std::to_string(role));
  if (r.ok() && !KnownDType(dtype)) r.Fail("tensor '" + t.name + "' has unknown dtype " + std::to_string(dtype));
  if (!r.ok()) return t;
  t.role = static_cast<TensorRole>(role);
  t.dtype = static_cast<DType>(dtype);
  uint32_t rank = r.ListLength(kTensorRankMax);
  uint64_t numel = 1;
  const uint64_t element_bytes = DTypeBytes(t.dtype);
  const uint64_t elements_max = r.remaining() / element_bytes;
  for (uint32_t d = 0; d < rank && r.ok(); ++d) {
    int64_t dim = r.I64();
    if (!r.ok()) break;
    if (dim < 0) {
      r.Fail("tensor '" + t.name + "' has negative dimension " + std::to_string(dim));
      break;
    }
    t.dims.push_back(dim);
    // Checked: numel * dim must not exceed what the remaining bytes can hold
    // (which also rules out 64-bit overflow). A zero dim makes numel 0.
    if (dim != 0 && numel > elements_max / static_cast<uint64_t>(dim)) {
      r.Fail("tensor '" + t.name + "' is larger than the bytes that remain");
      break;
    }
    numel *= static_cast<uint64_t>(dim);
  }
  if (!r.ok()) return t;
  if (t.role == TensorRole::kParameter && t.dtype != DType::kFloat32) {
    r.Fail("trainable parameter '" + t.name + "' is " + DTypeName(t.dtype) + "; cairn trains float32 parameters");
    return t;
  }
  t.numel = numel;
  const size_t bytes = static_cast<size_t>(numel * element_bytes);
  if (bytes > r.remaining()) {
    r.Fail("tensor '" + t.name + "' is larger than the bytes that remain");
    return t;
  }
  t.data = ByteView(in.data + r.offset(), bytes);
  r.Skip(bytes);
  return t;
}

void WriteTensor(util::Writer& w, const TensorView& t) {
  w.String(t.name);
  w.U8(static_cast<uint8_t>(t.role));
  w.U8(static_cast<uint8_t>(t.dtype));
  w.U32(static_cast<uint32_t>(t.dims.size()));
  for (int64_t d : t.dims) w.I64(d);
  CAIRN_ASSERT(t.data.size == t.numel * DTypeBytes(t.dtype));
  w.Raw(t.data);
}

// Decodes a model file at the reader's position; `in` is the whole buffer.
ModelStateView ReadModelState(util::Reader& r, ByteView in) {
  ModelStateView m;
  const size_t begin = r.offset();
  if (!ReadMagic(r, kModelMagic, "model file")) return m;
  uint32_t n = r.ListLength(kStateTensorsMax);
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    m.tensors.push_back(ReadTensor(r, in));
    if (!r.ok()) break;
    for (uint32_t j = 0; j < i; ++j) {
      if (m.tensors[j].name == m.tensors[i].name) {
        r.Fail("tensor name '" + m.tensors[i].name + "' appears twice");
        break;
      }
    }
  }
  if (r.ok()) m.encoded = ByteView(in.data + begin, r.offset() - begin);
  return m;
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  if (exponent == 0x1f) return mantissa ? NAN : (sign ? -INFINITY : INFINITY);
  float value = exponent == 0 ? std::ldexp(static_cast<float>(mantissa), -24)
                              : std::ldexp(static_cast<float>(mantissa | 0x400), static_cast<int>(exponent) - 25);
  return sign ? -value : value;
}

// Element i of a floating-point tensor, widened to double.
double FloatAt(const TensorView& t, uint64_t i) {
  const uint8_t* p = t.data.data + i * DTypeBytes(t.dtype);
  switch (t.dtype) {
    case DType::kFloat32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case DType::kFloat64: {
      double d;
      std::memcpy(&d, p, 8);
      return d;
    }
    case DType::kFloat16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return HalfToFloat(h);
    }
    case DType::kBFloat16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      uint32_t bits = static_cast<uint32_t>(h) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    default: CAIRN_ASSERT(false && "not a floating-point dtype");
  }
  return 0;
}

}  // namespace

Status CheckSameLayout(const ModelStateView& a, const ModelStateView& b) {
  if (a.tensors.size() != b.tensors.size()) {
    return InvalidArgument("the states hold " + std::to_string(a.tensors.size()) + " and " +
                           std::to_string(b.tensors.size()) + " tensors");
  }
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const TensorView& x = a.tensors[i];
    const TensorView& y = b.tensors[i];
    if (x.name != y.name || x.role != y.role || x.dtype != y.dtype || x.dims != y.dims) {
      return InvalidArgument("tensor " + std::to_string(i) + " is '" + x.name + "' in one state and '" + y.name +
                             "' (or another shape, dtype or role) in the other");
    }
  }
  return Status::Ok();
}

size_t DTypeBytes(DType dtype) {
  switch (dtype) {
    case DType::kFloat64:
    case DType::kInt64: return 8;
    case DType::kFloat32:
    case DType::kInt32: return 4;
    case DType::kFloat16:
    case DType::kBFloat16:
    case DType::kInt16: return 2;
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kBool: return 1;
  }
  return 1;
}

std::string DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "float32";
    case DType::kFloat64: return "float64";
    case DType::kFloat16: return "float16";
    case DType::kBFloat16: return "bfloat16";
    case DType::kInt64: return "int64";
    case DType::kInt32: return "int32";
    case DType::kInt16: return "int16";
    case DType::kInt8: return "int8";
    case DType::kUInt8: return "uint8";
    case DType::kBool: return "bool";
  }
  return "unknown";
}

std::string TensorRoleName(TensorRole role) {
  switch (role) {
    case TensorRole::kParameter: return "parameter";
    case TensorRole::kFrozenParameter: return "frozen parameter";
    case TensorRole::kBuffer: return "buffer";
  }
  return "unknown";
}

Bytes EncodeModelState(const std::vector<TensorView>& tensors) {
  util::Writer w;
  w.Raw(ByteView(reinterpret_cast<const uint8_t*>(kModelMagic), kMagicBytes));
  w.U32(static_cast<uint32_t>(tensors.size()));
  for (const TensorView& t : tensors) WriteTensor(w, t);
  return w.Take();
}

Result<ModelStateView> DecodeModelState(ByteView bytes) {
  util::Reader r(bytes);
  ModelStateView m = ReadModelState(r, bytes);
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("model file"));
  return m;
}

Bytes EncodeCheckpoint(uint64_t step, ByteView model_state, uint8_t optimizer_kind, uint64_t optimizer_steps,
                       uint32_t state_per_parameter, const std::vector<ByteView>& optimizer_state) {
  util::Writer w;
  w.Raw(ByteView(reinterpret_cast<const uint8_t*>(kCheckpointMagic), kMagicBytes));
  w.U64(step);
  w.Raw(model_state);
  w.U8(optimizer_kind);
  w.U64(optimizer_steps);
  w.U32(state_per_parameter);
  for (const ByteView& s : optimizer_state) w.Raw(s);
  return w.Take();
}

Result<CheckpointView> DecodeCheckpoint(ByteView bytes) {
  util::Reader r(bytes);
  CheckpointView c;
  ReadMagic(r, kCheckpointMagic, "checkpoint");
  c.step = r.U64();
  if (r.ok()) c.model = ReadModelState(r, bytes);
  c.optimizer_kind = r.U8();
  c.optimizer_steps = r.U64();
  c.state_per_parameter = r.U32();
  if (r.ok() && c.state_per_parameter > kOptimizerStatePerParameterMax) {
    r.Fail("optimizer keeps " + std::to_string(c.state_per_parameter) + " state tensors per parameter (at most " +
           std::to_string(kOptimizerStatePerParameterMax) + ")");
  }
  for (const TensorView& t : c.model.tensors) {
    if (!r.ok()) break;
    if (t.role != TensorRole::kParameter) continue;
    for (uint32_t s = 0; s < c.state_per_parameter && r.ok(); ++s) {
      if (t.data.size > r.remaining()) {
        r.Fail("optimizer state of '" + t.name + "' is larger than the bytes that remain");
        break;
      }
      c.optimizer_state.push_back(ByteView(bytes.data + r.offset(), t.data.size));
      r.Skip(t.data.size);
    }
  }
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("checkpoint"));
  return c;
}

Hash256 ModelHash(ByteView model_file) { return crypto::TaggedHash("cairn/model/v2", model_file); }

Result<double> UpdateNorm(const CheckpointView& from, const CheckpointView& to) {
  CAIRN_RETURN_IF_ERROR(CheckSameLayout(from.model, to.model));
  double sum = 0;
  for (size_t i = 0; i < from.model.tensors.size(); ++i) {
    const TensorView& a = from.model.tensors[i];
    const TensorView& b = to.model.tensors[i];
    if (a.role != TensorRole::kParameter) continue;
    for (uint64_t e = 0; e < a.numel; ++e) {
      float x, y;
      std::memcpy(&x, a.data.data + 4 * e, 4);
      std::memcpy(&y, b.data.data + 4 * e, 4);
      const double d = static_cast<double>(y) - static_cast<double>(x);
      sum += d * d;
    }
  }
  return std::sqrt(sum);
}

Result<StateDistances> CompareStates(const ModelStateView& replayed, const ModelStateView& committed) {
  CAIRN_RETURN_IF_ERROR(CheckSameLayout(replayed, committed));
  StateDistances d;
  double diff_sq = 0, ref_sq = 0, rep_sq = 0, dot = 0;
  for (size_t i = 0; i < replayed.tensors.size(); ++i) {
    const TensorView& x = replayed.tensors[i];
    const TensorView& y = committed.tensors[i];
    if (!IsFloat(x.dtype)) {
      if (x.data.size != y.data.size || std::memcmp(x.data.data, y.data.data, x.data.size) != 0) {
        d.l2_relative = d.linf = d.cosine_distance = INFINITY;
        return d;
      }
      continue;
    }
    for (uint64_t e = 0; e < x.numel; ++e) {
      const double a = FloatAt(x, e), b = FloatAt(y, e);
      diff_sq += (a - b) * (a - b);
      ref_sq += b * b;
      rep_sq += a * a;
      dot += a * b;
      d.linf = std::max(d.linf, std::fabs(a - b));
    }
  }
  d.l2_relative = std::sqrt(diff_sq) / std::max(std::sqrt(ref_sq), 1e-30);
  d.cosine_distance = 1.0 - dot / std::max(std::sqrt(ref_sq) * std::sqrt(rep_sq), 1e-30);
  if (!std::isfinite(diff_sq)) d.l2_relative = d.linf = d.cosine_distance = INFINITY;
  return d;
}

namespace {

// Whether a float32 tensor holds a NaN or an infinity: an all-ones
// exponent. Branch-free over the whole tensor, so the compiler vectorizes it
// (the solver's checkpoint writer runs it on every checkpoint).
bool Float32NonFinite(const TensorView& t) {
  uint32_t non_finite = 0;
  for (uint64_t e = 0; e < t.numel; ++e) {
    uint32_t bits;
    std::memcpy(&bits, t.data.data + 4 * e, 4);
    non_finite |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return non_finite != 0;
}

}  // namespace

bool AllFinite(const ModelStateView& state, std::string* first_bad_tensor) {
  for (const TensorView& t : state.tensors) {
    if (!IsFloat(t.dtype)) continue;
    bool finite = true;
    if (t.dtype == DType::kFloat32) {
      finite = !Float32NonFinite(t);
    } else {
      for (uint64_t e = 0; e < t.numel && finite; ++e) finite = std::isfinite(FloatAt(t, e));
    }
    if (!finite) {
      if (first_bad_tensor) *first_bad_tensor = t.name;
      return false;
    }
  }
  return true;
}

}  // namespace cairn::proof
