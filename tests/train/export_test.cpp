// Evaluation and export: a trained model's test loss and accuracy are a
// deterministic function of the model file, and the exported TorchScript
// module and state dict, loaded in Python by Debian's python3-torch, give
// exactly the same scores (tests/train/check_export.py).
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "crypto/hash.h"
#include "proof/model_state.h"
#include "train/engine.h"
#include "train/evaluate.h"
#include "train/export.h"
#include "train_fixture.h"
#include "util/codec.h"
#include "util/file.h"

namespace cairn::train::testing {
namespace {

const char kPython[] = "/usr/bin/python3";

// What check_export.py printed.
struct PythonScores {
  bool training = true;
  uint64_t examples = 0;
  uint64_t correct = 0;
  double loss = 0;
  bool state_matches_module = false;
  std::vector<std::string> tensors;  // "name dtype d0,d1,..."
};

PythonScores ParseScores(const std::string& out) {
  PythonScores s;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    const std::string key = line.substr(0, line.find(' '));
    const std::string value = line.substr(key.size() + 1);
    if (key == "training") s.training = value == "True";
    if (key == "examples") s.examples = std::stoull(value);
    if (key == "correct") s.correct = std::stoull(value);
    if (key == "loss") s.loss = std::strtod(value.c_str(), nullptr);  // float.hex(): exact.
    if (key == "state_matches_module") s.state_matches_module = value == "True";
    if (key == "tensor") s.tensors.push_back(value);
  }
  return s;
}

// check_export.py's input format (see the script).
Bytes EncodeEvalSet(const data::Dataset& d) {
  util::Writer w;
  w.U32(static_cast<uint32_t>(d.feature_shape.size()));
  for (int64_t dim : d.feature_shape) w.U64(static_cast<uint64_t>(dim));
  w.U64(d.size());
  w.Raw(ByteView(reinterpret_cast<const uint8_t*>(d.features.data()), d.features.size() * sizeof(float)));
  w.Raw(ByteView(reinterpret_cast<const uint8_t*>(d.labels.data()), d.labels.size() * sizeof(int64_t)));
  return w.Take();
}

// The state dict entries model.bin implies, as check_export.py prints them.
std::vector<std::string> ExpectedTensors(ByteView model_file) {
  std::vector<std::string> out;
  const proof::ModelStateView state = proof::DecodeModelState(model_file).value();
  for (const proof::TensorView& t : state.tensors) {
    std::string dims;
    for (size_t i = 0; i < t.dims.size(); ++i) dims += (i ? "," : "") + std::to_string(t.dims[i]);
    out.push_back(t.name + " " + proof::DTypeName(t.dtype) + " " + dims);
  }
  return out;
}

class Evaluation : public TrainFixture {
 protected:
  void SetUp() override {
    TrainFixture::SetUp();
    // Held-out examples of the same task, with every 7th label wrong so that
    // no model gets them all right: the scores then say which examples.
    data::DatasetSource eval_source;
    eval_ = SyntheticImages(dir_.path(), &eval_source, /*n=*/300, /*classes=*/4, /*noise_seed=*/999);
    for (size_t i = 0; i < eval_.size(); i += 7) eval_.labels[i] = (eval_.labels[i] + 1) % 4;
    eval_.content_hash = data::DatasetContentHash(eval_.feature_shape, eval_.features, eval_.labels);
  }

  bool HavePythonTorch() { return std::system((std::string(kPython) + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0; }

  // Trains `spec` and returns its model.bin.
  Bytes TrainedModel(const job::JobSpec& spec, const std::string& work_dir) {
    auto trained = Train(work_dir, spec);
    EXPECT_TRUE(trained.ok()) << trained.status().ToString();
    auto model = util::ReadFile(work_dir + "/jobs/" + job::JobId(spec).ToHex() + "/model.bin", 1 << 30);
    EXPECT_TRUE(model.ok()) << model.status().ToString();
    return model.ok() ? *model : Bytes{};
  }

  job::JobSpec Scripted(const std::string& file) {
    job::JobSpec spec = spec_;
    spec.model = job::ModelSpec{};
    spec.model.kind = job::ModelKind::kTorchScript;
    spec.model.torchscript_path = dir_ / file;
    spec.model.torchscript_hash = crypto::Blake2b256(util::ReadFile(dir_ / file, 1 << 30).value());
    return spec;
  }

  // The job's engine in the sandboxed worker, as `cairn eval`, `cairn
  // export` and `cairn job fetch` start it.
  Result<std::unique_ptr<Engine>> Worker(const job::JobSpec& spec, const data::Dataset* evaluation = nullptr) {
    EngineOptions options;
    options.worker.isolated = true;
    options.worker.binary = CAIRN_BINARY;
    return StartEngine(spec, dataset_, evaluation, options);
  }

  data::Dataset eval_;
};

TEST_F(Evaluation, ScoresAreDeterministicAndReflectTraining) {
  const Bytes trained = TrainedModel(spec_, dir_ / "a");
  auto first = EvaluateModelFile(spec_, trained, dataset_, eval_);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = EvaluateModelFile(spec_, trained, dataset_, eval_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->examples, 300u);
  EXPECT_EQ(first->correct, second->correct);
  EXPECT_EQ(std::memcmp(&first->loss, &second->loss, sizeof(double)), 0) << first->loss << " vs " << second->loss;
  EXPECT_DOUBLE_EQ(first->accuracy, static_cast<double>(first->correct) / 300.0);
  // 43 of the 300 labels are wrong on purpose; the task itself is learnt.
  EXPECT_LE(first->correct, 300u - 43u);
  EXPECT_GT(first->accuracy, 0.6);

  // A model trained for one step scores worse. (Not necessarily in loss:
  // a confident model pays dearly for the wrong labels.)
  job::JobSpec untrained = spec_;
  untrained.steps = 1;
  untrained.verification.top_q = untrained.verification.uniform = 0;  // One segment: nothing to sample.
  auto initial = EvaluateModelFile(untrained, TrainedModel(untrained, dir_ / "b"), dataset_, eval_);
  ASSERT_TRUE(initial.ok()) << initial.status().ToString();
  EXPECT_LT(initial->correct, first->correct);
}

TEST_F(Evaluation, RefusesAModelFileOfAnotherJobAndACorruptOne) {
  job::JobSpec wider = spec_;
  wider.model.hidden_sizes = {48};
  const Bytes other = TrainedModel(wider, dir_ / "other");
  auto mismatched = EvaluateModelFile(spec_, other, dataset_, eval_);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mismatched.status().message().find("; is it a model file of this job?"), std::string::npos)
      << mismatched.status().message();
  auto exported = ExportModelFile(spec_, other, dataset_);
  ASSERT_FALSE(exported.ok());
  EXPECT_EQ(exported.status().code(), StatusCode::kInvalidArgument);

  Bytes truncated = TrainedModel(spec_, dir_ / "a");
  truncated.resize(truncated.size() - 5);
  auto corrupt = EvaluateModelFile(spec_, truncated, dataset_, eval_);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(ExportModelFile(spec_, truncated, dataset_).ok());
  auto garbage = EvaluateModelFile(spec_, Bytes(100, 0x5a), dataset_, eval_);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(Evaluation, TheWorkerScoresExactlyAsThisProcessAndRefusesWhatThisProcessRefuses) {
  const Bytes trained = TrainedModel(spec_, dir_ / "a");
  // Scored on the training files themselves: the worker reads the job's
  // evaluation set from disk, checked against its hash.
  job::JobSpec spec = spec_;
  spec.evaluation = job::EvaluationSpec{job::DatasetSpec{source_, dataset_.content_hash}};
  auto here = EvaluateModelFile(spec, trained, dataset_, dataset_);
  ASSERT_TRUE(here.ok()) << here.status().ToString();
  auto worker = Worker(spec, &dataset_);
  ASSERT_TRUE(worker.ok()) << worker.status().ToString();
  auto there = (*worker)->Evaluate(trained);
  ASSERT_TRUE(there.ok()) << there.status().ToString();
  EXPECT_EQ(there->correct, here->correct);
  EXPECT_EQ(there->examples, here->examples);
  EXPECT_EQ(std::memcmp(&there->loss, &here->loss, sizeof(double)), 0) << there->loss << " vs " << here->loss;
  // A model file of another job is refused the same way (and the worker can
  // still be asked again).
  const Bytes other = TrainedModel(SmallJob(dataset_, source_, job::ModelKind::kCnn), dir_ / "b");
  EXPECT_EQ((*worker)->Evaluate(other).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*worker)->Export(other).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE((*worker)->Export(trained).ok());
}

TEST_F(Evaluation, AModuleThatReadsFilesCannotWhenScoredInTheWorker) {
  if (!HavePythonTorch()) GTEST_SKIP() << "Debian's python3-torch is not installed (scripts/install-deps installs it)";
  const std::string secret = "SUBMITTER-CANNOT-READ-0123456789";
  ASSERT_TRUE(util::WriteFileAtomic(dir_ / "secret.key", ByteView(secret)).ok());
  std::string cmd = std::string(kPython) + " " + CAIRN_TEST_DIR + "/export_hostile_models.py " + dir_.path() + " " +
                    (dir_ / "secret.key");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const Bytes trained = TrainedModel(Scripted("reads_file.pt"), dir_ / "a");  // In this process: the attack works.
  ASSERT_FALSE(trained.empty());
  job::JobSpec spec = Scripted("reads_file.pt");
  spec.evaluation = job::EvaluationSpec{job::DatasetSpec{source_, dataset_.content_hash}};
  ASSERT_TRUE(EvaluateModelFile(spec, trained, dataset_, dataset_).ok());
  // In the worker its forward cannot open the file: already when the worker
  // builds the model (it runs a batch through it), or else when it scores.
  auto worker = Worker(spec, &dataset_);
  const Status scored = worker.ok() ? (*worker)->Evaluate(trained).status() : worker.status();
  ASSERT_FALSE(scored.ok());
  EXPECT_NE(scored.message().find("from_file"), std::string::npos) << scored.message();
  EXPECT_NE(scored.message().find("Permission denied"), std::string::npos) << scored.message();
}

TEST_F(Evaluation, RefusesAnEvaluationSetOfAnotherShape) {
  const Bytes trained = TrainedModel(spec_, dir_ / "a");
  data::Dataset rows;
  rows.feature_shape = {64};
  rows.features = eval_.features;
  rows.labels = eval_.labels;
  rows.num_classes = 4;
  auto result = EvaluateModelFile(spec_, trained, dataset_, rows);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("shape [64]"), std::string::npos) << result.status().message();
}

// Each model kind: train, evaluate in C++, export, and load both files in
// Python, which must score the evaluation set exactly as cairn did.
class ExportedModels : public Evaluation, public ::testing::WithParamInterface<std::string> {
 protected:
  job::JobSpec SpecFor(const std::string& kind) {
    if (kind == "mlp") return SmallJob(dataset_, source_, job::ModelKind::kMlp);
    if (kind == "cnn") return SmallJob(dataset_, source_, job::ModelKind::kCnn);
    if (kind == "transformer") {
      job::JobSpec spec = SmallJob(dataset_, source_, job::ModelKind::kTransformer);
      spec.optimizer.learning_rate = 0.02;
      return spec;
    }
    // A TorchScript CNN with BatchNorm (running statistics, an int64
    // counter) and Dropout, exported by tests/train/export_models.py.
    std::string cmd = std::string(kPython) + " " + CAIRN_TEST_DIR + "/export_models.py " + dir_.path();
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return Scripted("bn_dropout_cnn.pt");
  }
};

TEST_P(ExportedModels, LoadInPythonAndScoreExactlyAsCairnDoes) {
  if (!HavePythonTorch()) GTEST_SKIP() << "Debian's python3-torch is not installed (scripts/install-deps installs it)";
  const job::JobSpec spec = SpecFor(GetParam());
  const Bytes trained = TrainedModel(spec, dir_ / "a");
  ASSERT_FALSE(trained.empty());
  auto cairn_scores = EvaluateModelFile(spec, trained, dataset_, eval_);
  ASSERT_TRUE(cairn_scores.ok()) << cairn_scores.status().ToString();
  EXPECT_LT(cairn_scores->correct, cairn_scores->examples);
  EXPECT_GT(cairn_scores->correct, 0u);

  auto exported = ExportModelFile(spec, trained, dataset_);
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  // The CLI's way (the job's code never runs in its process): the same files.
  auto worker = Worker(spec);
  ASSERT_TRUE(worker.ok()) << worker.status().ToString();
  auto from_worker = (*worker)->Export(trained);
  ASSERT_TRUE(from_worker.ok()) << from_worker.status().ToString();
  EXPECT_EQ(from_worker->torchscript, exported->torchscript);
  EXPECT_EQ(from_worker->state_dict, exported->state_dict);
  EXPECT_EQ(from_worker->tensors, exported->tensors);
  const proof::ModelStateView state = proof::DecodeModelState(trained).value();
  EXPECT_EQ(exported->tensors, state.tensors.size());
  ASSERT_TRUE(util::MakeDirs(dir_ / "export").ok());
  ASSERT_TRUE(util::WriteFileAtomic(dir_ / ("export/" + std::string(kExportTorchScriptFile)), exported->torchscript).ok());
  ASSERT_TRUE(util::WriteFileAtomic(dir_ / ("export/" + std::string(kExportStateDictFile)), exported->state_dict).ok());
  ASSERT_TRUE(util::WriteFileAtomic(dir_ / "eval.bin", EncodeEvalSet(eval_)).ok());

  auto run = cairn::testing::RunProcess({kPython, std::string(CAIRN_TEST_DIR) + "/check_export.py", dir_ / "export",
                                         dir_ / "eval.bin", std::to_string(kEvalBatchExamples),
                                         std::to_string(spec.profile.threads)});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const PythonScores python = ParseScores(run.out);
  EXPECT_FALSE(python.training) << "model.pt must load in evaluation mode";
  EXPECT_EQ(python.examples, cairn_scores->examples);
  EXPECT_EQ(python.correct, cairn_scores->correct) << run.out;
  EXPECT_EQ(std::memcmp(&python.loss, &cairn_scores->loss, sizeof(double)), 0)
      << "python " << python.loss << " vs cairn " << cairn_scores->loss;
  EXPECT_TRUE(python.state_matches_module) << run.out;
  EXPECT_EQ(python.tensors, ExpectedTensors(trained)) << run.out;
}

INSTANTIATE_TEST_SUITE_P(Kinds, ExportedModels, ::testing::Values("mlp", "cnn", "transformer", "torchscript"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace cairn::train::testing
