#include "train/snapshot.h"

#include <cstring>

#include "crypto/hash.h"
#include "util/codec.h"

namespace cairn::train {
namespace {

constexpr char kMagic[] = "CAIRNCK1";
constexpr size_t kMagicBytes = 8;
constexpr uint32_t kParametersMax = 1'000'000;
constexpr uint32_t kRankMax = 8;
constexpr size_t kNameBytesMax = 1024;

static_assert(sizeof(float) == 4, "checkpoints store IEEE-754 binary32");

void WriteFloats(util::Writer& w, const torch::Tensor& t) {
  torch::Tensor cpu = t.detach().to(torch::kCPU).contiguous();
  // x86-64 and aarch64 are little-endian, as the layout requires.
  w.Raw(ByteView(reinterpret_cast<const uint8_t*>(cpu.data_ptr<float>()), cpu.numel() * sizeof(float)));
}

void ReadFloatsInto(util::Reader& r, const torch::Tensor& target) {
  torch::Tensor cpu = torch::empty(target.sizes(), torch::kFloat32);
  r.Raw(reinterpret_cast<uint8_t*>(cpu.data_ptr<float>()), cpu.numel() * sizeof(float));
  if (r.ok()) {
    torch::NoGradGuard no_grad;
    target.copy_(cpu);
  }
}

void WriteWeights(util::Writer& w, const NamedTensors& parameters) {
  w.U32(static_cast<uint32_t>(parameters.size()));
  for (const auto& [name, p] : parameters) {
    w.String(name);
    w.U32(static_cast<uint32_t>(p.dim()));
    for (int64_t d : p.sizes()) w.I64(d);
    WriteFloats(w, p);
  }
}

// Reads the weights section header for one parameter and checks it against
// the model's. `load` = copy the data; else skip it.
Status ReadWeights(util::Reader& r, const NamedTensors& parameters, const std::string& source) {
  uint32_t n = r.ListLength(kParametersMax);
  if (r.ok() && n != parameters.size()) {
    return InvalidArgument(source + " holds " + std::to_string(n) + " parameters, the model has " +
                           std::to_string(parameters.size()));
  }
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    const auto& [name, p] = parameters[i];
    std::string stored = r.String(kNameBytesMax);
    uint32_t rank = r.ListLength(kRankMax);
    std::vector<int64_t> dims;
    for (uint32_t d = 0; d < rank && r.ok(); ++d) dims.push_back(r.I64());
    if (!r.ok()) break;
    if (stored != name || dims != p.sizes().vec()) {
      return InvalidArgument(source + ": parameter " + std::to_string(i) + " is '" + stored + "' " +
                             c10::str(torch::IntArrayRef(dims)) + ", the model has '" + name + "' " +
                             c10::str(p.sizes()));
    }
    ReadFloatsInto(r, p);
  }
  return r.status();
}

}  // namespace

Bytes EncodeWeights(const NamedTensors& parameters) {
  util::Writer w;
  WriteWeights(w, parameters);
  return w.Take();
}

Hash256 ModelHash(ByteView weights) { return crypto::TaggedHash("cairn/model/v1", weights); }

Bytes EncodeSnapshot(uint64_t step, const NamedTensors& parameters, const Optimizer& optimizer,
                     const job::OptimizerSpec& spec) {
  util::Writer w;
  w.Raw(ByteView(reinterpret_cast<const uint8_t*>(kMagic), kMagicBytes));
  w.U64(step);
  WriteWeights(w, parameters);
  w.U8(static_cast<uint8_t>(spec.kind));
  w.U64(optimizer.step_count());
  w.U32(static_cast<uint32_t>(optimizer.StateTensorsPerParameter()));
  for (const auto& per_param : optimizer.state()) {
    for (const auto& t : per_param) WriteFloats(w, t);
  }
  return w.Take();
}

Result<uint64_t> RestoreSnapshot(ByteView bytes, const NamedTensors& parameters, Optimizer* optimizer,
                                 const job::OptimizerSpec& spec) {
  util::Reader r(bytes);
  uint8_t magic[kMagicBytes];
  r.Raw(magic, kMagicBytes);
  if (r.ok() && std::memcmp(magic, kMagic, kMagicBytes) != 0) return Corruption("not a cairn checkpoint (bad magic)");
  uint64_t step = r.U64();
  CAIRN_RETURN_IF_ERROR(ReadWeights(r, parameters, "checkpoint"));
  uint8_t kind = r.U8();
  uint64_t optimizer_steps = r.U64();
  uint32_t per_param = r.U32();
  if (r.ok() && (kind != static_cast<uint8_t>(spec.kind) || per_param != optimizer->StateTensorsPerParameter())) {
    return InvalidArgument("checkpoint was written by another optimizer configuration");
  }
  for (auto& tensors : optimizer->mutable_state()) {
    for (auto& t : tensors) ReadFloatsInto(r, t);
  }
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("checkpoint"));
  optimizer->set_step_count(optimizer_steps);
  return step;
}

Status RestoreWeights(ByteView bytes, const NamedTensors& parameters, const std::string& source) {
  util::Reader r(bytes);
  CAIRN_RETURN_IF_ERROR(ReadWeights(r, parameters, source));
  return r.Finish().WithContext(source);
}

Result<std::vector<float>> SnapshotWeights(ByteView bytes) {
  util::Reader r(bytes);
  uint8_t magic[kMagicBytes];
  r.Raw(magic, kMagicBytes);
  r.U64();
  uint32_t n = r.ListLength(kParametersMax);
  std::vector<float> out;
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    r.String(kNameBytesMax);
    uint32_t rank = r.ListLength(kRankMax);
    uint64_t count = 1;
    for (uint32_t d = 0; d < rank && r.ok(); ++d) count *= static_cast<uint64_t>(r.I64());
    if (!r.ok() || count * sizeof(float) > r.remaining()) {
      r.Fail("parameter larger than the checkpoint");
      break;
    }
    size_t at = out.size();
    out.resize(at + count);
    r.Raw(reinterpret_cast<uint8_t*>(out.data() + at), count * sizeof(float));
  }
  CAIRN_RETURN_IF_ERROR(r.status().WithContext("checkpoint"));
  return out;
}

}  // namespace cairn::train
