#include "train/snapshot.h"

#include <cstring>

#include "util/codec.h"

namespace cairn::train {
namespace {

// Recycled snapshot buffers kept for reuse; a few cover the checkpoints in
// flight between the training thread and the checkpoint writer.
constexpr size_t kSnapshotBuffersPooledMax = 4;
// docs/checkpoints.md: "CAIRNCK2" (8 bytes), then the u64 step.
constexpr size_t kCheckpointStepOffset = 8;

// Writes `v` as the codec does (u64, little-endian) at `dst`.
void PutU64(uint64_t v, uint8_t* dst) {
  util::Writer w;
  w.U64(v);
  CAIRN_ASSERT(w.bytes().size() == sizeof(uint64_t));
  std::memcpy(dst, w.bytes().data(), sizeof(uint64_t));
}

// CPU, contiguous copies of the state (kept alive while their bytes are
// encoded).
std::vector<torch::Tensor> HostCopies(const ModelState& state) {
  std::vector<torch::Tensor> out;
  out.reserve(state.size());
  for (const StateTensor& t : state) out.push_back(t.tensor.detach().to(torch::kCPU).contiguous());
  return out;
}

ByteView BytesOf(const torch::Tensor& cpu) {
  return ByteView(static_cast<const uint8_t*>(cpu.data_ptr()), static_cast<size_t>(cpu.numel()) * cpu.element_size());
}

proof::TensorView ViewOf(const StateTensor& t, const torch::Tensor& cpu) {
  proof::TensorView v;
  v.name = t.name;
  v.role = t.role;
  v.dtype = DTypeOf(cpu.scalar_type()).value();  // BuildModel refused other dtypes.
  v.dims = cpu.sizes().vec();
  v.numel = static_cast<uint64_t>(cpu.numel());
  v.data = BytesOf(cpu);
  return v;
}

bool ParametersOnly(proof::TensorRole a, proof::TensorRole b) {
  return a != proof::TensorRole::kBuffer && b != proof::TensorRole::kBuffer;
}

// Checks that decoded tensors have the model's layout. `lenient_roles`
// allows trainable <-> frozen parameters.
Status CheckLayout(const std::vector<proof::TensorView>& stored, const ModelState& state, const std::string& source,
                   bool lenient_roles) {
  if (stored.size() != state.size()) {
    return InvalidArgument(source + " holds " + std::to_string(stored.size()) + " tensors, the model has " +
                           std::to_string(state.size()));
  }
  for (size_t i = 0; i < stored.size(); ++i) {
    const proof::TensorView& s = stored[i];
    const StateTensor& t = state[i];
    const bool role_ok = s.role == t.role || (lenient_roles && ParametersOnly(s.role, t.role));
    auto dtype = DTypeOf(t.tensor.scalar_type());
    if (s.name != t.name || !role_ok || !dtype.ok() || s.dtype != *dtype || s.dims != t.tensor.sizes().vec()) {
      return InvalidArgument(source + ": tensor " + std::to_string(i) + " is " + proof::TensorRoleName(s.role) + " '" +
                             s.name + "' " + proof::DTypeName(s.dtype) + c10::str(torch::IntArrayRef(s.dims)) +
                             ", the model has " + proof::TensorRoleName(t.role) + " '" + t.name + "' " +
                             std::string(c10::toString(t.tensor.scalar_type())) + c10::str(t.tensor.sizes()));
    }
  }
  return Status::Ok();
}

// Copies bytes (possibly unaligned) into `target`.
void CopyInto(const torch::Tensor& target, ByteView data) {
  torch::Tensor cpu = torch::empty(target.sizes(), torch::TensorOptions().dtype(target.scalar_type()));
  if (data.size > 0) std::memcpy(cpu.data_ptr(), data.data, data.size);
  torch::NoGradGuard no_grad;
  target.copy_(cpu);
}

}  // namespace

Result<proof::DType> DTypeOf(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return proof::DType::kFloat32;
    case torch::kFloat64: return proof::DType::kFloat64;
    case torch::kFloat16: return proof::DType::kFloat16;
    case torch::kBFloat16: return proof::DType::kBFloat16;
    case torch::kInt64: return proof::DType::kInt64;
    case torch::kInt32: return proof::DType::kInt32;
    case torch::kInt16: return proof::DType::kInt16;
    case torch::kInt8: return proof::DType::kInt8;
    case torch::kUInt8: return proof::DType::kUInt8;
    case torch::kBool: return proof::DType::kBool;
    default: return InvalidArgument(std::string("dtype ") + c10::toString(type) + " cannot be checkpointed");
  }
}

torch::ScalarType ScalarTypeOf(proof::DType dtype) {
  switch (dtype) {
    case proof::DType::kFloat32: return torch::kFloat32;
    case proof::DType::kFloat64: return torch::kFloat64;
    case proof::DType::kFloat16: return torch::kFloat16;
    case proof::DType::kBFloat16: return torch::kBFloat16;
    case proof::DType::kInt64: return torch::kInt64;
    case proof::DType::kInt32: return torch::kInt32;
    case proof::DType::kInt16: return torch::kInt16;
    case proof::DType::kInt8: return torch::kInt8;
    case proof::DType::kUInt8: return torch::kUInt8;
    case proof::DType::kBool: return torch::kBool;
  }
  return torch::kFloat32;
}

Bytes EncodeModelFile(const ModelState& state) {
  std::vector<torch::Tensor> host = HostCopies(state);
  std::vector<proof::TensorView> views;
  views.reserve(state.size());
  for (size_t i = 0; i < state.size(); ++i) views.push_back(ViewOf(state[i], host[i]));
  return proof::EncodeModelState(views);
}

Bytes EncodeSnapshot(uint64_t step, const ModelState& state, const Optimizer& optimizer,
                     const job::OptimizerSpec& spec) {
  Bytes model = EncodeModelFile(state);
  std::vector<torch::Tensor> host;
  for (const auto& per_param : optimizer.state()) {
    for (const auto& t : per_param) host.push_back(t.detach().to(torch::kCPU).contiguous());
  }
  std::vector<ByteView> views;
  views.reserve(host.size());
  for (const auto& t : host) views.push_back(BytesOf(t));
  return proof::EncodeCheckpoint(step, model, static_cast<uint8_t>(spec.kind), optimizer.step_count(),
                                 static_cast<uint32_t>(optimizer.StateTensorsPerParameter()), views);
}

bool SnapshotEncoder::Matches(const ModelState& state, const Optimizer& optimizer,
                              const job::OptimizerSpec& spec) const {
  if (state.size() != keys_.size() || static_cast<uint8_t>(spec.kind) != optimizer_kind_ ||
      optimizer.StateTensorsPerParameter() != state_per_parameter_) {
    return false;
  }
  for (size_t i = 0; i < state.size(); ++i) {
    const StateTensor& t = state[i];
    const TensorKey& k = keys_[i];
    if (t.role != k.role || t.tensor.scalar_type() != k.dtype || t.tensor.sizes() != c10::IntArrayRef(k.sizes) ||
        t.name != k.name) {
      return false;
    }
  }
  return true;
}

void SnapshotEncoder::BuildTemplate(uint64_t step, const ModelState& state, const Optimizer& optimizer,
                                    const job::OptimizerSpec& spec) {
  template_ = EncodeSnapshot(step, state, optimizer, spec);
  auto view = proof::DecodeCheckpoint(template_);
  CAIRN_ASSERT(view.ok());  // Our own encoding.
  const uint8_t* base = template_.data();
  data_.clear();
  for (const proof::TensorView& t : view->model.tensors) {
    data_.push_back({static_cast<size_t>(t.data.data - base), t.data.size});
  }
  for (const ByteView& s : view->optimizer_state) data_.push_back({static_cast<size_t>(s.data - base), s.size});
  // The regions are in the order of the encoding: every other byte is a gap.
  gaps_.clear();
  size_t at = 0;
  for (const Region& r : data_) {
    CAIRN_ASSERT(r.offset >= at);
    if (r.offset > at) gaps_.push_back({at, r.offset - at});
    at = r.offset + r.bytes;
  }
  if (at < template_.size()) gaps_.push_back({at, template_.size() - at});
  // "CAIRNCK2", u64 step, model file, u8 optimizer kind, then u64 optimizer steps.
  optimizer_steps_offset_ = static_cast<size_t>(view->model.encoded.data - base) + view->model.encoded.size + 1;
  keys_.clear();
  for (const StateTensor& t : state) keys_.push_back({t.name, t.role, t.tensor.scalar_type(), t.tensor.sizes().vec()});
  optimizer_kind_ = static_cast<uint8_t>(spec.kind);
  state_per_parameter_ = optimizer.StateTensorsPerParameter();
  built_ = true;
  templates_built_++;
  // Always on: the template reproduces the reference encoding in every byte
  // (filled into a scrambled buffer, so that no byte can be right by chance
  // of having been left alone).
  Bytes check(template_.size(), 0xa5);
  Fill(step, state, optimizer, &check);
  CAIRN_ASSERT(check == template_);
}

void SnapshotEncoder::Fill(uint64_t step, const ModelState& state, const Optimizer& optimizer, Bytes* out) const {
  CAIRN_ASSERT(out->size() == template_.size());
  uint8_t* dst = out->data();
  for (const Region& g : gaps_) std::memcpy(dst + g.offset, template_.data() + g.offset, g.bytes);
  PutU64(step, dst + kCheckpointStepOffset);
  PutU64(optimizer.step_count(), dst + optimizer_steps_offset_);
  // One copy of each tensor's storage into its place: the only work that
  // grows with the model.
  size_t next = 0;
  auto copy = [&](const torch::Tensor& t) {
    CAIRN_ASSERT(next < data_.size());
    const Region& r = data_[next++];
    const bool in_place = t.device().is_cpu() && t.is_contiguous();
    const torch::Tensor host = in_place ? t : t.detach().to(torch::kCPU).contiguous();
    CAIRN_ASSERT(static_cast<size_t>(host.numel()) * host.element_size() == r.bytes);
    if (r.bytes > 0) std::memcpy(dst + r.offset, host.data_ptr(), r.bytes);
  };
  for (const StateTensor& t : state) copy(t.tensor);
  for (const auto& per_parameter : optimizer.state()) {
    for (const auto& t : per_parameter) copy(t);
  }
  CAIRN_ASSERT(next == data_.size());
}

Bytes SnapshotEncoder::TakeBuffer() {
  Bytes out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!free_.empty() && out.capacity() < template_.size()) {
      out = std::move(free_.back());
      free_.pop_back();
    }
  }
  // A recycled buffer of this size is used as is (every byte is rewritten);
  // only bytes a smaller one lacks are zero-filled first.
  out.resize(template_.size());
  return out;
}

Bytes SnapshotEncoder::Encode(uint64_t step, const ModelState& state, const Optimizer& optimizer,
                              const job::OptimizerSpec& spec) {
  if (!built_ || !Matches(state, optimizer, spec)) {
    BuildTemplate(step, state, optimizer, spec);
    return template_;
  }
  Bytes out = TakeBuffer();
  Fill(step, state, optimizer, &out);
  return out;
}

void SnapshotEncoder::Recycle(Bytes buffer) {
  if (buffer.capacity() == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (free_.size() < kSnapshotBuffersPooledMax) free_.push_back(std::move(buffer));
}

Result<uint64_t> RestoreSnapshot(ByteView bytes, const ModelState& state, Optimizer* optimizer,
                                 const job::OptimizerSpec& spec) {
  CAIRN_ASSIGN_OR_RETURN(proof::CheckpointView c, proof::DecodeCheckpoint(bytes));
  CAIRN_RETURN_IF_ERROR(CheckLayout(c.model.tensors, state, "checkpoint", /*lenient_roles=*/false));
  if (c.optimizer_kind != static_cast<uint8_t>(spec.kind) ||
      c.state_per_parameter != optimizer->StateTensorsPerParameter()) {
    return InvalidArgument("checkpoint was written by another optimizer configuration (kind " +
                           std::to_string(c.optimizer_kind) + ", " + std::to_string(c.state_per_parameter) +
                           " state tensors per parameter)");
  }
  // Everything is checked: from here on the restore cannot fail half-way.
  for (size_t i = 0; i < state.size(); ++i) CopyInto(state[i].tensor, c.model.tensors[i].data);
  size_t next = 0;
  for (auto& tensors : optimizer->mutable_state()) {
    for (auto& t : tensors) CopyInto(t, c.optimizer_state[next++]);
  }
  CAIRN_ASSERT(next == c.optimizer_state.size());
  optimizer->set_step_count(c.optimizer_steps);
  return c.step;
}

Status RestoreModelFile(ByteView bytes, const ModelState& state, const std::string& source) {
  auto decoded = proof::DecodeModelState(bytes);
  if (!decoded.ok()) return InvalidArgument(source + ": " + decoded.status().message());
  CAIRN_RETURN_IF_ERROR(CheckLayout(decoded->tensors, state, source, /*lenient_roles=*/true));
  for (size_t i = 0; i < state.size(); ++i) CopyInto(state[i].tensor, decoded->tensors[i].data);
  return Status::Ok();
}

Status RestoreUserModelFile(ByteView bytes, const ModelState& state) {
  auto decoded = proof::DecodeModelState(bytes);
  if (!decoded.ok()) {
    return InvalidArgument("not a cairn model file (damaged or of another kind): " + decoded.status().message());
  }
  Status restored = RestoreModelFile(bytes, state, "the model file");
  if (!restored.ok()) {
    return InvalidArgument(restored.message() +
                           "; is it a model file of this job? `cairn train` writes it to DATA/jobs/<job id>/model.bin");
  }
  return Status::Ok();
}

}  // namespace cairn::train
