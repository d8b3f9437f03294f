// TorchScript modules exported from PyTorch (by Debian's python3-torch, at
// test time) train, verify and are refused with reasons when unusable.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "crypto/hash.h"
#include "proof/checkpoint_store.h"
#include "proof/model_state.h"
#include "train_fixture.h"
#include "util/file.h"

namespace cairn::train::testing {
namespace {

class TorchScriptModels : public TrainFixture {
 protected:
  void SetUp() override {
    TrainFixture::SetUp();
    if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "Debian's python3-torch is not installed (scripts/install-deps installs it)";
    }
    std::string cmd = "/usr/bin/python3 " + std::string(CAIRN_TEST_DIR) + "/export_models.py " + dir_.path();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  job::JobSpec Scripted(const std::string& file) {
    job::JobSpec spec = spec_;
    spec.model = job::ModelSpec{};
    spec.model.kind = job::ModelKind::kTorchScript;
    spec.model.torchscript_path = dir_ / file;
    spec.model.torchscript_hash = crypto::Blake2b256(util::ReadFile(dir_ / file, 1 << 30).value());
    return spec;
  }
};

TEST_F(TorchScriptModels, ScriptedModuleTrainsDeterministicallyAndVerifies) {
  job::JobSpec spec = Scripted("mlp.pt");
  auto a = Train(dir_ / "a", spec);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = Train(dir_ / "b", spec);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(proof::EncodeCertificate(a->certificate), proof::EncodeCertificate(b->certificate));
  EXPECT_LT(a->final_loss, 1.3);
  auto report = Verify(spec, a->certificate, dir_ / "a");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->accepted) << report->reason;
}

TEST_F(TorchScriptModels, CorruptFileIsRefusedWithTheReason) {
  Bytes good = util::ReadFile(dir_ / "mlp.pt", 1 << 30).value();
  Bytes bad(good.begin(), good.begin() + static_cast<long>(good.size() / 2));
  ASSERT_TRUE(util::WriteFileAtomic(dir_ / "truncated.pt", bad).ok());
  auto r = Train(dir_ / "x", Scripted("truncated.pt"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("not a loadable TorchScript module"), std::string::npos) << r.status().message();
}

TEST_F(TorchScriptModels, ModuleWithoutParametersIsRefused) {
  auto r = Train(dir_ / "x", Scripted("no_params.pt"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no trainable parameters"), std::string::npos) << r.status().message();
}

TEST_F(TorchScriptModels, ForwardThatDoesNotFitTheDatasetIsRefused) {
  auto r = Train(dir_ / "x", Scripted("wrong_output.pt"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("[batch, 4]"), std::string::npos) << r.status().message();
}

// Models as PyTorch users write them: randomness (dropout, noise in forward),
// buffers (BatchNorm statistics, an int64 counter), an LSTM, frozen
// parameters. Each must train reproducibly, resume to the identical
// certificate, verify in full, and come back complete.
class RealisticModels : public TorchScriptModels, public ::testing::WithParamInterface<const char*> {};

TEST_P(RealisticModels, TrainReproduciblyResumeIdenticallyVerifyAndComeBackWhole) {
  job::JobSpec spec = Scripted(GetParam());
  auto a = Train(dir_ / "a", spec);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = Train(dir_ / "b", spec);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(proof::EncodeCertificate(a->certificate), proof::EncodeCertificate(b->certificate))
      << "two runs of the same job differ";

  TrainOptions stop;
  stop.stop_after_step = 17;  // Mid-segment: as if killed.
  ASSERT_FALSE(Train(dir_ / "c", spec, stop).ok());
  auto c = Train(dir_ / "c", spec);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->resumed_from_step, 15u);
  EXPECT_EQ(proof::EncodeCertificate(a->certificate), proof::EncodeCertificate(c->certificate))
      << "the resumed run differs";

  auto report = Verify(spec, a->certificate, dir_ / "a", /*all=*/true);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->accepted) << report->reason;

  // model.bin holds every parameter and buffer of the module, and its hash
  // is the certificate's.
  Bytes model = util::ReadFile(dir_ / "a/jobs/" + job::JobId(spec).ToHex() + "/model.bin", 1 << 30).value();
  EXPECT_EQ(proof::ModelHash(model), a->certificate.final_model_hash);
  auto state = proof::DecodeModelState(model);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  const std::string probe = "/usr/bin/python3 -c \"import torch,sys; m=torch.jit.load(sys.argv[1]); "
                            "print(len(list(m.named_parameters())) + len(list(m.named_buffers())))\" " +
                            (dir_ / GetParam());
  auto count = cairn::testing::RunProcess({"/bin/sh", "-c", probe});
  ASSERT_EQ(count.exit_code, 0) << count.err;
  EXPECT_EQ(std::to_string(state->tensors.size()) + "\n", count.out);
}

INSTANTIATE_TEST_SUITE_P(TorchScript, RealisticModels,
                         ::testing::Values("bn_dropout_cnn.pt", "noisy_mlp.pt", "lstm.pt", "frozen_backbone.pt"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           name = name.substr(0, name.find('.'));
                           name.erase(std::remove(name.begin(), name.end(), '_'), name.end());
                           return name;
                         });

TEST_F(TorchScriptModels, BatchNormBuffersAndCounterAreCheckpointed) {
  job::JobSpec spec = Scripted("bn_dropout_cnn.pt");
  auto a = Train(dir_ / "a", spec);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  Bytes model = util::ReadFile(dir_ / "a/jobs/" + job::JobId(spec).ToHex() + "/model.bin", 1 << 30).value();
  auto state = proof::DecodeModelState(model).value();
  bool saw_counter = false, saw_running_var = false;
  for (const auto& t : state.tensors) {
    if (t.name == "body.1.num_batches_tracked") {
      saw_counter = true;
      EXPECT_EQ(t.role, proof::TensorRole::kBuffer);
      ASSERT_EQ(t.dtype, proof::DType::kInt64);
      int64_t count = 0;
      std::memcpy(&count, t.data.data, 8);
      EXPECT_EQ(count, static_cast<int64_t>(spec.steps));  // One per training step.
    }
    if (t.name == "body.1.running_var") {
      saw_running_var = true;
      EXPECT_EQ(t.dtype, proof::DType::kFloat32);
    }
  }
  EXPECT_TRUE(saw_counter);
  EXPECT_TRUE(saw_running_var);
}

TEST_F(TorchScriptModels, FrozenParametersAreKeptAndNotTrained) {
  job::JobSpec spec = Scripted("frozen_backbone.pt");
  auto a = Train(dir_ / "a", spec);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto store = proof::CheckpointStore::Open(dir_ / "a/checkpoints").value();
  Bytes first_bytes = store.Get(a->certificate.checkpoint_hashes.front()).value();
  Bytes last_bytes = store.Get(a->certificate.checkpoint_hashes.back()).value();
  auto first = proof::DecodeCheckpoint(first_bytes).value();
  auto last = proof::DecodeCheckpoint(last_bytes).value();
  int frozen = 0;
  for (size_t i = 0; i < first.model.tensors.size(); ++i) {
    const auto& t0 = first.model.tensors[i];
    const auto& t1 = last.model.tensors[i];
    const bool same = t0.data.size == t1.data.size && std::memcmp(t0.data.data, t1.data.data, t0.data.size) == 0;
    if (t0.role == proof::TensorRole::kFrozenParameter) {
      frozen++;
      EXPECT_TRUE(same) << t0.name << " is frozen but changed";
    }
    if (t0.role == proof::TensorRole::kParameter) {
      EXPECT_FALSE(same) << t0.name << " was not trained";
    }
  }
  EXPECT_EQ(frozen, 4);  // The backbone's Linear and BatchNorm1d weight and bias.
}

TEST_F(TorchScriptModels, StateOutsideParametersAndBuffersIsRefusedBeforeTraining) {
  auto r = Train(dir_ / "x", Scripted("counts_calls.pt"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("assigns the attribute"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("register_buffer"), std::string::npos) << r.status().message();
}

TEST_F(TorchScriptModels, StepThatIsNotAFunctionOfStateAndSeedIsRefusedBeforeTraining) {
  auto r = Train(dir_ / "x", Scripted("hidden_state.pt"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not reproducible"), std::string::npos) << r.status().message();
  EXPECT_FALSE(util::FileExists(dir_ / ("x/jobs/" + job::JobId(Scripted("hidden_state.pt")).ToHex() + "/certificate.bin")));
}

}  // namespace
}  // namespace cairn::train::testing
