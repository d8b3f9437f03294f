// TorchScript modules exported from PyTorch (by Debian's python3-torch, at
// test time) train, verify and are refused with reasons when unusable.
#include <cstdlib>

#include "crypto/hash.h"
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

}  // namespace
}  // namespace cairn::train::testing
