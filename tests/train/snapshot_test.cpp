// SnapshotEncoder, the solver's fast checkpoint encoding, against the
// reference encoding (EncodeSnapshot): byte for byte, at every step, with
// recycled buffers of any history, and across a change of layout.
#include <gtest/gtest.h>

#include "proof/model_state.h"
#include "train/optimizer.h"
#include "train/snapshot.h"

namespace cairn::train::testing {
namespace {

// A state with every kind of tensor a checkpoint holds: trainable float32
// parameters (one of them a non-contiguous view), a frozen parameter, and
// buffers of several dtypes, one of them empty.
struct Fixture {
  torch::Tensor weight = torch::randn({7, 5});
  torch::Tensor bias = torch::randn({7});
  torch::Tensor transposed = torch::randn({3, 4}).t();  // Non-contiguous storage.
  torch::Tensor frozen = torch::randn({2, 3}, torch::kFloat64);
  torch::Tensor counter = torch::zeros({}, torch::kInt64);
  torch::Tensor mask = torch::ones({5}, torch::kBool);
  torch::Tensor half = torch::randn({4}).to(torch::kFloat16);
  torch::Tensor empty = torch::zeros({0, 3});

  Fixture() {
    for (torch::Tensor* p : {&weight, &bias, &transposed}) p->set_requires_grad(true);
  }

  ModelState State() const {
    return {{"fc.weight", proof::TensorRole::kParameter, weight},
            {"fc.bias", proof::TensorRole::kParameter, bias},
            {"proj.weight", proof::TensorRole::kParameter, transposed},
            {"backbone.weight", proof::TensorRole::kFrozenParameter, frozen},
            {"bn.num_batches_tracked", proof::TensorRole::kBuffer, counter},
            {"mask", proof::TensorRole::kBuffer, mask},
            {"half", proof::TensorRole::kBuffer, half},
            {"empty", proof::TensorRole::kBuffer, empty}};
  }
  NamedTensors Parameters() const { return {{"fc.weight", weight}, {"fc.bias", bias}, {"proj.weight", transposed}}; }

  // One optimizer step with random gradients, and buffers that change.
  void Train(Optimizer* optimizer) {
    for (torch::Tensor* p : {&weight, &bias, &transposed}) p->mutable_grad() = torch::randn_like(*p);
    optimizer->Step(0.1);
    torch::NoGradGuard no_grad;
    counter.add_(1);
    half.mul_(0.5);
    mask.logical_not_();
  }
};

job::OptimizerSpec Spec(job::OptimizerKind kind) {
  job::OptimizerSpec spec;
  spec.kind = kind;
  spec.learning_rate = 0.1;
  spec.momentum = 0.9;
  spec.weight_decay = 1e-4;
  return spec;
}

class SnapshotEncoding : public ::testing::TestWithParam<job::OptimizerKind> {};

TEST_P(SnapshotEncoding, MatchesTheReferenceEncodingAtEveryStep) {
  torch::manual_seed(1);
  Fixture f;
  const job::OptimizerSpec spec = Spec(GetParam());
  Optimizer optimizer(spec, f.Parameters());
  SnapshotEncoder encoder;
  Bytes held;  // A snapshot kept across the next one, as the writer keeps its previous checkpoint.
  for (uint64_t step = 0; step < 12; ++step) {
    Bytes fast = encoder.Encode(step, f.State(), optimizer, spec);
    ASSERT_EQ(fast, EncodeSnapshot(step, f.State(), optimizer, spec)) << "step " << step;
    auto view = proof::DecodeCheckpoint(fast);
    ASSERT_TRUE(view.ok()) << view.status().ToString();
    EXPECT_EQ(view->step, step);
    EXPECT_EQ(view->optimizer_steps, optimizer.step_count());
    // Hand buffers back in the writer's order: the previous one once the
    // next is written, and now and then one of another size.
    encoder.Recycle(std::move(held));
    if (step % 3 == 2) encoder.Recycle(Bytes(fast.size() / 2, 0x11));
    if (step % 4 == 3) encoder.Recycle(Bytes(fast.size() + 100, 0x22));
    held = std::move(fast);
    f.Train(&optimizer);
  }
  EXPECT_EQ(encoder.templates_built(), 1u);  // Every later snapshot was a copy into the template.
}

INSTANTIATE_TEST_SUITE_P(Optimizers, SnapshotEncoding,
                         ::testing::Values(job::OptimizerKind::kSgd, job::OptimizerKind::kAdam,
                                           job::OptimizerKind::kAdamW));

TEST(SnapshotEncoder, FollowsAChangeOfLayout) {
  torch::manual_seed(2);
  Fixture f;
  const job::OptimizerSpec spec = Spec(job::OptimizerKind::kSgd);
  Optimizer optimizer(spec, f.Parameters());
  SnapshotEncoder encoder;
  Bytes before = encoder.Encode(0, f.State(), optimizer, spec);
  ASSERT_EQ(before, EncodeSnapshot(0, f.State(), optimizer, spec));
  encoder.Recycle(std::move(before));
  // A forward that replaces a buffer with one of another shape and dtype
  // (TorchScript modules may): the next snapshot has the new layout.
  f.half = torch::randn({9}, torch::kFloat64);
  f.Train(&optimizer);
  Bytes after = encoder.Encode(1, f.State(), optimizer, spec);
  EXPECT_EQ(after, EncodeSnapshot(1, f.State(), optimizer, spec));
  encoder.Recycle(std::move(after));
  f.Train(&optimizer);
  EXPECT_EQ(encoder.Encode(2, f.State(), optimizer, spec), EncodeSnapshot(2, f.State(), optimizer, spec));
  // A renamed tensor too.
  ModelState renamed = f.State();
  renamed.back().name = "other";
  EXPECT_EQ(encoder.Encode(3, renamed, optimizer, spec), EncodeSnapshot(3, renamed, optimizer, spec));
  EXPECT_EQ(encoder.templates_built(), 3u);
}

}  // namespace
}  // namespace cairn::train::testing
