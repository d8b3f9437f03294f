// Job TOML: the shipped examples parse, and every mistake is refused with a
// message that names the file and the key.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "job/job_fixture.h"
#include "job/spec.h"

namespace cairn::job {
namespace {

using testing::JobToml;
using testing::TempDir;

Result<JobSpec> Parse(const JobToml& toml) { return ParseJobToml(toml.Text(), "job.toml", ""); }

TEST(JobSpec, ParsesEveryShippedExample) {
  for (const char* name : {"mlp", "cnn", "transformer"}) {
    SCOPED_TRACE(name);
    auto spec = LoadJobFile(std::string(CAIRN_SOURCE_DIR) + "/configs/jobs/" + name + ".toml");
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    EXPECT_EQ(ModelKindName(spec->model.kind), name);
    EXPECT_EQ(spec->dataset.source.features_path, "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
    EXPECT_EQ(spec->dataset.source.labels_path, "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz");
    EXPECT_EQ(spec->profile.threads, 1u);
    EXPECT_EQ(spec->profile.aten_cpu_capability, "avx2");
    EXPECT_FALSE(spec->profile.onednn);
    // The examples are sized for ~20-50 checkpoints.
    uint64_t checkpoints = CheckpointCount(*spec, spec->steps);
    EXPECT_GE(checkpoints, 20u);
    EXPECT_LE(checkpoints, 50u);
  }
}

TEST(JobSpec, ParsesTheReproExamples) {
  for (const char* name : {"mlp", "transformer"}) {
    SCOPED_TRACE(name);
    auto spec = LoadJobFile(std::string(CAIRN_SOURCE_DIR) + "/configs/jobs/" + name + "-repro.toml");
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    EXPECT_EQ(ModelKindName(spec->model.kind), name);
    EXPECT_EQ(spec->profile.kernels, Kernels::kRepro);
    EXPECT_EQ(spec->profile.aten_cpu_capability, ExecutionProfile{}.aten_cpu_capability);  // The untouched default.
  }
}

TEST(JobSpec, ReadsTheKernelsOfTheProfile) {
  auto aten = Parse(JobToml());
  ASSERT_TRUE(aten.ok()) << aten.status().ToString();
  EXPECT_EQ(aten->profile.kernels, Kernels::kAten);  // The default.
  auto repro = Parse(JobToml().Set("profile", "kernels", "\"repro\"").Set("profile", "threads", "2"));
  ASSERT_TRUE(repro.ok()) << repro.status().ToString();
  EXPECT_EQ(repro->profile.kernels, Kernels::kRepro);
  EXPECT_EQ(repro->profile.threads, 2u);
  for (const char* optimizer : {"\"adam\"", "\"adamw\""}) {
    auto other = Parse(JobToml().Set("profile", "kernels", "\"repro\"").Set("optimizer", "kind", optimizer));
    EXPECT_TRUE(other.ok()) << other.status().ToString();
  }
}

TEST(JobSpec, ReadsEveryKeyOfTheMlpExample) {
  auto spec = LoadJobFile(std::string(CAIRN_SOURCE_DIR) + "/configs/jobs/mlp.toml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->name, "fashion-mnist mlp 256-128");
  EXPECT_EQ(spec->batch_size, 128u);
  EXPECT_EQ(spec->steps, 14000u);
  EXPECT_EQ(spec->epochs, 0u);
  EXPECT_EQ(spec->seed, 1u);
  EXPECT_EQ(spec->checkpoint_interval, 500u);
  EXPECT_EQ(spec->model.hidden_sizes, (std::vector<uint32_t>{256, 128}));
  EXPECT_EQ(spec->model.init, WeightInit::kSeed);
  EXPECT_EQ(spec->optimizer.kind, OptimizerKind::kSgd);
  EXPECT_EQ(spec->optimizer.learning_rate, 0.05);
  EXPECT_EQ(spec->optimizer.momentum, 0.9);
  EXPECT_TRUE(spec->optimizer.nesterov);
  EXPECT_EQ(spec->optimizer.weight_decay, 0.0005);
  EXPECT_EQ(spec->schedule.kind, ScheduleKind::kCosine);
  EXPECT_EQ(spec->schedule.warmup_steps, 200u);
  EXPECT_EQ(spec->schedule.min_learning_rate, 0.0);
  EXPECT_EQ(spec->verification.mode, VerificationMode::kExact);
  EXPECT_EQ(spec->verification.top_q, 2u);
  EXPECT_EQ(spec->verification.uniform, 4u);
  EXPECT_EQ(spec->profile.device, Device::kCpu);
  EXPECT_EQ(spec->profile.blas, "openblas");
  EXPECT_TRUE(spec->dataset.content_hash.IsZero());
  ASSERT_TRUE(spec->evaluation.has_value());
  EXPECT_EQ(spec->evaluation->dataset.source.features_path,
            "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
  EXPECT_EQ(spec->evaluation->dataset.source.labels_path,
            "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
}

TEST(JobSpec, OmittedSectionsAndKeysTakeTheDefaults) {
  auto spec = Parse(JobToml());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->schedule.kind, ScheduleKind::kConstant);
  EXPECT_EQ(spec->schedule.warmup_steps, 0u);
  EXPECT_EQ(spec->verification.mode, VerificationMode::kExact);
  EXPECT_EQ(spec->verification.top_q, VerificationSpec{}.top_q);
  EXPECT_EQ(spec->profile.aten_cpu_capability, "avx2");
  EXPECT_EQ(spec->optimizer.momentum, 0.0);
  EXPECT_EQ(spec->model.init, WeightInit::kSeed);
}

TEST(JobSpec, ReadsAnOptionalEvaluationSectionWithTheDatasetKeys) {
  EXPECT_FALSE(Parse(JobToml()).value().evaluation.has_value());
  auto idx = Parse(JobToml()
                       .Set("evaluation", "format", "\"idx\"")
                       .Set("evaluation", "images", "\"/t/images.gz\"")
                       .Set("evaluation", "labels", "\"/t/labels.gz\"")
                       .Set("evaluation", "content_hash", JobToml::Quoted(std::string(64, 'e'))));
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  ASSERT_TRUE(idx->evaluation.has_value());
  const DatasetSpec& e = idx->evaluation->dataset;
  EXPECT_EQ(e.source.format, data::DatasetFormat::kIdx);
  EXPECT_EQ(e.source.features_path, "/t/images.gz");
  EXPECT_EQ(e.source.labels_path, "/t/labels.gz");
  EXPECT_EQ(e.content_hash.ToHex(), std::string(64, 'e'));

  auto csv = Parse(JobToml()
                       .Set("evaluation", "format", "\"csv\"")
                       .Set("evaluation", "csv", "\"test.csv\"")
                       .Set("evaluation", "label_column", "\"y\""));
  ASSERT_TRUE(csv.ok()) << csv.status().ToString();
  EXPECT_EQ(csv->evaluation->dataset.source.label_column, "y");
  EXPECT_TRUE(csv->evaluation->dataset.content_hash.IsZero());
}

TEST(JobSpec, ParsesEachKindWithItsOwnKeys) {
  auto cnn = Parse(
      JobToml().Set("model", "kind", "\"cnn\"").Erase("model", "hidden_sizes").Set("model", "channels", "[4, 8]"));
  ASSERT_TRUE(cnn.ok()) << cnn.status().ToString();
  EXPECT_EQ(cnn->model.channels, (std::vector<uint32_t>{4, 8}));

  auto transformer = Parse(JobToml()
                               .Set("model", "kind", "\"transformer\"")
                               .Erase("model", "hidden_sizes")
                               .Set("model", "d_model", "12")
                               .Set("model", "heads", "3")
                               .Set("model", "layers", "2")
                               .Set("model", "feedforward", "24"));
  ASSERT_TRUE(transformer.ok()) << transformer.status().ToString();
  EXPECT_EQ(transformer->model.heads, 3u);

  const std::string hash(64, 'a');
  auto torchscript = Parse(JobToml()
                               .Set("model", "kind", "\"torchscript\"")
                               .Erase("model", "hidden_sizes")
                               .Set("model", "path", "\"/m/model.pt\"")
                               .Set("model", "hash", JobToml::Quoted(hash))
                               .Set("model", "init", "\"file\"")
                               .Set("model", "weights_path", "\"/m/w.pt\""));
  ASSERT_TRUE(torchscript.ok()) << torchscript.status().ToString();
  EXPECT_EQ(torchscript->model.torchscript_path, "/m/model.pt");
  EXPECT_EQ(torchscript->model.torchscript_hash.ToHex(), hash);
  EXPECT_EQ(torchscript->model.weights_path, "/m/w.pt");
  EXPECT_TRUE(torchscript->model.weights_hash.IsZero());

  auto csv = Parse(JobToml()
                       .Erase("dataset", "images")
                       .Erase("dataset", "labels")
                       .Set("dataset", "format", "\"csv\"")
                       .Set("dataset", "csv", "\"/d/iris.csv\"")
                       .Set("dataset", "label_column", "\"species\""));
  ASSERT_TRUE(csv.ok()) << csv.status().ToString();
  EXPECT_EQ(csv->dataset.source.format, data::DatasetFormat::kCsv);
  EXPECT_EQ(csv->dataset.source.features_path, "/d/iris.csv");
  EXPECT_EQ(csv->dataset.source.label_column, "species");

  auto adam = Parse(JobToml().Set("optimizer", "kind", "\"adamw\"").Set("optimizer", "beta2", "0.95"));
  ASSERT_TRUE(adam.ok()) << adam.status().ToString();
  EXPECT_EQ(adam->optimizer.beta2, 0.95);

  auto epochs = Parse(JobToml().Erase("", "steps").Set("", "epochs", "3"));
  ASSERT_TRUE(epochs.ok()) << epochs.status().ToString();
  EXPECT_EQ(epochs->epochs, 3u);
  EXPECT_EQ(epochs->steps, 0u);

  auto tolerance =
      Parse(JobToml().Set("verification", "mode", "\"tolerance\"").Set("verification", "linf_max", "1e-4"));
  ASSERT_TRUE(tolerance.ok()) << tolerance.status().ToString();
  EXPECT_EQ(tolerance->verification.linf_max, 1e-4);
}

TEST(JobSpec, AcceptsATransformerOnCsvColumns) {
  auto spec = Parse(JobToml()
                        .Set("model", "kind", "\"transformer\"")
                        .Erase("model", "hidden_sizes")
                        .Set("model", "d_model", "8")
                        .Set("model", "heads", "2")
                        .Set("model", "layers", "1")
                        .Set("model", "feedforward", "16")
                        .Erase("dataset", "images")
                        .Erase("dataset", "labels")
                        .Set("dataset", "format", "\"csv\"")
                        .Set("dataset", "csv", "\"/d/iris.csv\"")
                        .Set("dataset", "label_column", "\"species\""));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
}

TEST(JobSpec, AcceptsIntegersWhereNumbersAreExpected) {
  auto spec = Parse(JobToml().Set("optimizer", "learning_rate", "1"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->optimizer.learning_rate, 1.0);
}

TEST(JobSpec, ResolvesRelativePathsAgainstTheFilesDirectory) {
  JobToml toml("data/images.idx", "../labels.idx");
  auto spec = ParseJobToml(toml.Text(), "job.toml", "/jobs/fashion");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->dataset.source.features_path, "/jobs/fashion/data/images.idx");
  EXPECT_EQ(spec->dataset.source.labels_path, "/jobs/labels.idx");

  auto unresolved = ParseJobToml(toml.Text(), "job.toml", "");
  ASSERT_TRUE(unresolved.ok()) << unresolved.status().ToString();
  EXPECT_EQ(unresolved->dataset.source.features_path, "data/images.idx");

  TempDir dir;
  std::string path = dir.Write("sub/job.toml", toml.Text());
  auto loaded = LoadJobFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->dataset.source.features_path, dir.path() + "/sub/data/images.idx");
  EXPECT_EQ(loaded->dataset.source.labels_path, dir.path() + "/labels.idx");

  auto absolute = ParseJobToml(JobToml().Text(), "job.toml", "/elsewhere");
  ASSERT_TRUE(absolute.ok());
  EXPECT_EQ(absolute->dataset.source.features_path, "/data/images.idx");
}

TEST(JobSpec, ReportsTomlSyntaxErrorsWithLineAndColumn) {
  auto spec = ParseJobToml("name = \"x\"\nbatch_size = [1,\n", "job.toml", "");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message().rfind("job.toml:", 0), 0u) << spec.status().message();
  EXPECT_NE(spec.status().message().find("job.toml:2:"), std::string::npos) << spec.status().message();
}

TEST(JobSpec, LoadJobFileNamesAMissingFile) {
  auto spec = LoadJobFile("/nonexistent/job.toml");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("/nonexistent/job.toml"), std::string::npos);
}

// One mistake per row: the edits that make it, and the message it must give
// (after "job.toml: ").
struct Edit {
  std::string section;
  std::string key;    // "*" stands for the whole section.
  std::string value;  // "" erases the key (or the section).
};

struct MistakeCase {
  std::vector<Edit> edits;
  std::string message;
};

JobToml Apply(const std::vector<Edit>& edits) {
  JobToml toml;
  for (const Edit& e : edits) {
    if (e.key == "*") {
      toml.EraseSection(e.section);
    } else if (e.value.empty()) {
      toml.Erase(e.section, e.key);
    } else {
      toml.Set(e.section, e.key, e.value);
    }
  }
  return toml;
}

const Edit kTransformer[] = {{"model", "kind", "\"transformer\""},
                             {"model", "hidden_sizes", ""},
                             {"model", "d_model", "32"},
                             {"model", "heads", "4"},
                             {"model", "layers", "1"},
                             {"model", "feedforward", "64"}};

std::vector<Edit> Transformer(std::vector<Edit> more) {
  std::vector<Edit> edits(std::begin(kTransformer), std::end(kTransformer));
  edits.insert(edits.end(), more.begin(), more.end());
  return edits;
}

std::vector<Edit> Cnn(std::vector<Edit> more) {
  std::vector<Edit> edits = {{"model", "kind", "\"cnn\""}, {"model", "hidden_sizes", ""}, {"model", "channels", "[4]"}};
  edits.insert(edits.end(), more.begin(), more.end());
  return edits;
}

const std::string kSeventeen = "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]";

const MistakeCase kMistakes[] = {
    // Top level.
    {{{"", "name", "\"\""}}, "name must be 1..256 bytes, got 0"},
    {{{"", "name", JobToml::Quoted(std::string(257, 'x'))}}, "name must be 1..256 bytes, got 257"},
    {{{"", "name", ""}}, "missing required key name"},
    {{{"", "name", "3"}}, "name must be a string, got 3"},
    {{{"", "batch_size", "0"}}, "batch_size must be in 1..65536, got 0"},
    {{{"", "batch_size", "65537"}}, "batch_size must be in 1..65536, got 65537"},
    {{{"", "batch_size", "-1"}}, "batch_size must be a non-negative integer, got -1"},
    {{{"", "batch_size", "5000000000"}}, "batch_size must be at most 4294967295, got 5000000000"},
    {{{"", "batch_size", "\"64\""}}, "batch_size must be an integer, got \"64\""},
    {{{"", "batch_size", "1.5"}}, "batch_size must be an integer, got 1.5"},
    {{{"", "steps", "0"}}, "steps must be at least 1, got 0"},
    {{{"", "steps", "100000001"}}, "steps must be in 1..100000000, got 100000001"},
    {{{"", "steps", ""}}, "missing required key steps or epochs"},
    {{{"", "epochs", "2"}}, "steps and epochs exclude each other"},
    {{{"", "steps", ""}, {"", "epochs", "0"}}, "epochs must be at least 1, got 0"},
    {{{"", "steps", ""}, {"", "epochs", "100000001"}}, "epochs must be in 1..100000000, got 100000001"},
    {{{"", "seed", ""}}, "missing required key seed"},
    {{{"", "seed", "-5"}}, "seed must be a non-negative integer, got -5"},
    {{{"", "checkpoint_interval", "0"}}, "checkpoint_interval must be at least 1, got 0"},
    {{{"", "checkpoint_interval", ""}}, "missing required key checkpoint_interval"},
    {{{"", "steps", "200000"}, {"", "checkpoint_interval", "1"}},
     "checkpoint_interval = 1 gives 200001 checkpoints over 200000 steps; at most 100000"},
    {{{"", "stpes", "100"}}, "unknown key stpes"},
    {{{"extra", "x", "1"}}, "unknown key extra"},
    // [model].
    {{{"model", "kind", "\"rnn\""}},
     "model.kind must be one of \"mlp\", \"cnn\", \"transformer\", \"torchscript\", got \"rnn\""},
    {{{"model", "kind", ""}}, "missing required key model.kind"},
    {{{"model", "hidden_sizes", ""}}, "missing required key model.hidden_sizes"},
    {{{"model", "hidden_sizes", "[0]"}}, "model.hidden_sizes[0] must be in 1..65536, got 0"},
    {{{"model", "hidden_sizes", "[8, 65537]"}}, "model.hidden_sizes[1] must be in 1..65536, got 65537"},
    {{{"model", "hidden_sizes", "[8, -1]"}}, "model.hidden_sizes[1] must be an integer in 0..4294967295, got -1"},
    {{{"model", "hidden_sizes", "[1.5]"}}, "model.hidden_sizes[0] must be an integer, got 1.5"},
    {{{"model", "hidden_sizes", "128"}}, "model.hidden_sizes must be an array of integers"},
    {{{"model", "hidden_sizes", kSeventeen}}, "model.hidden_sizes must list 0..16 layers, got 17"},
    {{{"model", "channels", "[4]"}}, "model.channels does not apply to model.kind = \"mlp\" (only to cnn)"},
    {{{"model", "d_model", "8"}}, "model.d_model does not apply to model.kind = \"mlp\" (only to transformer)"},
    {{{"model", "hash", JobToml::Quoted(std::string(64, 'a'))}},
     "model.hash does not apply to model.kind = \"mlp\" (only to torchscript)"},
    {{{"model", "hidden_size", "[8]"}}, "unknown key model.hidden_size"},
    {Cnn({{"model", "channels", "[]"}}), "model.channels must list 1..16 layers, got 0"},
    {Cnn({{"model", "channels", "[4, 0]"}}), "model.channels[1] must be in 1..65536, got 0"},
    {Cnn({{"model", "hidden_sizes", "[4]"}}),
     "model.hidden_sizes does not apply to model.kind = \"cnn\" (only to mlp)"},
    {Transformer({{"model", "heads", "3"}}), "model.d_model (32) must be divisible by model.heads (3)"},
    {Transformer({{"model", "heads", "0"}}), "model.heads must be in 1..32, got 0"},
    {Transformer({{"model", "heads", "64"}}), "model.heads must be in 1..32, got 64"},
    {Transformer({{"model", "d_model", "0"}}), "model.d_model must be in 1..65536, got 0"},
    {Transformer({{"model", "layers", "0"}}), "model.layers must be in 1..16, got 0"},
    {Transformer({{"model", "layers", "17"}}), "model.layers must be in 1..16, got 17"},
    {Transformer({{"model", "feedforward", "0"}}), "model.feedforward must be in 1..65536, got 0"},
    {Transformer({{"model", "feedforward", ""}}), "missing required key model.feedforward"},
    {{{"model", "kind", "\"torchscript\""}, {"model", "hidden_sizes", ""}}, "missing required key model.path"},
    {{{"model", "kind", "\"torchscript\""}, {"model", "hidden_sizes", ""}, {"model", "path", "\"\""}},
     "model.path must name a file, got \"\""},
    {{{"model", "init", "\"random\""}}, "model.init must be one of \"seed\", \"file\", got \"random\""},
    {{{"model", "init", "\"file\""}}, "model.weights_path is required when model.init = \"file\""},
    {{{"model", "weights_path", "\"/w.pt\""}}, "model.weights_path applies only to model.init = \"file\""},
    {{{"model", "weights_hash", JobToml::Quoted(std::string(64, 'b'))}},
     "model.weights_hash applies only to model.init = \"file\""},
    {{{"model", "*", ""}, {"", "model", "3"}}, "model must be a table ([model]), got 3"},
    // [dataset].
    {{{"dataset", "format", "\"parquet\""}}, "dataset.format must be one of \"idx\", \"csv\", got \"parquet\""},
    {{{"evaluation", "format", "\"idx\""}, {"evaluation", "labels", "\"/t/labels\""}},
     "missing required key evaluation.images"},
    {{{"evaluation", "format", "\"idx\""},
      {"evaluation", "images", "\"/t/images\""},
      {"evaluation", "labels", "\"/t/labels\""},
      {"evaluation", "csv", "\"/t.csv\""}},
     "evaluation.csv does not apply to evaluation.format = \"idx\" (only to csv)"},
    {{{"evaluation", "format", "\"csv\""}, {"evaluation", "csv", "\"/t.csv\""}},
     "missing required key evaluation.label_column"},
    {{{"evaluation", "images", "\"/t/images\""}}, "missing required key evaluation.format"},
    {{{"evaluation", "format", "\"idx\""},
      {"evaluation", "images", "\"/t/images\""},
      {"evaluation", "labels", "\"/t/labels\""},
      {"evaluation", "content_hash", "\"abc\""}},
     "evaluation.content_hash must be"},
    {{{"evaluation", "format", "\"idx\""},
      {"evaluation", "images", "\"/t/images\""},
      {"evaluation", "labels", "\"/t/labels\""},
      {"evaluation", "every", "10"}},
     "unknown key evaluation.every"},
    {{{"dataset", "images", ""}}, "missing required key dataset.images"},
    {{{"dataset", "labels", "7"}}, "dataset.labels must be a string, got 7"},
    {{{"dataset", "csv", "\"/d.csv\""}}, "dataset.csv does not apply to dataset.format = \"idx\" (only to csv)"},
    {{{"dataset", "label_column", "\"y\""}},
     "dataset.label_column does not apply to dataset.format = \"idx\" (only to csv)"},
    {{{"dataset", "format", "\"csv\""},
      {"dataset", "csv", "\"/d.csv\""},
      {"dataset", "images", ""},
      {"dataset", "labels", ""}},
     "missing required key dataset.label_column"},
    {{{"dataset", "format", "\"csv\""},
      {"dataset", "csv", "\"/d.csv\""},
      {"dataset", "images", ""},
      {"dataset", "labels", ""},
      {"dataset", "label_column", "\"\""}},
     "dataset.label_column must be 1..256 bytes naming a column of the header row, got \"\""},
    {{{"dataset", "content_hash", "\"xyz\""}},
     "dataset.content_hash must be 64 hex digits (a BLAKE2b-256 hash), got \"xyz\""},
    {{{"dataset", "content_hash", JobToml::Quoted(std::string(64, '0'))}},
     "dataset.content_hash must not be all zeros"},
    {Cnn({{"dataset", "format", "\"csv\""},
          {"dataset", "csv", "\"/d.csv\""},
          {"dataset", "images", ""},
          {"dataset", "labels", ""},
          {"dataset", "label_column", "\"y\""}}),
     "model.kind = \"cnn\" needs image data (dataset.format = \"idx\")"},
    // [optimizer].
    {{{"optimizer", "kind", "\"rmsprop\""}},
     "optimizer.kind must be one of \"sgd\", \"adam\", \"adamw\", got \"rmsprop\""},
    {{{"optimizer", "learning_rate", ""}}, "missing required key optimizer.learning_rate"},
    {{{"optimizer", "learning_rate", "-0.1"}}, "optimizer.learning_rate must be a positive finite number, got -0.1"},
    {{{"optimizer", "learning_rate", "0"}}, "optimizer.learning_rate must be a positive finite number, got 0"},
    {{{"optimizer", "learning_rate", "nan"}}, "optimizer.learning_rate must be a positive finite number, got nan"},
    {{{"optimizer", "learning_rate", "inf"}}, "optimizer.learning_rate must be a positive finite number, got inf"},
    {{{"optimizer", "learning_rate", "\"fast\""}}, "optimizer.learning_rate must be a number, got \"fast\""},
    {{{"optimizer", "learning_rate", "9007199254740993"}},
     "optimizer.learning_rate must be a number with magnitude at most 2^53"},
    {{{"optimizer", "weight_decay", "-1"}}, "optimizer.weight_decay must be a finite number >= 0, got -1"},
    {{{"optimizer", "momentum", "1.0"}}, "optimizer.momentum must be in [0, 1), got 1"},
    {{{"optimizer", "momentum", "-0.5"}}, "optimizer.momentum must be in [0, 1), got -0.5"},
    {{{"optimizer", "nesterov", "true"}}, "optimizer.nesterov = true requires optimizer.momentum > 0"},
    {{{"optimizer", "nesterov", "1"}}, "optimizer.nesterov must be true or false, got 1"},
    {{{"optimizer", "beta1", "0.9"}},
     "optimizer.beta1 does not apply to optimizer.kind = \"sgd\" (only to adam, adamw)"},
    {{{"optimizer", "kind", "\"adam\""}, {"optimizer", "momentum", "0.9"}},
     "optimizer.momentum does not apply to optimizer.kind = \"adam\" (only to sgd)"},
    {{{"optimizer", "kind", "\"adam\""}, {"optimizer", "beta1", "1"}}, "optimizer.beta1 must be in [0, 1), got 1"},
    {{{"optimizer", "kind", "\"adamw\""}, {"optimizer", "beta2", "1.5"}}, "optimizer.beta2 must be in [0, 1), got 1.5"},
    {{{"optimizer", "kind", "\"adam\""}, {"optimizer", "epsilon", "0"}},
     "optimizer.epsilon must be a positive finite number, got 0"},
    {{{"optimizer", "*", ""}}, "missing required table [optimizer]"},
    // [schedule].
    {{{"schedule", "kind", "\"linear\""}},
     "schedule.kind must be one of \"constant\", \"step\", \"cosine\", got \"linear\""},
    {{{"schedule", "warmup_steps", "100"}}, "schedule.warmup_steps must be less than steps (100), got 100"},
    {{{"schedule", "kind", "\"step\""}}, "missing required key schedule.step_size"},
    {{{"schedule", "kind", "\"step\""}, {"schedule", "step_size", "0"}},
     "schedule.step_size must be in 1..100000000, got 0"},
    {{{"schedule", "kind", "\"step\""}, {"schedule", "step_size", "10"}, {"schedule", "gamma", "0"}},
     "schedule.gamma must be in (0, 1], got 0"},
    {{{"schedule", "kind", "\"step\""}, {"schedule", "step_size", "10"}, {"schedule", "gamma", "1.5"}},
     "schedule.gamma must be in (0, 1], got 1.5"},
    {{{"schedule", "kind", "\"cosine\""}, {"schedule", "min_learning_rate", "0.5"}},
     "schedule.min_learning_rate must be in [0, optimizer.learning_rate = 0.1], got 0.5"},
    {{{"schedule", "kind", "\"cosine\""}, {"schedule", "min_learning_rate", "-0.001"}},
     "schedule.min_learning_rate must be in [0, optimizer.learning_rate = 0.1], got -0.001"},
    {{{"schedule", "kind", "\"cosine\""}, {"schedule", "gamma", "0.5"}},
     "schedule.gamma does not apply to schedule.kind = \"cosine\" (only to step)"},
    {{{"schedule", "step_size", "10"}},
     "schedule.step_size does not apply to schedule.kind = \"constant\" (only to step)"},
    // [verification].
    {{{"verification", "mode", "\"fuzzy\""}},
     "verification.mode must be one of \"exact\", \"tolerance\", got \"fuzzy\""},
    {{{"verification", "top_q", "0"}, {"verification", "uniform", "0"}},
     "verification.top_q + verification.uniform must be in 1..1000, got 0"},
    {{{"verification", "top_q", "600"}, {"verification", "uniform", "600"}},
     "verification.top_q + verification.uniform must be in 1..1000, got 1200"},
    {{{"verification", "top_q", "2000"}}, "verification.top_q must be in 0..1000, got 2000"},
    {{{"verification", "uniform", "1001"}}, "verification.uniform must be in 0..1000, got 1001"},
    {{{"verification", "linf_max", "0.1"}},
     "verification.linf_max does not apply to verification.mode = \"exact\" (only to tolerance)"},
    {{{"verification", "mode", "\"tolerance\""}, {"verification", "l2_relative_max", "-1"}},
     "verification.l2_relative_max must be a finite number >= 0, got -1"},
    {{{"verification", "mode", "\"tolerance\""}, {"verification", "linf_max", "inf"}},
     "verification.linf_max must be a finite number >= 0, got inf"},
    {{{"verification", "mode", "\"tolerance\""}, {"verification", "cosine_distance_max", "3"}},
     "verification.cosine_distance_max must be in [0, 2], got 3"},
    // [profile].
    {{{"profile", "device", "\"tpu\""}}, "profile.device must be one of \"cpu\", \"cuda\", got \"tpu\""},
    {{{"profile", "threads", "0"}}, "profile.threads must be in 1..256, got 0"},
    {{{"profile", "threads", "257"}}, "profile.threads must be in 1..256, got 257"},
    {{{"profile", "aten_cpu_capability", "\"sse\""}},
     "profile.aten_cpu_capability must be one of \"default\", \"avx2\", \"avx512\", got \"sse\""},
    {{{"profile", "blas", "\"atlas\""}},
     "profile.blas must be one of \"openblas\", \"mkl\", \"blis\", \"eigen\", \"generic\", got \"atlas\""},
    {{{"profile", "openblas_coretype", "\"haswell\""}},
     "profile.openblas_coretype must be an OpenBLAS core name like \"HASWELL\""},
    {{{"profile", "blas", "\"mkl\""}, {"profile", "openblas_coretype", "\"HASWELL\""}},
     "profile.openblas_coretype does not apply to profile.blas = \"mkl\""},
    {{{"profile", "onednn", "\"no\""}}, "profile.onednn must be true or false, got \"no\""},
    {{{"profile", "gpu", "0"}}, "unknown key profile.gpu"},
    {{{"profile", "kernels", "\"fast\""}}, "profile.kernels must be one of \"aten\", \"repro\", got \"fast\""},
    {{{"profile", "kernels", "\"repro\""}, {"profile", "blas", "\"openblas\""}},
     "profile.blas does not apply to profile.kernels = \"repro\" (only to aten)"},
    {{{"profile", "kernels", "\"repro\""}, {"profile", "aten_cpu_capability", "\"avx2\""}},
     "profile.aten_cpu_capability does not apply to profile.kernels = \"repro\" (only to aten)"},
    {{{"profile", "kernels", "\"repro\""}, {"profile", "device", "\"cuda\""}},
     "profile.kernels = \"repro\" runs on the CPU"},
};

TEST(JobSpec, RefusesEachMistakeNamingFileAndKey) {
  // The base job is valid, so each row tests exactly its own mistake.
  ASSERT_TRUE(Parse(JobToml()).ok());
  for (const MistakeCase& c : kMistakes) {
    JobToml toml = Apply(c.edits);
    SCOPED_TRACE(toml.Text());
    auto spec = Parse(toml);
    ASSERT_FALSE(spec.ok()) << "accepted; expected: " << c.message;
    EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
    const std::string& message = spec.status().message();
    EXPECT_EQ(message.rfind("job.toml: ", 0), 0u) << message;
    EXPECT_NE(message.find(c.message), std::string::npos) << "got:      " << message << "\nexpected: " << c.message;
  }
}

TEST(JobSpec, ValidationRefusesFieldsOfOtherKindsInTheStruct) {
  // Specs built in code, not from TOML: a field the chosen kind does not use
  // must keep its default, because the encoding leaves it out.
  JobSpec base = Parse(JobToml()).value();
  ASSERT_TRUE(ValidateJobSpec(base).ok());

  struct StructCase {
    void (*mutate)(JobSpec*);
    const char* message;
  };
  const StructCase cases[] = {
      {[](JobSpec* s) { s->model.channels = {4}; }, "model.channels does not apply to model.kind = \"mlp\""},
      {[](JobSpec* s) { s->model.heads = 2; }, "model.heads does not apply to model.kind = \"mlp\""},
      {[](JobSpec* s) { s->model.torchscript_path = "/m.pt"; }, "model.path does not apply to model.kind = \"mlp\""},
      {[](JobSpec* s) { s->model.weights_hash.bytes[0] = 1; },
       "model.weights_hash does not apply to model.init = \"seed\""},
      {[](JobSpec* s) { s->model.kind = static_cast<ModelKind>(9); }, "model.kind is not a known model kind (9)"},
      {[](JobSpec* s) { s->dataset.source.label_column = "y"; },
       "dataset.label_column does not apply to dataset.format = \"idx\""},
      {[](JobSpec* s) { s->dataset.source.labels_path = ""; },
       "dataset.labels is required for dataset.format = \"idx\""},
      {[](JobSpec* s) { s->optimizer.epsilon = 1e-6; }, "optimizer.epsilon does not apply to optimizer.kind = \"sgd\""},
      {[](JobSpec* s) { s->schedule.min_learning_rate = 0.01; },
       "schedule.min_learning_rate does not apply to schedule.kind = \"constant\""},
      {[](JobSpec* s) { s->verification.cosine_distance_max = 0.1; },
       "verification.cosine_distance_max does not apply to verification.mode = \"exact\""},
      {[](JobSpec* s) { s->steps = 0; }, "steps or epochs is required"},
      {[](JobSpec* s) { s->evaluation.emplace().dataset.source.features_path = "/t/images"; },
       "evaluation.labels is required for evaluation.format = \"idx\""},
      {[](JobSpec* s) { s->profile.device = static_cast<Device>(0); }, "profile.device is not a known device (0)"},
      {[](JobSpec* s) { s->profile.kernels = static_cast<Kernels>(5); },
       "profile.kernels is not a known kernel set (5)"},
      {[](JobSpec* s) {
         s->profile.kernels = Kernels::kRepro;
         s->profile.onednn = true;
       },
       "profile.onednn does not apply to profile.kernels = \"repro\""},
      {[](JobSpec* s) {
         s->profile.kernels = Kernels::kRepro;
         s->model.kind = ModelKind::kTorchScript;
         s->model.hidden_sizes = {};
         s->model.torchscript_path = "/m.pt";
       },
       "profile.kernels = \"repro\" trains only the built-in models"},
  };
  for (const StructCase& c : cases) {
    JobSpec spec = base;
    c.mutate(&spec);
    Status status = ValidateJobSpec(spec);
    ASSERT_FALSE(status.ok()) << c.message;
    EXPECT_NE(status.message().find(c.message), std::string::npos) << status.message();
  }
}

}  // namespace
}  // namespace cairn::job
