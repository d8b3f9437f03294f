// ResolveJobInputs: loads the dataset, hashes the model files, and fills in
// or checks the hashes the job id covers.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "crypto/hash.h"
#include "job/spec.h"

namespace cairn::job {
namespace {

constexpr size_t kHashChunkBytes = 1 << 20;

// BLAKE2b-256 of a file's bytes, streamed in chunks; refuses files over
// kModelFileBytesMax. `key` names the TOML key in messages.
Result<Hash256> HashFile(const std::string& key, const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return NotFound(key + ": no such file: " + path);
    return IoError(key + ": cannot stat " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) return InvalidArgument(key + ": " + path + " is not a regular file");
  if (static_cast<uint64_t>(info.st_size) > kModelFileBytesMax) {
    return ResourceExhausted(key + ": " + path + " is " + std::to_string(info.st_size) +
                             " bytes, more than the limit of " + std::to_string(kModelFileBytesMax));
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) return IoError(key + ": cannot open " + path + ": " + std::strerror(errno));
  crypto::Hasher hasher;
  std::vector<uint8_t> chunk(kHashChunkBytes);
  uint64_t total_bytes = 0;
  for (;;) {
    size_t n = std::fread(chunk.data(), 1, chunk.size(), file.get());
    total_bytes += n;
    // The file may grow between stat and read: the limit holds for what is hashed.
    if (total_bytes > kModelFileBytesMax) {
      return ResourceExhausted(key + ": " + path + " grew past the limit of " + std::to_string(kModelFileBytesMax) +
                               " bytes while being read");
    }
    hasher.Update(ByteView(chunk.data(), n));
    if (n < chunk.size()) break;
  }
  if (std::ferror(file.get())) return IoError(key + ": cannot read " + path);
  return hasher.Finish();
}

// Fills *expected if it is zero, else checks it against `actual`.
Status FillOrCheck(const std::string& key, const std::string& what, const std::string& fix, const Hash256& actual,
                   Hash256* expected) {
  if (expected->IsZero()) {
    *expected = actual;
    return Status::Ok();
  }
  if (*expected == actual) return Status::Ok();
  return InvalidArgument(key + " is " + expected->ToHex() + " but " + what + " hashes to " + actual.ToHex() +
                         ": these are not the inputs this job was written for. " + fix + ", or delete " + key +
                         " to accept these files (which gives a different job id)");
}

// Conv blocks halve the image with a 2x2 max-pool; at least 1x1 must remain.
Status CheckCnnFitsImages(const ModelSpec& model, const data::Dataset& dataset) {
  if (model.kind != ModelKind::kCnn) return Status::Ok();
  if (dataset.feature_shape.size() != 3) {
    return InvalidArgument(
        "model.kind = \"cnn\" needs images (channels, rows, cols), but the dataset's examples have " +
        std::to_string(dataset.feature_shape.size()) + " dimensions");
  }
  int64_t rows = dataset.feature_shape[1];
  int64_t cols = dataset.feature_shape[2];
  for (size_t i = 0; i < model.channels.size(); ++i) {
    rows /= 2;
    cols /= 2;
    if (rows < 1 || cols < 1) {
      return InvalidArgument("model.channels has " + std::to_string(model.channels.size()) + " conv blocks, but " +
                             std::to_string(dataset.feature_shape[1]) + "x" + std::to_string(dataset.feature_shape[2]) +
                             " images allow at most " + std::to_string(i) + " (each 2x2 max-pool halves the size)");
    }
  }
  return Status::Ok();
}

// Where a dataset's data comes from, for messages.
std::string DescribeSource(const data::DatasetSource& source) {
  return source.format == data::DatasetFormat::kIdx ? source.features_path + " and " + source.labels_path
                                                    : source.features_path;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// Loads the [evaluation] dataset and fills in or checks its content hash.
Result<data::Dataset> LoadEvaluationSet(const data::Dataset& training, DatasetSpec* evaluation) {
  const data::DatasetSource& source = evaluation->source;
  auto loaded = data::LoadDataset(source);
  if (!loaded.ok()) return loaded.status().WithContext("evaluation");
  const bool idx = source.format == data::DatasetFormat::kIdx;
  CAIRN_RETURN_IF_ERROR(FillOrCheck(
      "evaluation.content_hash", "the dataset in " + DescribeSource(source),
      idx ? "Point evaluation.images and evaluation.labels at the right files" : "Point evaluation.csv at the right file",
      loaded->content_hash, &evaluation->content_hash));
  CAIRN_RETURN_IF_ERROR(CheckEvaluationFits(training, *loaded, "evaluation set " + DescribeSource(source)));
  return loaded;
}

}  // namespace

Status CheckEvaluationFits(const data::Dataset& training, const data::Dataset& evaluation, const std::string& what) {
  if (evaluation.size() == 0) return InvalidArgument(what + " has no examples");
  if (evaluation.feature_shape != training.feature_shape) {
    return InvalidArgument(what + " has examples of shape " + ShapeText(evaluation.feature_shape) +
                           ", the training set " + ShapeText(training.feature_shape) +
                           "; the model takes the training set's shape");
  }
  if (evaluation.num_classes > training.num_classes) {
    return InvalidArgument(what + " has labels up to " + std::to_string(evaluation.num_classes - 1) +
                           ", but the training set has " + std::to_string(training.num_classes) +
                           " classes (0.." + std::to_string(training.num_classes - 1) +
                           "), so the model has no output for them");
  }
  return Status::Ok();
}

Result<data::Dataset> ResolveJobInputs(JobSpec* spec, std::optional<data::Dataset>* evaluation) {
  CAIRN_ASSERT(spec != nullptr);
  CAIRN_RETURN_IF_ERROR(ValidateJobSpec(*spec));
  JobSpec resolved = *spec;  // *spec changes only if everything succeeds.

  const data::DatasetSource& source = resolved.dataset.source;
  auto loaded = data::LoadDataset(source);
  if (!loaded.ok()) return loaded.status().WithContext("dataset");
  data::Dataset dataset = std::move(loaded).value();
  const bool idx = source.format == data::DatasetFormat::kIdx;
  CAIRN_RETURN_IF_ERROR(FillOrCheck(
      "dataset.content_hash", "the dataset in " + DescribeSource(source),
      idx ? "Point dataset.images and dataset.labels at the right files" : "Point dataset.csv at the right file",
      dataset.content_hash, &resolved.dataset.content_hash));

  ModelSpec& model = resolved.model;
  if (model.kind == ModelKind::kTorchScript) {
    CAIRN_ASSIGN_OR_RETURN(Hash256 actual, HashFile("model.path", model.torchscript_path));
    CAIRN_RETURN_IF_ERROR(FillOrCheck("model.hash", model.torchscript_path, "Point model.path at the right file",
                                      actual, &model.torchscript_hash));
  }
  if (model.init == WeightInit::kFile) {
    CAIRN_ASSIGN_OR_RETURN(Hash256 actual, HashFile("model.weights_path", model.weights_path));
    CAIRN_RETURN_IF_ERROR(FillOrCheck("model.weights_hash", model.weights_path,
                                      "Point model.weights_path at the right file", actual, &model.weights_hash));
  }
  CAIRN_RETURN_IF_ERROR(CheckCnnFitsImages(model, dataset));

  // What an epochs job could not check before the dataset size was known.
  if (dataset.size() < 1 || dataset.size() > data::kExamplesMax) {
    return InvalidArgument("dataset: has " + std::to_string(dataset.size()) + " examples; expected 1.." +
                           std::to_string(data::kExamplesMax));
  }
  const uint64_t total_steps = ResolvedSteps(resolved, dataset.size());
  if (resolved.epochs != 0) {
    const std::string resolved_text = "epochs = " + std::to_string(resolved.epochs) + " over " +
                                      std::to_string(dataset.size()) + " examples in batches of " +
                                      std::to_string(resolved.batch_size) + " is " + std::to_string(total_steps) +
                                      " steps";
    if (total_steps > kStepsMax) {
      return InvalidArgument(resolved_text + "; at most " + std::to_string(kStepsMax) + " are allowed");
    }
    if (resolved.schedule.warmup_steps >= total_steps) {
      return InvalidArgument("schedule.warmup_steps (" + std::to_string(resolved.schedule.warmup_steps) +
                             ") must be less than the job's steps: " + resolved_text);
    }
    if (CheckpointCount(resolved, total_steps) > kCheckpointsPerJobMax) {
      return InvalidArgument("checkpoint_interval = " + std::to_string(resolved.checkpoint_interval) + " gives " +
                             std::to_string(CheckpointCount(resolved, total_steps)) + " checkpoints; at most " +
                             std::to_string(kCheckpointsPerJobMax) + " are allowed (" + resolved_text + ")");
    }
  }
  std::optional<data::Dataset> evaluation_set;
  if (resolved.evaluation) {
    CAIRN_ASSIGN_OR_RETURN(evaluation_set, LoadEvaluationSet(dataset, &resolved.evaluation->dataset));
  }
  *spec = std::move(resolved);
  if (evaluation != nullptr) *evaluation = std::move(evaluation_set);
  return dataset;
}

}  // namespace cairn::job
