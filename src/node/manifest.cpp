#include "node/manifest.h"

#include "util/codec.h"

namespace cairn::node {
namespace {

constexpr char kMagic[] = "CAIRNJM1";
constexpr size_t kMagicBytes = 8;
constexpr uint8_t kRoleMax = 6;

// Where each role's path lives in a spec.
std::string* PathFor(job::JobSpec* spec, InputRole role) {
  switch (role) {
    case InputRole::kDatasetFeatures: return &spec->dataset.source.features_path;
    case InputRole::kDatasetLabels: return &spec->dataset.source.labels_path;
    case InputRole::kEvaluationFeatures: return spec->evaluation ? &spec->evaluation->dataset.source.features_path : nullptr;
    case InputRole::kEvaluationLabels: return spec->evaluation ? &spec->evaluation->dataset.source.labels_path : nullptr;
    case InputRole::kTorchScript: return &spec->model.torchscript_path;
    case InputRole::kWeights: return &spec->model.weights_path;
  }
  return nullptr;
}

// The roles a spec's kinds use, in order.
std::vector<InputRole> RolesOf(const job::JobSpec& spec) {
  std::vector<InputRole> roles{InputRole::kDatasetFeatures};
  if (spec.dataset.source.format == data::DatasetFormat::kIdx) roles.push_back(InputRole::kDatasetLabels);
  if (spec.evaluation) {
    roles.push_back(InputRole::kEvaluationFeatures);
    if (spec.evaluation->dataset.source.format == data::DatasetFormat::kIdx) roles.push_back(InputRole::kEvaluationLabels);
  }
  if (spec.model.kind == job::ModelKind::kTorchScript) roles.push_back(InputRole::kTorchScript);
  if (spec.model.init == job::WeightInit::kFile) roles.push_back(InputRole::kWeights);
  return roles;
}

}  // namespace

const char* InputRoleName(InputRole role) {
  switch (role) {
    case InputRole::kDatasetFeatures: return "dataset features";
    case InputRole::kDatasetLabels: return "dataset labels";
    case InputRole::kEvaluationFeatures: return "evaluation features";
    case InputRole::kEvaluationLabels: return "evaluation labels";
    case InputRole::kTorchScript: return "torchscript model";
    case InputRole::kWeights: return "initial weights";
  }
  return "unknown input";
}

Bytes EncodeManifest(const JobManifest& manifest) {
  util::Writer w;
  w.Raw(ByteView(reinterpret_cast<const uint8_t*>(kMagic), kMagicBytes));
  w.LengthPrefixed(manifest.spec);
  w.U32(static_cast<uint32_t>(manifest.inputs.size()));
  for (const ManifestInput& in : manifest.inputs) {
    w.U8(static_cast<uint8_t>(in.role));
    w.Hash(in.hash);
    w.U64(in.size);
  }
  return w.Take();
}

Result<JobManifest> DecodeManifest(ByteView bytes) {
  if (bytes.size > kManifestBytesMax) {
    return InvalidArgument("job manifest of " + std::to_string(bytes.size) + " bytes is over the limit of " +
                           std::to_string(kManifestBytesMax));
  }
  util::Reader r(bytes);
  uint8_t magic[kMagicBytes] = {};
  r.Raw(magic, kMagicBytes);
  if (r.ok() && std::string_view(reinterpret_cast<char*>(magic), kMagicBytes) != kMagic) r.Fail("not a job manifest (bad magic)");
  JobManifest m;
  m.spec = r.LengthPrefixed(job::kJobFileBytesMax);
  uint32_t n = r.ListLength(kRoleMax);
  uint8_t previous = 0;
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    ManifestInput in;
    uint8_t role = r.U8();
    if (r.ok() && (role <= previous || role > kRoleMax)) r.Fail("input role " + std::to_string(role) + " unknown or out of order");
    previous = role;
    in.role = static_cast<InputRole>(role);
    in.hash = r.Hash();
    in.size = r.U64();
    if (r.ok() && in.size > kBlobBytesMax) r.Fail("input of " + std::to_string(in.size) + " bytes is over the blob limit");
    m.inputs.push_back(in);
  }
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("job manifest"));
  CAIRN_RETURN_IF_ERROR(job::DecodeJobSpec(m.spec).status().WithContext("job manifest's spec"));
  return m;
}

std::vector<std::pair<InputRole, std::string>> InputFiles(const job::JobSpec& spec) {
  job::JobSpec copy = spec;
  std::vector<std::pair<InputRole, std::string>> files;
  for (InputRole role : RolesOf(spec)) files.emplace_back(role, *PathFor(&copy, role));
  return files;
}

Result<JobManifest> BuildManifest(const job::JobSpec& spec, BlobStore* blobs) {
  JobManifest m;
  m.spec = job::EncodeJobSpec(spec);
  for (const auto& [role, path] : InputFiles(spec)) {
    auto hash = blobs->PutFile(path);
    if (!hash.ok()) return hash.status().WithContext(InputRoleName(role));
    m.inputs.push_back({role, *hash, *blobs->Stat(*hash)});
  }
  return m;
}

Result<job::JobSpec> MaterializeJob(const JobManifest& manifest, const Hash256& job_id, const BlobStore& blobs) {
  CAIRN_ASSIGN_OR_RETURN(job::JobSpec spec, job::DecodeJobSpec(manifest.spec));
  if (job::JobId(spec) != job_id) {
    return InvalidArgument("job manifest's spec is job " + job::JobId(spec).ToHex().substr(0, 16) + ", not " +
                           job_id.ToHex().substr(0, 16));
  }
  std::vector<InputRole> roles = RolesOf(spec);
  if (roles.size() != manifest.inputs.size()) {
    return InvalidArgument("job manifest lists " + std::to_string(manifest.inputs.size()) + " inputs; its spec uses " +
                           std::to_string(roles.size()));
  }
  for (size_t i = 0; i < roles.size(); ++i) {
    const ManifestInput& in = manifest.inputs[i];
    if (in.role != roles[i]) return InvalidArgument(std::string("job manifest is missing its ") + InputRoleName(roles[i]));
    if (!blobs.Stat(in.hash)) return NotFound(std::string(InputRoleName(in.role)) + " blob " + in.hash.ToHex().substr(0, 16) + " is not here yet");
    *PathFor(&spec, in.role) = blobs.PathOf(in.hash);
  }
  return spec;
}

}  // namespace cairn::node
