// ResolveJobInputs on small files written by the test: hashes are filled in
// when the TOML omits them and checked when it gives them.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "job/job_fixture.h"
#include "job/spec.h"

namespace cairn::job {
namespace {

using testing::JobToml;
using testing::TempDir;

std::string BigEndian(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// `count` images of rows x cols pixels (pixel i of image n = n + i) and
// labels n % classes.
struct TinyIdx {
  std::string images;
  std::string labels;
};

TinyIdx WriteTinyIdx(const TempDir& dir, uint32_t count, uint32_t rows, uint32_t cols, const std::string& prefix = "",
                     uint32_t classes = 3) {
  std::string images = BigEndian(0x00000803) + BigEndian(count) + BigEndian(rows) + BigEndian(cols);
  std::string labels = BigEndian(0x00000801) + BigEndian(count);
  for (uint32_t n = 0; n < count; ++n) {
    for (uint32_t i = 0; i < rows * cols; ++i) images.push_back(static_cast<char>((n + i) & 0xff));
    labels.push_back(static_cast<char>(n % classes));
  }
  return {dir.Write(prefix + "images.idx", images), dir.Write(prefix + "labels.idx", labels)};
}

Result<JobSpec> ParseIn(const TempDir& dir, const JobToml& toml) {
  return ParseJobToml(toml.Text(), "job.toml", dir.path());
}

TEST(ResolveJobInputs, FillsTheContentHashAndReturnsTheDataset) {
  TempDir dir;
  WriteTinyIdx(dir, 6, 4, 4);
  JobSpec spec = ParseIn(dir, JobToml("images.idx", "labels.idx")).value();
  ASSERT_TRUE(spec.dataset.content_hash.IsZero());
  EXPECT_FALSE(InputsResolved(spec));
  const Hash256 unresolved_id = JobId(spec);

  auto dataset = ResolveJobInputs(&spec);
  ASSERT_TRUE(dataset.ok()) << dataset.status().ToString();
  EXPECT_EQ(dataset->size(), 6u);
  EXPECT_EQ(spec.dataset.content_hash, dataset->content_hash);
  EXPECT_FALSE(spec.dataset.content_hash.IsZero());
  EXPECT_TRUE(InputsResolved(spec));
  EXPECT_NE(JobId(spec), unresolved_id);  // The id covers the data.

  // Resolving again, with the hash now given, checks it and changes nothing.
  JobSpec again = spec;
  ASSERT_TRUE(ResolveJobInputs(&again).ok());
  EXPECT_EQ(JobId(again), JobId(spec));
}

TEST(ResolveJobInputs, AcceptsAMatchingContentHashFromToml) {
  TempDir dir;
  WriteTinyIdx(dir, 6, 4, 4);
  JobSpec filled = ParseIn(dir, JobToml("images.idx", "labels.idx")).value();
  ASSERT_TRUE(ResolveJobInputs(&filled).ok());

  JobToml toml("images.idx", "labels.idx");
  toml.Set("dataset", "content_hash", JobToml::Quoted(filled.dataset.content_hash.ToHex()));
  JobSpec given = ParseIn(dir, toml).value();
  ASSERT_TRUE(ResolveJobInputs(&given).ok());
  EXPECT_EQ(JobId(given), JobId(filled));
}

TEST(ResolveJobInputs, RefusesAMismatchedContentHashNamingBoth) {
  TempDir dir;
  WriteTinyIdx(dir, 6, 4, 4);
  WriteTinyIdx(dir, 7, 4, 4, "other-");
  JobSpec other = ParseIn(dir, JobToml("other-images.idx", "other-labels.idx")).value();
  ASSERT_TRUE(ResolveJobInputs(&other).ok());

  JobToml toml("images.idx", "labels.idx");
  const std::string wrong = other.dataset.content_hash.ToHex();
  toml.Set("dataset", "content_hash", JobToml::Quoted(wrong));
  JobSpec spec = ParseIn(dir, toml).value();
  const JobSpec before = spec;
  auto dataset = ResolveJobInputs(&spec);
  ASSERT_FALSE(dataset.ok());
  const std::string& message = dataset.status().message();
  EXPECT_NE(message.find("dataset.content_hash is " + wrong), std::string::npos) << message;
  auto actual = ParseIn(dir, JobToml("images.idx", "labels.idx")).value();
  ASSERT_TRUE(ResolveJobInputs(&actual).ok());
  EXPECT_NE(message.find("hashes to " + actual.dataset.content_hash.ToHex()), std::string::npos) << message;
  EXPECT_NE(message.find(dir.File("images.idx")), std::string::npos) << message;
  EXPECT_NE(message.find("delete dataset.content_hash"), std::string::npos) << message;
  EXPECT_EQ(EncodeJobSpec(spec), EncodeJobSpec(before));  // Unchanged on failure.
}

TEST(ResolveJobInputs, PrefixesDatasetLoadErrors) {
  TempDir dir;
  JobSpec spec = ParseIn(dir, JobToml("missing-images.idx", "missing-labels.idx")).value();
  auto dataset = ResolveJobInputs(&spec);
  ASSERT_FALSE(dataset.ok());
  EXPECT_EQ(dataset.status().message().rfind("dataset: ", 0), 0u) << dataset.status().message();
  EXPECT_NE(dataset.status().message().find("missing-images.idx"), std::string::npos) << dataset.status().message();
}

JobToml TorchScriptJob(const std::string& hash = "") {
  JobToml toml("images.idx", "labels.idx");
  toml.Set("model", "kind", "\"torchscript\"").Erase("model", "hidden_sizes").Set("model", "path", "\"model.pt\"");
  if (!hash.empty()) toml.Set("model", "hash", JobToml::Quoted(hash));
  return toml;
}

TEST(ResolveJobInputs, HashesTheTorchScriptFile) {
  TempDir dir;
  WriteTinyIdx(dir, 6, 4, 4);
  const std::string bytes = "not really a TorchScript archive, but bytes all the same";
  dir.Write("model.pt", bytes);
  const Hash256 expected = crypto::Blake2b256(ByteView(std::string_view(bytes)));

  JobSpec spec = ParseIn(dir, TorchScriptJob()).value();
  ASSERT_TRUE(ResolveJobInputs(&spec).ok());
  EXPECT_EQ(spec.model.torchscript_hash, expected);

  JobSpec given = ParseIn(dir, TorchScriptJob(expected.ToHex())).value();
  ASSERT_TRUE(ResolveJobInputs(&given).ok());
  EXPECT_EQ(JobId(given), JobId(spec));

  const std::string wrong(64, 'e');
  JobSpec mismatched = ParseIn(dir, TorchScriptJob(wrong)).value();
  auto result = ResolveJobInputs(&mismatched);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("model.hash is " + wrong), std::string::npos) << result.status().message();
  EXPECT_NE(result.status().message().find("hashes to " + expected.ToHex()), std::string::npos)
      << result.status().message();
}

TEST(ResolveJobInputs, HashesLargeFilesInChunks) {
  TempDir dir;
  WriteTinyIdx(dir, 6, 4, 4);
  std::string bytes(3 * (1 << 20) + 17, '\0');  // Crosses several 1 MiB chunks.
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131 % 251);
  dir.Write("model.pt", bytes);
  JobSpec spec = ParseIn(dir, TorchScriptJob()).value();
  ASSERT_TRUE(ResolveJobInputs(&spec).ok());
  EXPECT_EQ(spec.model.torchscript_hash, crypto::Blake2b256(ByteView(std::string_view(bytes))));
}

TEST(ResolveJobInputs, NamesAMissingModelFile) {
  TempDir dir;
  WriteTinyIdx(dir, 6, 4, 4);
  JobSpec spec = ParseIn(dir, TorchScriptJob()).value();
  auto result = ResolveJobInputs(&spec);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_NE(result.status().message().find("model.path: no such file: " + dir.File("model.pt")), std::string::npos)
      << result.status().message();
}

TEST(ResolveJobInputs, HashesTheInitialWeightsFile) {
  TempDir dir;
  WriteTinyIdx(dir, 6, 4, 4);
  dir.Write("weights.bin", "weights");
  JobToml toml("images.idx", "labels.idx");
  toml.Set("model", "init", "\"file\"").Set("model", "weights_path", "\"weights.bin\"");
  JobSpec spec = ParseIn(dir, toml).value();
  ASSERT_TRUE(ResolveJobInputs(&spec).ok());
  EXPECT_EQ(spec.model.weights_hash, crypto::Blake2b256(ByteView(std::string_view("weights"))));

  toml.Set("model", "weights_hash", JobToml::Quoted(std::string(64, 'f')));
  JobSpec mismatched = ParseIn(dir, toml).value();
  auto result = ResolveJobInputs(&mismatched);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("model.weights_hash is " + std::string(64, 'f')), std::string::npos)
      << result.status().message();
}

TEST(ResolveJobInputs, ChecksWhatNeedsTheDatasetSize) {
  TempDir dir;
  WriteTinyIdx(dir, 10, 4, 4);
  // 2 epochs of 10 examples in batches of 3: ceil(20 / 3) = 7 steps.
  JobToml toml("images.idx", "labels.idx");
  toml.Erase("", "steps").Set("", "epochs", "2").Set("", "batch_size", "3");
  JobSpec spec = ParseIn(dir, toml).value();
  auto dataset = ResolveJobInputs(&spec);
  ASSERT_TRUE(dataset.ok()) << dataset.status().ToString();
  EXPECT_EQ(ResolvedSteps(spec, dataset->size()), 7u);

  JobSpec warm = ParseIn(dir, toml.Set("schedule", "warmup_steps", "7")).value();
  auto result = ResolveJobInputs(&warm);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("schedule.warmup_steps (7) must be less than the job's steps"),
            std::string::npos)
      << result.status().message();
}

TEST(ResolveJobInputs, RefusesMoreConvBlocksThanTheImagesAllow) {
  TempDir dir;
  WriteTinyIdx(dir, 6, 4, 4);  // 4x4 -> 2x2 -> 1x1 -> nothing.
  JobToml toml("images.idx", "labels.idx");
  toml.Set("model", "kind", "\"cnn\"").Erase("model", "hidden_sizes").Set("model", "channels", "[2, 2]");
  JobSpec fits = ParseIn(dir, toml).value();
  ASSERT_TRUE(ResolveJobInputs(&fits).ok());

  JobSpec deep = ParseIn(dir, toml.Set("model", "channels", "[2, 2, 2]")).value();
  auto result = ResolveJobInputs(&deep);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("model.channels has 3 conv blocks, but 4x4 images allow at most 2"),
            std::string::npos)
      << result.status().message();
}

JobToml WithEvaluation(const std::string& prefix) {
  JobToml toml("images.idx", "labels.idx");
  toml.Set("evaluation", "format", "\"idx\"")
      .Set("evaluation", "images", JobToml::Quoted(prefix + "images.idx"))
      .Set("evaluation", "labels", JobToml::Quoted(prefix + "labels.idx"));
  return toml;
}

TEST(ResolveJobInputs, LoadsTheEvaluationSetAndHashesItIntoTheJobId) {
  TempDir dir;
  WriteTinyIdx(dir, 6, 4, 4);
  WriteTinyIdx(dir, 5, 4, 4, "test-");
  JobSpec plain = ParseIn(dir, JobToml("images.idx", "labels.idx")).value();
  std::optional<data::Dataset> none = data::Dataset{};
  ASSERT_TRUE(ResolveJobInputs(&plain, &none).ok());
  EXPECT_FALSE(none.has_value()) << "a job without [evaluation] resets the out-parameter";

  JobSpec spec = ParseIn(dir, WithEvaluation("test-")).value();
  EXPECT_FALSE(InputsResolved(spec));
  std::optional<data::Dataset> evaluation;
  auto dataset = ResolveJobInputs(&spec, &evaluation);
  ASSERT_TRUE(dataset.ok()) << dataset.status().ToString();
  EXPECT_EQ(dataset->size(), 6u);
  ASSERT_TRUE(evaluation.has_value());
  EXPECT_EQ(evaluation->size(), 5u);
  EXPECT_EQ(spec.evaluation->dataset.content_hash, evaluation->content_hash);
  EXPECT_NE(evaluation->content_hash, dataset->content_hash);
  EXPECT_TRUE(InputsResolved(spec));
  EXPECT_NE(JobId(spec), JobId(plain));

  // Without an out-parameter the set is still hashed (the id covers it).
  JobSpec unstored = ParseIn(dir, WithEvaluation("test-")).value();
  ASSERT_TRUE(ResolveJobInputs(&unstored).ok());
  EXPECT_EQ(JobId(unstored), JobId(spec));

  // Other evaluation data gives another job.
  WriteTinyIdx(dir, 4, 4, 4, "other-");
  JobSpec other = ParseIn(dir, WithEvaluation("other-")).value();
  ASSERT_TRUE(ResolveJobInputs(&other).ok());
  EXPECT_NE(JobId(other), JobId(spec));
}

TEST(ResolveJobInputs, RefusesAMismatchedEvaluationHashNamingBoth) {
  TempDir dir;
  WriteTinyIdx(dir, 6, 4, 4);
  WriteTinyIdx(dir, 5, 4, 4, "test-");
  WriteTinyIdx(dir, 4, 4, 4, "other-");
  JobSpec resolved = ParseIn(dir, WithEvaluation("other-")).value();
  ASSERT_TRUE(ResolveJobInputs(&resolved).ok());
  const std::string pinned = resolved.evaluation->dataset.content_hash.ToHex();
  JobSpec spec = ParseIn(dir, WithEvaluation("test-").Set("evaluation", "content_hash", JobToml::Quoted(pinned))).value();
  std::optional<data::Dataset> evaluation;
  auto result = ResolveJobInputs(&spec, &evaluation);
  ASSERT_FALSE(result.ok());
  const std::string& message = result.status().message();
  EXPECT_NE(message.find("evaluation.content_hash is " + pinned), std::string::npos) << message;
  EXPECT_NE(message.find("test-images.idx"), std::string::npos) << message;
  EXPECT_NE(message.find("Point evaluation.images and evaluation.labels"), std::string::npos) << message;
  EXPECT_FALSE(evaluation.has_value());
  EXPECT_EQ(spec.evaluation->dataset.content_hash.ToHex(), pinned);  // Unchanged on failure.
}

TEST(ResolveJobInputs, RefusesAnEvaluationSetThatDoesNotFitTheModel) {
  TempDir dir;
  WriteTinyIdx(dir, 6, 4, 4);
  WriteTinyIdx(dir, 5, 5, 4, "wide-");
  WriteTinyIdx(dir, 8, 4, 4, "classes-", /*classes=*/5);
  WriteTinyIdx(dir, 8, 4, 4, "fewer-", /*classes=*/2);

  JobSpec shape = ParseIn(dir, WithEvaluation("wide-")).value();
  auto result = ResolveJobInputs(&shape);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("has examples of shape [1, 5, 4], the training set [1, 4, 4]"),
            std::string::npos)
      << result.status().message();

  JobSpec classes = ParseIn(dir, WithEvaluation("classes-")).value();
  result = ResolveJobInputs(&classes);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("has labels up to 4, but the training set has 3 classes"),
            std::string::npos)
      << result.status().message();

  // A test set that happens to lack a class still scores the model.
  JobSpec fewer = ParseIn(dir, WithEvaluation("fewer-")).value();
  EXPECT_TRUE(ResolveJobInputs(&fewer).ok());

  JobSpec missing = ParseIn(dir, WithEvaluation("absent-")).value();
  result = ResolveJobInputs(&missing);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message().rfind("evaluation: ", 0), 0u) << result.status().message();
  EXPECT_NE(result.status().message().find("absent-images.idx"), std::string::npos) << result.status().message();
}

TEST(ResolveJobInputs, ResolvesTheShippedExample) {
  const std::string images = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  if (!std::filesystem::exists(images)) GTEST_SKIP() << images << " is not installed";
  auto spec = LoadJobFile(std::string(CAIRN_SOURCE_DIR) + "/configs/jobs/mlp.toml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto dataset = ResolveJobInputs(&*spec);
  ASSERT_TRUE(dataset.ok()) << dataset.status().ToString();
  EXPECT_EQ(dataset->size(), 60000u);
  EXPECT_EQ(dataset->num_classes, 10u);
  EXPECT_TRUE(InputsResolved(*spec));
}

}  // namespace
}  // namespace cairn::job
