// Job specs: everything that determines a training computation.
//
// A spec is written by a submitter as TOML (docs/jobs.md and
// configs/jobs/README.md document every key), parsed strictly, and given a
// canonical binary encoding;
// job_id = TaggedHash("cairn/job/v1", encoding). File paths say where inputs
// are on this machine and are NOT part of the encoding: inputs are identified
// by content hash, so the same job has the same id everywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cairn/bytes.h"
#include "cairn/status.h"
#include "data/dataset.h"
#include "util/codec.h"

namespace cairn::job {

inline constexpr uint64_t kStepsMax = 100'000'000;  // Also bounds epochs (an epoch is >= 1 step).
inline constexpr uint32_t kBatchSizeMax = 65'536;
inline constexpr uint32_t kHiddenLayersMax = 16;    // mlp hidden layers, cnn blocks, transformer layers.
inline constexpr uint32_t kLayerWidthMax = 65'536;  // Widths, channels, d_model, feedforward, heads.
inline constexpr uint32_t kThreadsMax = 256;
inline constexpr uint64_t kCheckpointsPerJobMax = 100'000;  // Including step 0 and the final step.
inline constexpr uint32_t kSampledSegmentsMax = 1'000;      // verification.top_q + verification.uniform.
inline constexpr size_t kNameBytesMax = 256;
inline constexpr size_t kLabelColumnBytesMax = 256;
inline constexpr size_t kProfileStringBytesMax = 32;        // blas, openblas_coretype.
inline constexpr size_t kJobFileBytesMax = 1 << 20;         // The TOML file.
inline constexpr uint64_t kModelFileBytesMax = 2ull << 30;  // TorchScript and weights files.

enum class ModelKind : uint8_t { kMlp = 1, kCnn = 2, kTransformer = 3, kTorchScript = 4 };
enum class WeightInit : uint8_t { kSeed = 1, kFile = 2 };

struct ModelSpec {
  ModelKind kind = ModelKind::kMlp;
  // mlp: hidden layer widths (Linear + ReLU each), then a Linear classifier.
  std::vector<uint32_t> hidden_sizes;
  // cnn: output channels of each 3x3 conv block (conv, ReLU, 2x2 max-pool), then a Linear classifier.
  std::vector<uint32_t> channels;
  // transformer: each example is a sequence (IDX images: one token per row;
  // CSV: one single-value token per feature column),
  // linearly embedded to d_model with learned positions, `layers` pre-norm
  // encoder layers, mean-pooled, then a Linear classifier.
  uint32_t d_model = 0;
  uint32_t heads = 0;
  uint32_t layers = 0;
  uint32_t feedforward = 0;
  // torchscript: a module saved by torch.jit.script(m).save(path); forward(x)
  // takes a float batch of the dataset's feature shape and returns logits.
  std::string torchscript_path;  // Not hashed.
  Hash256 torchscript_hash;      // BLAKE2b-256 of the file's bytes.
  // Initial weights: from the job seed, or (fine-tuning) from a file.
  WeightInit init = WeightInit::kSeed;
  std::string weights_path;  // Not hashed.
  Hash256 weights_hash;
};

struct DatasetSpec {
  data::DatasetSource source;  // Paths: not hashed. Format and label column: hashed.
  Hash256 content_hash;        // Must equal the loaded dataset's content hash.
};

// [evaluation]: a held-out dataset the trained model is scored on (test loss
// and accuracy; `cairn eval`). Same keys and formats as [dataset]; its
// examples must have the training set's feature shape and its labels must be
// classes of the training set. Hashed into the job id when present.
struct EvaluationSpec {
  DatasetSpec dataset;
};

enum class OptimizerKind : uint8_t { kSgd = 1, kAdam = 2, kAdamW = 3 };

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::kSgd;
  double learning_rate = 0.01;
  double momentum = 0.0;      // sgd
  bool nesterov = false;      // sgd
  double weight_decay = 0.0;  // sgd, adam (L2), adamw (decoupled)
  double beta1 = 0.9;         // adam, adamw
  double beta2 = 0.999;
  double epsilon = 1e-8;
};

enum class ScheduleKind : uint8_t { kConstant = 1, kStep = 2, kCosine = 3 };

// The learning rate at step t is a pure function of t (LearningRateAt).
struct ScheduleSpec {
  ScheduleKind kind = ScheduleKind::kConstant;
  uint64_t warmup_steps = 0;  // Linear warm-up from 0 over these steps (all kinds).
  uint64_t step_size = 0;     // step: multiply by gamma every step_size steps.
  double gamma = 0.1;
  double min_learning_rate = 0.0;  // cosine: floor of the decay.
};

enum class VerificationMode : uint8_t { kExact = 1, kTolerance = 2 };

struct VerificationSpec {
  VerificationMode mode = VerificationMode::kExact;
  uint32_t top_q = 2;    // Segments with the largest update norm, always replayed.
  uint32_t uniform = 4;  // Plus this many uniformly sampled segments.
  // Tolerance mode: largest accepted distances between a replayed and a
  // committed checkpoint. 0 means "profile them" (cairn verify --profile).
  double l2_relative_max = 0.0;
  double linf_max = 0.0;
  double cosine_distance_max = 0.0;
};

enum class Device : uint8_t { kCpu = 1, kCuda = 2 };

// Which operators compute a training step. kAten: libtorch's (their bits
// depend on threads, ISA and BLAS, which the profile pins). kRepro: cairn's
// reproducible kernels (kernels/, docs/kernels.md) for every arithmetic
// operation of the step, whose bits depend on none of those; built-in models
// on the CPU only.
enum class Kernels : uint8_t { kAten = 1, kRepro = 2 };

// What changes floating-point results, pinned. Applied by solver and
// verifier before any computation; recorded in the certificate. With
// kernels = repro only device, threads and kernels apply: the ATen fields
// keep their defaults (ValidateJobSpec), and a verifier may replay with
// other threads, another ISA and another BLAS (docs/certificates.md).
struct ExecutionProfile {
  Device device = Device::kCpu;
  uint32_t threads = 1;                      // torch intra-op threads (and the repro kernels' threads).
  std::string aten_cpu_capability = "avx2";  // ATEN_CPU_CAPABILITY: default, avx2, avx512.
  std::string blas = "openblas";             // The BLAS libtorch must be using.
  std::string openblas_coretype;  // OPENBLAS_CORETYPE in effect; "" = whatever the machine presets (recorded).
  bool onednn = false;            // oneDNN (mkldnn) kernels on or off.
  Kernels kernels = Kernels::kAten;
};

struct JobSpec {
  std::string name;  // Free text for humans; hashed.
  ModelSpec model;
  DatasetSpec dataset;
  OptimizerSpec optimizer;
  ScheduleSpec schedule;
  uint32_t batch_size = 0;
  uint64_t steps = 0;   // Exactly one of steps and epochs is non-zero.
  uint64_t epochs = 0;  // Resolved to steps = ceil(epochs * n / batch_size) once n is known.
  uint64_t seed = 0;
  uint32_t checkpoint_interval = 0;  // k: a checkpoint every k steps (and at the end).
  VerificationSpec verification;
  ExecutionProfile profile;
  // Absent: no evaluation, and the encoding is exactly that of a job from
  // before evaluation existed (its id does not change).
  std::optional<EvaluationSpec> evaluation;
};

// Parses a TOML job file (docs/jobs.md, configs/jobs/README.md) and runs
// ValidateJobSpec. Relative paths are resolved against base_dir (the file's
// directory; "" leaves them relative to the working directory). Unknown keys,
// and keys that do not apply to the chosen kind (`channels` for an mlp), are
// refused. Errors name the file and the key and say what is expected:
// "job.toml: optimizer.learning_rate must be a positive finite number, got -0.1".
Result<JobSpec> ParseJobToml(const std::string& text, const std::string& source_name, const std::string& base_dir);
// Reads at most kJobFileBytesMax bytes from `path`; source_name = path.
Result<JobSpec> LoadJobFile(const std::string& path);

// Checks consistency that TOML types cannot express (ranges, kind-specific
// fields present, fields of other kinds left at their defaults, exactly one
// of steps/epochs, ...). Messages name the TOML key ("batch_size must be in
// 1..65536, got 0") without a file name.
Status ValidateJobSpec(const JobSpec& spec);

// Validates, loads the dataset and hashes the TorchScript / weights files
// named by the spec. A hash the TOML omitted is filled in (so job_id covers
// it); a hash the TOML gave must match, else an error says both values. Also
// checks what needs the data: an epochs job's resolved step count, and that
// the dataset suits the model (cnn pooling vs image size). With an
// [evaluation] section, loads that dataset too, fills in or checks its
// content hash and checks it fits the training set (CheckEvaluationFits); it
// is stored in *evaluation when that is not null (else only hashed), and
// *evaluation is reset for a job without one. `*spec` and `*evaluation`
// change only on success. Returns the loaded training dataset so callers do
// not load it twice.
// REQUIRES: spec != nullptr.
Result<data::Dataset> ResolveJobInputs(JobSpec* spec, std::optional<data::Dataset>* evaluation = nullptr);

// Whether `evaluation` can score a model trained on `training`: the same
// feature shape per example, and every label one of the training set's
// classes (the model has training.num_classes outputs). `what` names the
// evaluation data in messages.
Status CheckEvaluationFits(const data::Dataset& training, const data::Dataset& evaluation, const std::string& what);

// True once every input hash the spec's kinds use is known (non-zero).
bool InputsResolved(const JobSpec& spec);

// Canonical encoding (docs/jobs.md gives the field order): paths excluded,
// fields of kinds not chosen excluded, doubles as IEEE-754 bit patterns.
// REQUIRES: ValidateJobSpec(spec).ok(). Compute the id after ResolveJobInputs
// (InputsResolved): a zero input hash would give an id no resolved job has.
Bytes EncodeJobSpec(const JobSpec& spec);
// The inverse of EncodeJobSpec for specs that arrive as bytes (from a peer,
// or from the node to its training worker): strict and canonical (re-encoding
// gives the same bytes), validated with ValidateJobSpec. Paths are empty.
Result<JobSpec> DecodeJobSpec(ByteView bytes);
// The profile's canonical fields, shared by the job encoding and certificates.
void WriteExecutionProfile(util::Writer& w, const ExecutionProfile& profile);
ExecutionProfile ReadExecutionProfile(util::Reader& r);
// TaggedHash("cairn/job/v1", EncodeJobSpec(spec)).
Hash256 JobId(const JobSpec& spec);

// spec.steps, or for an epochs job ceil(epochs * dataset_size / batch_size).
// REQUIRES: ValidateJobSpec(spec).ok(), 1 <= dataset_size <= data::kExamplesMax.
// The result may exceed kStepsMax for an epochs job; ResolveJobInputs refuses that.
uint64_t ResolvedSteps(const JobSpec& spec, uint64_t dataset_size);
// Number of checkpoints: steps 0, k, 2k, ... <= total_steps, plus total_steps
// itself when it is not a multiple of k (k = checkpoint_interval >= 1).
uint64_t CheckpointCount(const JobSpec& spec, uint64_t total_steps);

// Learning rate at 0-based step t of total_steps (docs/jobs.md, "Learning
// rate"): linear warm-up, then constant / step decay / cosine. A pure,
// platform-independent function of its arguments: it uses only IEEE-754
// +, -, *, / (no libm), so solver and verifier agree bit for bit.
double LearningRateAt(const JobSpec& spec, uint64_t step, uint64_t total_steps);

// The TOML spellings: "mlp", "cnn", "transformer", "torchscript"; "sgd", "adam", "adamw"; "aten", "repro".
std::string ModelKindName(ModelKind kind);
std::string OptimizerKindName(OptimizerKind kind);
std::string KernelsName(Kernels kernels);

}  // namespace cairn::job
