// The canonical encoding and the job id: the documented field order, paths
// left out, and every hashed field changing the id.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "job/job_fixture.h"
#include "job/spec.h"
#include "util/codec.h"

namespace cairn::job {
namespace {

using testing::JobToml;
using testing::TempDir;

Hash256 HashOf(uint8_t fill) {
  Hash256 h;
  h.bytes.fill(fill);
  return h;
}

// A valid spec with a non-default value in as many fields as one spec can hold.
JobSpec BaseSpec() {
  JobSpec s;
  s.name = "base";
  s.model.kind = ModelKind::kMlp;
  s.model.hidden_sizes = {16, 8};
  s.dataset.source = {data::DatasetFormat::kIdx, "/a/images", "/a/labels", ""};
  s.dataset.content_hash = HashOf(1);
  s.optimizer.kind = OptimizerKind::kSgd;
  s.optimizer.learning_rate = 0.1;
  s.optimizer.momentum = 0.5;
  s.optimizer.weight_decay = 0.001;
  s.schedule.kind = ScheduleKind::kStep;
  s.schedule.warmup_steps = 5;
  s.schedule.step_size = 10;
  s.schedule.gamma = 0.5;
  s.batch_size = 8;
  s.steps = 100;
  s.seed = 42;
  s.checkpoint_interval = 10;
  s.verification.mode = VerificationMode::kTolerance;
  s.verification.top_q = 2;
  s.verification.uniform = 3;
  s.verification.l2_relative_max = 1e-3;
  s.verification.linf_max = 1e-2;
  s.verification.cosine_distance_max = 1e-4;
  s.profile.openblas_coretype = "HASWELL";
  return s;
}

void MakeAdam(JobSpec* s) {
  s->optimizer.kind = OptimizerKind::kAdam;
  s->optimizer.momentum = 0;
}

void MakeCosine(JobSpec* s) {
  s->schedule.kind = ScheduleKind::kCosine;
  s->schedule.step_size = 0;
  s->schedule.gamma = ScheduleSpec{}.gamma;
}

void MakeTorchScript(JobSpec* s, uint8_t hash_fill) {
  s->model.kind = ModelKind::kTorchScript;
  s->model.hidden_sizes.clear();
  s->model.torchscript_path = "/m/model.pt";
  s->model.torchscript_hash = HashOf(hash_fill);
}

void MakeCsv(JobSpec* s, const std::string& label_column) {
  s->dataset.source = {data::DatasetFormat::kCsv, "/a/data.csv", "", label_column};
}

void MakeExact(JobSpec* s) {
  s->verification.mode = VerificationMode::kExact;
  s->verification.l2_relative_max = 0;
  s->verification.linf_max = 0;
  s->verification.cosine_distance_max = 0;
}

struct Mutation {
  const char* what;
  std::function<void(JobSpec*)> apply;
};

const std::vector<Mutation>& HashedFieldMutations() {
  static const std::vector<Mutation> mutations = {
      {"name", [](JobSpec* s) { s->name = "other"; }},
      {"model.hidden_sizes width",
       [](JobSpec* s) {
         s->model.hidden_sizes = {16, 9};
       }},
      {"model.hidden_sizes depth", [](JobSpec* s) { s->model.hidden_sizes = {16}; }},
      {"model.hidden_sizes empty", [](JobSpec* s) { s->model.hidden_sizes.clear(); }},
      {"model.kind cnn",
       [](JobSpec* s) {
         s->model.kind = ModelKind::kCnn;
         s->model.channels = s->model.hidden_sizes;
         s->model.hidden_sizes.clear();
       }},
      {"model.channels",
       [](JobSpec* s) {
         s->model.kind = ModelKind::kCnn;
         s->model.channels = {16, 7};
         s->model.hidden_sizes.clear();
       }},
      {"model.kind transformer",
       [](JobSpec* s) {
         s->model = ModelSpec{};
         s->model.kind = ModelKind::kTransformer;
         s->model.d_model = 16;
         s->model.heads = 2;
         s->model.layers = 1;
         s->model.feedforward = 32;
       }},
      {"model.d_model",
       [](JobSpec* s) {
         s->model = ModelSpec{};
         s->model.kind = ModelKind::kTransformer;
         s->model.d_model = 32;
         s->model.heads = 2;
         s->model.layers = 1;
         s->model.feedforward = 32;
       }},
      {"model.heads",
       [](JobSpec* s) {
         s->model = ModelSpec{};
         s->model.kind = ModelKind::kTransformer;
         s->model.d_model = 16;
         s->model.heads = 4;
         s->model.layers = 1;
         s->model.feedforward = 32;
       }},
      {"model.layers",
       [](JobSpec* s) {
         s->model = ModelSpec{};
         s->model.kind = ModelKind::kTransformer;
         s->model.d_model = 16;
         s->model.heads = 2;
         s->model.layers = 2;
         s->model.feedforward = 32;
       }},
      {"model.feedforward",
       [](JobSpec* s) {
         s->model = ModelSpec{};
         s->model.kind = ModelKind::kTransformer;
         s->model.d_model = 16;
         s->model.heads = 2;
         s->model.layers = 1;
         s->model.feedforward = 64;
       }},
      {"model.kind torchscript", [](JobSpec* s) { MakeTorchScript(s, 5); }},
      {"model.hash", [](JobSpec* s) { MakeTorchScript(s, 6); }},
      {"model.init file",
       [](JobSpec* s) {
         s->model.init = WeightInit::kFile;
         s->model.weights_path = "/w.pt";
         s->model.weights_hash = HashOf(7);
       }},
      {"model.weights_hash",
       [](JobSpec* s) {
         s->model.init = WeightInit::kFile;
         s->model.weights_path = "/w.pt";
         s->model.weights_hash = HashOf(8);
       }},
      {"dataset.format", [](JobSpec* s) { MakeCsv(s, "label"); }},
      {"dataset.label_column", [](JobSpec* s) { MakeCsv(s, "class"); }},
      {"dataset.content_hash", [](JobSpec* s) { s->dataset.content_hash = HashOf(2); }},
      {"optimizer.kind adam", [](JobSpec* s) { MakeAdam(s); }},
      {"optimizer.kind adamw",
       [](JobSpec* s) {
         MakeAdam(s);
         s->optimizer.kind = OptimizerKind::kAdamW;
       }},
      {"optimizer.learning_rate", [](JobSpec* s) { s->optimizer.learning_rate = 0.2; }},
      {"optimizer.learning_rate last bit", [](JobSpec* s) { s->optimizer.learning_rate = std::nextafter(0.1, 1.0); }},
      {"optimizer.weight_decay", [](JobSpec* s) { s->optimizer.weight_decay = 0.002; }},
      {"optimizer.momentum", [](JobSpec* s) { s->optimizer.momentum = 0.6; }},
      {"optimizer.nesterov", [](JobSpec* s) { s->optimizer.nesterov = true; }},
      {"optimizer.beta1",
       [](JobSpec* s) {
         MakeAdam(s);
         s->optimizer.beta1 = 0.8;
       }},
      {"optimizer.beta2",
       [](JobSpec* s) {
         MakeAdam(s);
         s->optimizer.beta2 = 0.99;
       }},
      {"optimizer.epsilon",
       [](JobSpec* s) {
         MakeAdam(s);
         s->optimizer.epsilon = 1e-6;
       }},
      {"schedule.kind constant",
       [](JobSpec* s) {
         s->schedule.kind = ScheduleKind::kConstant;
         s->schedule.step_size = 0;
         s->schedule.gamma = ScheduleSpec{}.gamma;
       }},
      {"schedule.kind cosine", [](JobSpec* s) { MakeCosine(s); }},
      {"schedule.min_learning_rate",
       [](JobSpec* s) {
         MakeCosine(s);
         s->schedule.min_learning_rate = 0.01;
       }},
      {"schedule.warmup_steps", [](JobSpec* s) { s->schedule.warmup_steps = 6; }},
      {"schedule.step_size", [](JobSpec* s) { s->schedule.step_size = 11; }},
      {"schedule.gamma", [](JobSpec* s) { s->schedule.gamma = 0.25; }},
      {"batch_size", [](JobSpec* s) { s->batch_size = 9; }},
      {"steps", [](JobSpec* s) { s->steps = 101; }},
      {"epochs",
       [](JobSpec* s) {
         s->steps = 0;
         s->epochs = 100;
       }},
      {"seed", [](JobSpec* s) { s->seed = 43; }},
      {"checkpoint_interval", [](JobSpec* s) { s->checkpoint_interval = 11; }},
      {"verification.mode", [](JobSpec* s) { MakeExact(s); }},
      {"verification.top_q", [](JobSpec* s) { s->verification.top_q = 3; }},
      {"verification.uniform", [](JobSpec* s) { s->verification.uniform = 4; }},
      {"verification.l2_relative_max", [](JobSpec* s) { s->verification.l2_relative_max = 2e-3; }},
      {"verification.linf_max", [](JobSpec* s) { s->verification.linf_max = 2e-2; }},
      {"verification.cosine_distance_max", [](JobSpec* s) { s->verification.cosine_distance_max = 2e-4; }},
      {"profile.device", [](JobSpec* s) { s->profile.device = Device::kCuda; }},
      {"profile.threads", [](JobSpec* s) { s->profile.threads = 2; }},
      {"profile.aten_cpu_capability", [](JobSpec* s) { s->profile.aten_cpu_capability = "avx512"; }},
      {"profile.blas",
       [](JobSpec* s) {
         s->profile.blas = "mkl";
         s->profile.openblas_coretype = "";
       }},
      {"profile.openblas_coretype", [](JobSpec* s) { s->profile.openblas_coretype = "ZEN"; }},
      {"profile.openblas_coretype empty", [](JobSpec* s) { s->profile.openblas_coretype = ""; }},
      {"profile.onednn", [](JobSpec* s) { s->profile.onednn = true; }},
      {"profile.kernels",
       [](JobSpec* s) {
         s->profile.kernels = Kernels::kRepro;
         s->profile.openblas_coretype = "";
       }},
      {"evaluation",
       [](JobSpec* s) {
         s->evaluation.emplace().dataset.source = {data::DatasetFormat::kIdx, "/t/images", "/t/labels", ""};
         s->evaluation->dataset.content_hash = HashOf(3);
       }},
      {"evaluation.content_hash",
       [](JobSpec* s) {
         s->evaluation.emplace().dataset.source = {data::DatasetFormat::kIdx, "/t/images", "/t/labels", ""};
         s->evaluation->dataset.content_hash = HashOf(4);
       }},
      {"evaluation.format",
       [](JobSpec* s) {
         s->evaluation.emplace().dataset.source = {data::DatasetFormat::kCsv, "/t/test.csv", "", "label"};
         s->evaluation->dataset.content_hash = HashOf(3);
       }},
  };
  return mutations;
}

TEST(JobId, ChangesWithEveryHashedField) {
  const JobSpec base = BaseSpec();
  ASSERT_TRUE(ValidateJobSpec(base).ok()) << ValidateJobSpec(base).ToString();
  std::set<Hash256> ids = {JobId(base)};
  for (const Mutation& m : HashedFieldMutations()) {
    SCOPED_TRACE(m.what);
    JobSpec spec = base;
    m.apply(&spec);
    ASSERT_TRUE(ValidateJobSpec(spec).ok()) << ValidateJobSpec(spec).ToString();
    EXPECT_NE(JobId(spec), JobId(base));
    EXPECT_TRUE(ids.insert(JobId(spec)).second) << "same id as another mutation";
  }
}

TEST(JobId, IgnoresPaths) {
  const JobSpec base = BaseSpec();
  JobSpec moved = base;
  moved.dataset.source.features_path = "/elsewhere/images.gz";
  moved.dataset.source.labels_path = "/elsewhere/labels.gz";
  EXPECT_EQ(EncodeJobSpec(moved), EncodeJobSpec(base));

  JobSpec script = base;
  MakeTorchScript(&script, 5);
  script.model.init = WeightInit::kFile;
  script.model.weights_path = "/w/one.pt";
  script.model.weights_hash = HashOf(9);
  JobSpec script_moved = script;
  script_moved.model.torchscript_path = "/other/model.pt";
  script_moved.model.weights_path = "/w/two.pt";
  EXPECT_EQ(JobId(script_moved), JobId(script));
}

TEST(JobId, IsTheSameForTheSameFileAtTwoPaths) {
  // Relative dataset paths resolve to different files in each directory;
  // the content hash, not the path, identifies the data.
  JobToml toml("images.idx", "labels.idx");
  toml.Set("dataset", "content_hash", JobToml::Quoted(std::string(64, 'c')));
  TempDir dir;
  std::string first = dir.Write("one/job.toml", toml.Text());
  std::string second = dir.Write("two/deeper/job.toml", toml.Text());
  auto a = LoadJobFile(first);
  auto b = LoadJobFile(second);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_NE(a->dataset.source.features_path, b->dataset.source.features_path);
  EXPECT_EQ(JobId(*a), JobId(*b));
}

TEST(JobId, TreatsNegativeZeroAsZero) {
  JobSpec spec = BaseSpec();
  spec.optimizer.weight_decay = 0.0;
  JobSpec negative = spec;
  negative.optimizer.weight_decay = -0.0;
  ASSERT_TRUE(ValidateJobSpec(negative).ok());
  EXPECT_EQ(JobId(negative), JobId(spec));
}

TEST(JobId, IgnoresNothingButPathsWhenParsedFromToml) {
  // The same TOML text gives the same id; editing any value changes it.
  JobToml toml;
  toml.Set("dataset", "content_hash", JobToml::Quoted(std::string(64, 'd')));
  auto a = ParseJobToml(toml.Text(), "a.toml", "/x");
  auto b = ParseJobToml(toml.Text(), "b.toml", "/y");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(JobId(*a), JobId(*b));
  auto c = ParseJobToml(toml.Set("", "seed", "8").Text(), "a.toml", "/x");
  ASSERT_TRUE(c.ok());
  EXPECT_NE(JobId(*c), JobId(*a));
}

// The layout docs/jobs.md documents, written out field by field. If this
// test has to change, every job id changes: bump the encoding version and
// the "cairn/job/v2" tag together (version 2 added profile.kernels).
TEST(JobSpecEncoding, FollowsTheDocumentedFieldOrder) {
  const JobSpec s = BaseSpec();
  util::Writer w;
  w.U8(2);  // version
  w.String("base");
  w.U8(1);  // model.kind = mlp
  w.U32(2);
  w.U32(16);
  w.U32(8);
  w.U8(1);  // model.init = seed
  w.U8(1);  // dataset.format = idx
  w.String("");
  w.Hash(HashOf(1));
  w.U8(1);  // optimizer.kind = sgd
  w.F64(0.1);
  w.F64(0.001);   // weight_decay
  w.F64(0.5);     // momentum
  w.Bool(false);  // nesterov
  w.U8(2);        // schedule.kind = step
  w.U64(5);       // warmup_steps
  w.U64(10);      // step_size
  w.F64(0.5);     // gamma
  w.U32(8);       // batch_size
  w.U64(100);     // steps
  w.U64(0);       // epochs
  w.U64(42);      // seed
  w.U32(10);      // checkpoint_interval
  w.U8(2);        // verification.mode = tolerance
  w.U32(2);
  w.U32(3);
  w.F64(1e-3);
  w.F64(1e-2);
  w.F64(1e-4);
  w.U8(1);  // profile.device = cpu
  w.U32(1);
  w.String("avx2");
  w.String("openblas");
  w.String("HASWELL");
  w.Bool(false);
  w.U8(1);  // profile.kernels = aten
  EXPECT_EQ(EncodeJobSpec(s), w.bytes());
  EXPECT_EQ(JobId(s), crypto::TaggedHash("cairn/job/v2", w.bytes()));
}

// An [evaluation] section is appended after the profile with its tag; a job
// without one keeps the encoding (and id) it had before the section existed.
TEST(JobSpecEncoding, AppendsTheEvaluationSectionAfterTheProfile) {
  const JobSpec plain = BaseSpec();
  JobSpec s = plain;
  s.evaluation.emplace().dataset.source = {data::DatasetFormat::kCsv, "/t/test.csv", "", "label"};
  s.evaluation->dataset.content_hash = HashOf(3);
  ASSERT_TRUE(ValidateJobSpec(s).ok()) << ValidateJobSpec(s).ToString();
  util::Writer w;
  w.Raw(EncodeJobSpec(plain));
  w.U8(1);  // section tag: evaluation
  w.U8(2);  // evaluation.format = csv
  w.String("label");
  w.Hash(HashOf(3));
  EXPECT_EQ(EncodeJobSpec(s), w.bytes());

  JobSpec moved = s;
  moved.evaluation->dataset.source.features_path = "/elsewhere/test.csv";
  EXPECT_EQ(JobId(moved), JobId(s));
}

TEST(JobSpecEncoding, WritesKindSpecificFieldsForEachKind) {
  JobSpec s = BaseSpec();
  MakeTorchScript(&s, 5);
  s.model.init = WeightInit::kFile;
  s.model.weights_path = "/w.pt";
  s.model.weights_hash = HashOf(9);
  MakeAdam(&s);
  MakeCosine(&s);
  s.schedule.min_learning_rate = 0.01;
  MakeExact(&s);
  ASSERT_TRUE(ValidateJobSpec(s).ok()) << ValidateJobSpec(s).ToString();
  util::Writer w;
  w.U8(2);
  w.String("base");
  w.U8(4);  // torchscript
  w.Hash(HashOf(5));
  w.U8(2);  // init = file
  w.Hash(HashOf(9));
  w.U8(1);
  w.String("");
  w.Hash(HashOf(1));
  w.U8(2);  // adam
  w.F64(0.1);
  w.F64(0.001);
  w.F64(0.9);    // beta1
  w.F64(0.999);  // beta2
  w.F64(1e-8);   // epsilon
  w.U8(3);       // cosine
  w.U64(5);
  w.F64(0.01);  // min_learning_rate
  w.U32(8);
  w.U64(100);
  w.U64(0);
  w.U64(42);
  w.U32(10);
  w.U8(1);  // exact: no thresholds
  w.U32(2);
  w.U32(3);
  w.U8(1);
  w.U32(1);
  w.String("avx2");
  w.String("openblas");
  w.String("HASWELL");
  w.Bool(false);
  w.U8(1);  // aten
  EXPECT_EQ(EncodeJobSpec(s), w.bytes());
}

// kernels = "repro": the same profile fields, the ATen ones at their
// defaults, and the kernels byte 2.
TEST(JobSpecEncoding, WritesTheReproKernelsInTheProfile) {
  JobSpec s = BaseSpec();
  s.profile.openblas_coretype = "";
  s.profile.threads = 2;
  s.profile.kernels = Kernels::kRepro;
  ASSERT_TRUE(ValidateJobSpec(s).ok()) << ValidateJobSpec(s).ToString();
  JobSpec aten = s;
  aten.profile.kernels = Kernels::kAten;
  const Bytes prefix = EncodeJobSpec(aten);
  util::Writer w;
  w.Raw(ByteView(prefix.data(), prefix.size() - 1));
  w.U8(2);  // repro
  EXPECT_EQ(EncodeJobSpec(s), w.bytes());
  EXPECT_NE(JobId(s), JobId(aten));
}

TEST(JobSpecEncoding, InputsResolvedNeedsEveryHashInUse) {
  JobSpec s = BaseSpec();
  EXPECT_TRUE(InputsResolved(s));
  s.dataset.content_hash = Hash256{};
  EXPECT_FALSE(InputsResolved(s));
  s = BaseSpec();
  MakeTorchScript(&s, 0);
  EXPECT_FALSE(InputsResolved(s));
  s = BaseSpec();
  s.model.init = WeightInit::kFile;
  s.model.weights_path = "/w.pt";
  EXPECT_FALSE(InputsResolved(s));
}

TEST(JobSpecEncoding, NamesKindsAsTomlSpellsThem) {
  EXPECT_EQ(ModelKindName(ModelKind::kMlp), "mlp");
  EXPECT_EQ(ModelKindName(ModelKind::kCnn), "cnn");
  EXPECT_EQ(ModelKindName(ModelKind::kTransformer), "transformer");
  EXPECT_EQ(ModelKindName(ModelKind::kTorchScript), "torchscript");
  EXPECT_EQ(OptimizerKindName(OptimizerKind::kSgd), "sgd");
  EXPECT_EQ(OptimizerKindName(OptimizerKind::kAdam), "adam");
  EXPECT_EQ(OptimizerKindName(OptimizerKind::kAdamW), "adamw");
  EXPECT_EQ(KernelsName(Kernels::kAten), "aten");
  EXPECT_EQ(KernelsName(Kernels::kRepro), "repro");
}

}  // namespace
}  // namespace cairn::job

namespace cairn::job {
namespace {

// Specs that travel as bytes (to a training worker, from a peer) come back
// exactly: same encoding, same id; malformed and non-canonical bytes are refused.
TEST(JobSpecDecoding, RoundTripsEveryKindToTheSameId) {
  std::vector<JobSpec> specs;
  specs.push_back(BaseSpec());
  JobSpec ts = BaseSpec();
  MakeTorchScript(&ts, 5);
  ts.model.init = WeightInit::kFile;
  ts.model.weights_path = "/w.pt";
  ts.model.weights_hash = HashOf(9);
  MakeAdam(&ts);
  MakeCosine(&ts);
  MakeExact(&ts);
  specs.push_back(ts);
  JobSpec repro = BaseSpec();
  repro.profile.openblas_coretype = "";
  repro.profile.kernels = Kernels::kRepro;
  specs.push_back(repro);
  for (const JobSpec& s : specs) {
    ASSERT_TRUE(ValidateJobSpec(s).ok());
    Bytes encoded = EncodeJobSpec(s);
    auto decoded = DecodeJobSpec(encoded);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(EncodeJobSpec(*decoded), encoded);
    EXPECT_EQ(JobId(*decoded), JobId(s));
    EXPECT_TRUE(decoded->dataset.source.features_path.empty());  // Paths never travel in the spec.
    EXPECT_TRUE(decoded->model.weights_path.empty());
  }
}

TEST(JobSpecDecoding, RefusesTruncatedTrailingAndInvalidBytes) {
  Bytes encoded = EncodeJobSpec(BaseSpec());
  for (size_t cut = 0; cut < encoded.size(); cut += 7) {
    EXPECT_FALSE(DecodeJobSpec(ByteView(encoded.data(), cut)).ok()) << cut;
  }
  Bytes trailing = encoded;
  trailing.push_back(0);
  EXPECT_FALSE(DecodeJobSpec(trailing).ok());
  Bytes unknown_kernels = encoded;
  unknown_kernels.back() = 3;  // The profile's last byte: kernels.
  EXPECT_FALSE(DecodeJobSpec(unknown_kernels).ok());
  JobSpec bad = BaseSpec();
  bad.batch_size = 0;  // Encodes, but is not a valid job.
  auto r = DecodeJobSpec(EncodeJobSpec(bad));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("batch_size"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace cairn::job
