#include "train/worker_protocol.h"

#include <algorithm>

#include "proof/model_state.h"
#include "util/codec.h"

namespace cairn::train::worker {
namespace {

constexpr size_t kPathBytesMax = 4096;
constexpr size_t kErrorMessageBytesMax = 1 << 20;
constexpr size_t kEnvironmentStringBytesMax = 4096;
constexpr uint8_t kStatusCodeMax = static_cast<uint8_t>(StatusCode::kInternal);
// One operator record (its descriptors; the data is in the blob).
constexpr size_t kRecordBytesMax = 64 << 20;

}  // namespace

Bytes EncodeStart(const job::JobSpec& spec, bool check_randomness) {
  util::Writer w;
  w.LengthPrefixed(job::EncodeJobSpec(spec));
  w.String(spec.dataset.source.features_path);
  w.String(spec.dataset.source.labels_path);
  w.String(spec.model.torchscript_path);
  w.String(spec.model.weights_path);
  w.String(spec.evaluation ? spec.evaluation->dataset.source.features_path : "");
  w.String(spec.evaluation ? spec.evaluation->dataset.source.labels_path : "");
  w.Bool(check_randomness);
  return w.Take();
}

Result<std::pair<job::JobSpec, bool>> DecodeStart(ByteView payload) {
  util::Reader r(payload);
  Bytes encoded = r.LengthPrefixed(job::kJobFileBytesMax);
  std::string features = r.String(kPathBytesMax);
  std::string labels = r.String(kPathBytesMax);
  std::string torchscript = r.String(kPathBytesMax);
  std::string weights = r.String(kPathBytesMax);
  std::string eval_features = r.String(kPathBytesMax);
  std::string eval_labels = r.String(kPathBytesMax);
  bool check_randomness = r.Bool();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("worker start request"));
  CAIRN_ASSIGN_OR_RETURN(job::JobSpec spec, job::DecodeJobSpec(encoded));
  spec.dataset.source.features_path = features;
  spec.dataset.source.labels_path = labels;
  spec.model.torchscript_path = torchscript;
  spec.model.weights_path = weights;
  if (spec.evaluation) {
    spec.evaluation->dataset.source.features_path = eval_features;
    spec.evaluation->dataset.source.labels_path = eval_labels;
  }
  return std::make_pair(std::move(spec), check_randomness);
}

Bytes EncodeEnvironment(const EngineEnvironment& env) {
  util::Writer w;
  job::WriteExecutionProfile(w, env.applied.profile);
  w.String(env.applied.torch_version);
  w.String(env.applied.blas_library);
  w.String(env.description);
  return w.Take();
}

Result<EngineEnvironment> DecodeEnvironment(ByteView payload) {
  util::Reader r(payload);
  EngineEnvironment env;
  env.applied.profile = job::ReadExecutionProfile(r);
  env.applied.torch_version = r.String(kEnvironmentStringBytesMax);
  env.applied.blas_library = r.String(kEnvironmentStringBytesMax);
  env.description = r.String(kEnvironmentStringBytesMax);
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("worker environment"));
  return env;
}

Bytes EncodeSegment(uint64_t begin, uint64_t end) {
  util::Writer w;
  w.U64(begin);
  w.U64(end);
  return w.Take();
}

Result<std::pair<uint64_t, uint64_t>> DecodeSegment(ByteView payload) {
  util::Reader r(payload);
  uint64_t begin = r.U64();
  uint64_t end = r.U64();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("worker segment request"));
  if (end < begin) return InvalidArgument("worker segment request: end before begin");
  return std::make_pair(begin, end);
}

Bytes EncodeSegments(const SegmentsRequest& request) {
  util::Writer w;
  w.U64(request.begin);
  w.U64(request.end);
  w.U64(request.interval);
  return w.Take();
}

Result<SegmentsRequest> DecodeSegments(ByteView payload) {
  util::Reader r(payload);
  SegmentsRequest request;
  request.begin = r.U64();
  request.end = r.U64();
  request.interval = r.U64();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("worker segments request"));
  if (request.end < request.begin) return InvalidArgument("worker segments request: end before begin");
  if (request.interval == 0) return InvalidArgument("worker segments request: interval 0");
  return request;
}

Bytes EncodeProgress(uint64_t step, double loss) {
  util::Writer w;
  w.U64(step);
  w.F64(loss);
  return w.Take();
}

Result<std::pair<uint64_t, double>> DecodeProgress(ByteView payload) {
  util::Reader r(payload);
  uint64_t step = r.U64();
  double loss = r.F64();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("worker progress"));
  return std::make_pair(step, loss);
}

Bytes EncodeSegmentResult(const SegmentResult& s) {
  util::Writer w;
  w.F64(s.loss_sum);
  w.U64(s.steps);
  w.F64(s.grad_norm_last);
  w.F64(s.last_loss);
  w.Raw(s.checkpoint);  // The rest of the message.
  return w.Take();
}

Result<SegmentResult> DecodeSegmentResult(ByteView payload) {
  util::Reader r(payload);
  SegmentResult s;
  s.loss_sum = r.F64();
  s.steps = r.U64();
  s.grad_norm_last = r.F64();
  s.last_loss = r.F64();
  CAIRN_RETURN_IF_ERROR(r.status().WithContext("worker segment result"));
  s.checkpoint.assign(payload.data + r.offset(), payload.data + payload.size);
  return s;
}

Bytes EncodeEvalResult(const EvalResult& e) {
  util::Writer w;
  w.F64(e.loss);
  w.F64(e.accuracy);
  w.U64(e.examples);
  w.U64(e.correct);
  return w.Take();
}

Result<EvalResult> DecodeEvalResult(ByteView payload) {
  util::Reader r(payload);
  EvalResult e;
  e.loss = r.F64();
  e.accuracy = r.F64();
  e.examples = r.U64();
  e.correct = r.U64();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("worker evaluation"));
  return e;
}

Bytes EncodeEstimate(const Estimate& e) {
  util::Writer w;
  w.U64(e.steps);
  w.U64(e.parameters);
  w.F64(e.flops_per_step);
  w.U64(e.checkpoints);
  w.U64(e.checkpoint_bytes);
  w.U64(e.storage_bytes);
  return w.Take();
}

Result<Estimate> DecodeEstimate(ByteView payload) {
  util::Reader r(payload);
  Estimate e;
  e.steps = r.U64();
  e.parameters = r.U64();
  e.flops_per_step = r.F64();
  e.checkpoints = r.U64();
  e.checkpoint_bytes = r.U64();
  e.storage_bytes = r.U64();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("worker estimate"));
  return e;
}

Bytes EncodeExported(const ExportedModel& m) {
  util::Writer w;
  w.LengthPrefixed(m.torchscript);
  w.LengthPrefixed(m.state_dict);
  w.U64(m.tensors);
  return w.Take();
}

Result<ExportedModel> DecodeExported(ByteView payload) {
  util::Reader r(payload);
  ExportedModel m;
  m.torchscript = r.LengthPrefixed(kExportBytesMax);
  m.state_dict = r.LengthPrefixed(kExportBytesMax);
  const uint64_t tensors = r.U64();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("worker export"));
  if (tensors > proof::kStateTensorsMax) return InvalidArgument("worker export: " + std::to_string(tensors) + " tensors");
  m.tensors = static_cast<size_t>(tensors);
  return m;
}

Bytes EncodeU64(uint64_t v) {
  util::Writer w;
  w.U64(v);
  return w.Take();
}

Result<uint64_t> DecodeU64(ByteView payload) {
  util::Reader r(payload);
  uint64_t v = r.U64();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("worker answer"));
  return v;
}

Bytes EncodeStartRecompute(const job::ExecutionProfile& profile) {
  util::Writer w;
  job::WriteExecutionProfile(w, profile);
  return w.Take();
}

Result<job::ExecutionProfile> DecodeStartRecompute(ByteView payload) {
  util::Reader r(payload);
  job::ExecutionProfile profile = job::ReadExecutionProfile(r);
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("worker recompute start request"));
  return profile;
}

Bytes EncodeHashes(const std::vector<Hash256>& hashes) {
  util::Writer w;
  w.U32(static_cast<uint32_t>(hashes.size()));
  for (const Hash256& h : hashes) w.Hash(h);
  return w.Take();
}

Result<std::vector<Hash256>> DecodeHashes(ByteView payload, uint64_t count_max) {
  util::Reader r(payload);
  const uint32_t n = r.ListLength(static_cast<uint32_t>(std::min<uint64_t>(count_max, UINT32_MAX)));
  std::vector<Hash256> hashes;
  for (uint32_t i = 0; i < n && r.ok(); ++i) hashes.push_back(r.Hash());
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("worker step hashes"));
  return hashes;
}

Bytes EncodeOpInputsRequest(const OpInputsRequest& request) {
  util::Writer w;
  w.U64(request.step);
  w.U64(request.op_index);
  return w.Take();
}

Result<OpInputsRequest> DecodeOpInputsRequest(ByteView payload) {
  util::Reader r(payload);
  OpInputsRequest request;
  request.step = r.U64();
  request.op_index = r.U64();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("worker operator inputs request"));
  return request;
}

Bytes EncodeRecomputeRequest(const proof::OpRecord& record, ByteView inputs) {
  util::Writer w;
  w.LengthPrefixed(proof::EncodeOpRecord(record));
  w.Raw(inputs);  // The rest of the message.
  return w.Take();
}

Result<std::pair<proof::OpRecord, ByteView>> DecodeRecomputeRequest(ByteView payload) {
  util::Reader r(payload);
  Bytes record_bytes = r.LengthPrefixed(kRecordBytesMax);
  CAIRN_RETURN_IF_ERROR(r.status().WithContext("worker recompute request"));
  CAIRN_ASSIGN_OR_RETURN(proof::OpRecord record, proof::DecodeOpRecord(record_bytes));
  return std::make_pair(std::move(record), ByteView(payload.data + r.offset(), payload.size - r.offset()));
}

Bytes EncodeHash(const Hash256& hash) {
  util::Writer w;
  w.Hash(hash);
  return w.Take();
}

Result<Hash256> DecodeHash(ByteView payload) {
  util::Reader r(payload);
  Hash256 hash = r.Hash();
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("worker hash"));
  return hash;
}

Bytes EncodeError(const Status& status) {
  util::Writer w;
  w.U8(static_cast<uint8_t>(status.code()));
  w.String(status.message().substr(0, kErrorMessageBytesMax));
  return w.Take();
}

Status DecodeError(ByteView payload) {
  util::Reader r(payload);
  uint8_t code = r.U8();
  std::string message = r.String(kErrorMessageBytesMax);
  if (!r.Finish().ok() || code == 0 || code > kStatusCodeMax) {
    return Internal("the training worker sent a malformed error message");
  }
  return Status(static_cast<StatusCode>(code), message);
}

}  // namespace cairn::train::worker
