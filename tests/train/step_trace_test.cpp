// The compute side of the pinpoint protocol (docs/pinpoint.md): per-step
// state hashes (level 1), operator traces of one step (level 2), input blobs
// and the referee's recompute, for built-in models and a TorchScript module
// with dropout, in this process and through the sandboxed worker.
#include <cstdio>
#include <cstdlib>

#include "crypto/hash.h"
#include "proof/checkpoint_store.h"
#include "proof/op_trace.h"
#include "train/engine.h"
#include "train_fixture.h"
#include "util/codec.h"
#include "util/file.h"

namespace cairn::train::testing {
namespace {

// The step whose trace the tests take (not the first: the optimizer's state
// is not zero any more).
constexpr uint64_t kStep = 3;

enum class Model { kMlp, kCnn, kScriptedDropout };

std::string ModelName(Model m) {
  switch (m) {
    case Model::kMlp:
      return "mlp";
    case Model::kCnn:
      return "cnn";
    case Model::kScriptedDropout:
      return "torchscript_bn_dropout_cnn";
  }
  return "?";
}

class StepTraceTest : public TrainFixture, public ::testing::WithParamInterface<Model> {
 protected:
  void SetUp() override {
    TrainFixture::SetUp();
    switch (GetParam()) {
      case Model::kMlp:
        spec_ = SmallJob(dataset_, source_, job::ModelKind::kMlp);
        break;
      case Model::kCnn:
        spec_ = SmallJob(dataset_, source_, job::ModelKind::kCnn);
        break;
      case Model::kScriptedDropout: {
        if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
          GTEST_SKIP() << "Debian's python3-torch is not installed (scripts/install-deps installs it)";
        }
        std::string cmd = "/usr/bin/python3 " + std::string(CAIRN_TEST_DIR) + "/export_models.py " + dir_.path();
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
        spec_ = SmallJob(dataset_, source_);
        spec_.model = job::ModelSpec{};
        spec_.model.kind = job::ModelKind::kTorchScript;
        spec_.model.torchscript_path = dir_ / "bn_dropout_cnn.pt";
        spec_.model.torchscript_hash = crypto::Blake2b256(util::ReadFile(dir_ / "bn_dropout_cnn.pt", 1 << 30).value());
        break;
      }
    }
  }

  std::unique_ptr<Engine> Start(CheatHooks cheat = {}, bool isolated = false) {
    EngineOptions options;
    options.worker.isolated = isolated;
    options.worker.binary = CAIRN_BINARY;
    options.cheat = std::move(cheat);
    auto engine = StartEngine(spec_, dataset_, nullptr, options);
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(engine).value() : nullptr;
  }

  // The checkpoint at `step`, trained from scratch by a fresh engine.
  Bytes CheckpointAt(uint64_t step) {
    auto engine = Start();
    if (step == 0) return engine->InitialCheckpoint().value();
    auto segment = engine->RunSegment(0, step, nullptr);
    EXPECT_TRUE(segment.ok()) << segment.status().ToString();
    return segment->checkpoint;
  }

  proof::StepTrace Trace(Engine* engine, ByteView checkpoint, uint64_t step) {
    EXPECT_EQ(engine->Restore(checkpoint).value(), step);
    auto trace = engine->TraceStep(step);
    EXPECT_TRUE(trace.ok()) << trace.status().ToString();
    return trace.ok() ? std::move(trace).value() : proof::StepTrace{};
  }

  // Records whose first output is a non-empty float32 tensor: what the
  // corruption hook changes visibly.
  static std::vector<size_t> CorruptibleRecords(const proof::StepTrace& trace) {
    std::vector<size_t> out;
    for (size_t j = 0; j < trace.records.size(); ++j) {
      const auto& outputs = trace.records[j].outputs;
      if (outputs.empty() || outputs[0].kind != proof::ValueKind::kTensor) continue;
      const proof::TensorDescriptor& t = outputs[0].tensors[0];
      uint64_t numel = 1;
      for (int64_t s : t.sizes) numel *= static_cast<uint64_t>(s);
      if (t.defined && t.dtype == static_cast<uint8_t>(proof::ScalarCode::kFloat32) && numel > 0) out.push_back(j);
    }
    return out;
  }
};

TEST_P(StepTraceTest, TwoTracesOfTheSameStepAreIdenticalWhateverRanBefore) {
  const Bytes before = CheckpointAt(kStep);
  const Bytes after = CheckpointAt(kStep + 1);
  auto first = Start();
  const proof::StepTrace a = Trace(first.get(), before, kStep);
  // Another engine that trained further first (its gradients are defined
  // and zeroed, its TorchScript graphs warm) traces the same step.
  auto second = Start();
  ASSERT_TRUE(second->RunSegment(0, kStep + 3, nullptr).ok());
  const proof::StepTrace b = Trace(second.get(), before, kStep);
  ASSERT_FALSE(a.records.empty());
  EXPECT_EQ(proof::FirstDifferingRecord(a, b), std::nullopt);
  EXPECT_EQ(proof::EncodeStepTrace(a), proof::EncodeStepTrace(b));
  EXPECT_EQ(proof::TraceRoot(a), proof::TraceRoot(b));
  // The trace runs from the committed state to the next one.
  EXPECT_EQ(a.state_before, proof::CheckpointHash(before));
  EXPECT_EQ(a.state_after, proof::CheckpointHash(after));
  // Its step inputs: the batch, then exactly the checkpoint's tensors.
  auto state = proof::CheckpointStepInputs(before);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  ASSERT_EQ(a.step_inputs.size(), state->size() + 2);
  EXPECT_EQ(a.step_inputs[0].name, "batch.features");
  EXPECT_EQ(a.step_inputs[1].name, "batch.labels");
  for (size_t i = 0; i < state->size(); ++i) EXPECT_EQ(a.step_inputs[i + 2], (*state)[i]) << (*state)[i].name;
  // The trace decodes to itself, and every record is proved by the root.
  auto decoded = proof::DecodeStepTrace(proof::EncodeStepTrace(a));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->records, a.records);
  const Hash256 root = proof::TraceRoot(a);
  for (size_t j = 0; j < a.records.size(); j += 7) {
    EXPECT_TRUE(proof::VerifyRecordProof(a.records[j], j, a.records.size(), proof::TraceProof(a, j), root));
  }
  size_t random = 0;
  for (const auto& r : a.records) random += r.generator_state.has_value();
  if (GetParam() == Model::kScriptedDropout) {
    EXPECT_GE(random, 2u) << "Dropout2d and Dropout each draw a mask";
  } else {
    EXPECT_EQ(random, 0u);
  }
  // For the benchmark: rounds ~ log2(k) + log2(ops per step).
  std::printf("[ ops per step ] %s: %zu records (%zu random), batch %u\n", ModelName(GetParam()).c_str(),
              a.records.size(), random, spec_.batch_size);
  RecordProperty("ops_per_step", static_cast<int>(a.records.size()));
}

// Every tensor a record reads was made by an earlier record or is a step
// input: no computation of the step happens outside the records.
TEST_P(StepTraceTest, EveryTensorARecordReadsComesFromAnEarlierRecordOrTheStepInputs) {
  auto engine = Start();
  const proof::StepTrace trace = Trace(engine.get(), CheckpointAt(kStep), kStep);
  size_t tensors = 0;
  for (size_t j = 0; j < trace.records.size(); ++j) {
    const proof::OpRecord& record = trace.records[j];
    for (size_t a = 0; a < record.inputs.size(); ++a) {
      for (const proof::TensorDescriptor& t : record.inputs[a].tensors) {
        if (!t.defined) continue;
        tensors++;
        auto source = proof::FindTensorSource(trace, j, t);
        EXPECT_TRUE(source.has_value()) << "argument " << a << " of record " << j << " "
                                        << proof::OpDisplayName(record);
        if (source && !source->step_input) {
          EXPECT_LT(source->index, j);
        }
      }
    }
  }
  EXPECT_GT(tensors, trace.records.size());
}

TEST_P(StepTraceTest, StepHashesEndAtTheCommittedCheckpoint) {
  const uint64_t k = spec_.checkpoint_interval;
  auto engine = Start();
  ASSERT_EQ(engine->Restore(CheckpointAt(k)).value(), k);
  auto hashes = engine->StepHashes(k, 2 * k);
  ASSERT_TRUE(hashes.ok()) << hashes.status().ToString();
  ASSERT_EQ(hashes->size(), k);
  for (uint64_t i = 0; i < k; ++i) {
    EXPECT_EQ((*hashes)[i], proof::CheckpointHash(CheckpointAt(k + i + 1))) << "after step " << k + i;
  }
  // The last is the hash the certificate commits for the segment's end.
  auto segment = Start()->RunSegment(0, 2 * k, nullptr);
  ASSERT_TRUE(segment.ok());
  EXPECT_EQ(hashes->back(), proof::CheckpointHash(segment->checkpoint));
  // The state is left at the end: the next segment continues from it.
  auto next = engine->TraceStep(2 * k);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->state_before, hashes->back());
}

TEST_P(StepTraceTest, TracingNeedsTheStateBeforeTheStep) {
  auto engine = Start();
  auto wrong = engine->TraceStep(kStep);  // A new engine is at step 0.
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(wrong.status().message().find("restore"), std::string::npos) << wrong.status().message();
  EXPECT_FALSE(engine->OpInputs(kStep, 0).ok());
  EXPECT_EQ(engine->StepHashes(kStep, kStep + 1).status().code(), StatusCode::kFailedPrecondition);
  // After a restore, the step traces.
  ASSERT_TRUE(engine->Restore(CheckpointAt(kStep)).ok());
  EXPECT_TRUE(engine->TraceStep(kStep).ok());
}

TEST_P(StepTraceTest, EveryRecordRecomputesToItsOutputFromItsBlob) {
  const Bytes before = CheckpointAt(kStep);
  auto engine = Start();
  const proof::StepTrace trace = Trace(engine.get(), before, kStep);
  ASSERT_EQ(engine->Restore(before).value(), kStep);
  for (size_t j = 0; j < trace.records.size(); ++j) {
    const proof::OpRecord& record = trace.records[j];
    auto blob = engine->OpInputs(kStep, j);
    ASSERT_TRUE(blob.ok()) << j << " " << proof::OpDisplayName(record) << ": " << blob.status().ToString();
    auto recomputed = engine->RecomputeOp(record, *blob);
    ASSERT_TRUE(recomputed.ok()) << j << " " << proof::OpDisplayName(record) << ": " << recomputed.status().ToString();
    EXPECT_EQ(*recomputed, proof::OutputHash(record)) << "record " << j << " " << proof::OpDisplayName(record);
  }
  // OpInputs left the state where it was: the step still traces the same.
  auto again = engine->TraceStep(kStep);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(proof::EncodeStepTrace(*again), proof::EncodeStepTrace(trace));
  auto past_the_end = Start();
  ASSERT_TRUE(past_the_end->Restore(before).ok());
  auto none = past_the_end->OpInputs(kStep, trace.records.size());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
}

TEST_P(StepTraceTest, WithTwoIntraOpThreadsTracesAgreeAndRecompute) {
  // Kernels split work over threads in parallel regions, where operators
  // they call are inside a record already.
  spec_.profile.threads = 2;
  const Bytes before = CheckpointAt(kStep);
  auto first = Start();
  const proof::StepTrace a = Trace(first.get(), before, kStep);
  auto second = Start();
  ASSERT_TRUE(second->RunSegment(0, kStep + 2, nullptr).ok());
  const proof::StepTrace b = Trace(second.get(), before, kStep);
  EXPECT_EQ(proof::EncodeStepTrace(a), proof::EncodeStepTrace(b));
  EXPECT_EQ(a.state_after, proof::CheckpointHash(CheckpointAt(kStep + 1)));
  ASSERT_TRUE(first->Restore(before).ok());
  for (size_t j = 0; j < a.records.size(); ++j) {
    auto blob = first->OpInputs(kStep, j);
    ASSERT_TRUE(blob.ok()) << j << ": " << blob.status().ToString();
    auto recomputed = first->RecomputeOp(a.records[j], *blob);
    ASSERT_TRUE(recomputed.ok()) << j << ": " << recomputed.status().ToString();
    EXPECT_EQ(*recomputed, proof::OutputHash(a.records[j]))
        << "record " << j << " " << proof::OpDisplayName(a.records[j]);
  }
}

TEST_P(StepTraceTest, APerturbedOperatorIsTheFirstDifferenceAndTheRefereeRulesAgainstIt) {
  const Bytes before = CheckpointAt(kStep);
  auto honest = Start();
  const proof::StepTrace truth = Trace(honest.get(), before, kStep);
  const std::vector<size_t> corruptible = CorruptibleRecords(truth);
  ASSERT_GE(corruptible.size(), 3u);
  // One in the forward pass, one in the middle, one near the end (optimizer).
  for (size_t j : {corruptible[corruptible.size() / 4], corruptible[corruptible.size() / 2],
                   corruptible[corruptible.size() - 1]}) {
    SCOPED_TRACE("record " + std::to_string(j) + " " + proof::OpDisplayName(truth.records[j]));
    CheatHooks cheat;
    cheat.corrupt_op_output = [j](uint64_t step) -> std::optional<uint64_t> {
      if (step == kStep) return j;
      return std::nullopt;
    };
    auto cheater = Start(cheat);
    const proof::StepTrace forged = Trace(cheater.get(), before, kStep);
    // Level 2: the first record the traces disagree on is j, with agreeing
    // inputs and a different output.
    ASSERT_EQ(proof::FirstDifferingRecord(truth, forged), j);
    EXPECT_EQ(truth.records[j].inputs, forged.records[j].inputs);
    EXPECT_EQ(truth.records[j].generator_state, forged.records[j].generator_state);
    EXPECT_NE(proof::OutputHash(truth.records[j]), proof::OutputHash(forged.records[j]));
    // Level 1 for the cheater agrees with its own trace.
    ASSERT_TRUE(cheater->Restore(before).ok());
    auto cheater_hashes = cheater->StepHashes(kStep, kStep + 1);
    ASSERT_TRUE(cheater_hashes.ok()) << cheater_hashes.status().ToString();
    EXPECT_EQ(cheater_hashes->at(0), forged.state_after);
    // The referee: the honest party's blob matches the agreed input
    // descriptors; recomputing gives the honest output, not the forged one.
    ASSERT_TRUE(honest->Restore(before).ok());
    auto blob = honest->OpInputs(kStep, j);
    ASSERT_TRUE(blob.ok()) << blob.status().ToString();
    auto referee = StartOpRecomputer(spec_.profile, WorkerOptions{/*isolated=*/false, "", {}});
    ASSERT_TRUE(referee.ok()) << referee.status().ToString();
    auto ruled = (*referee)->RecomputeOp(forged.records[j], *blob);
    ASSERT_TRUE(ruled.ok()) << ruled.status().ToString();
    EXPECT_EQ(*ruled, proof::OutputHash(truth.records[j]));
    EXPECT_NE(*ruled, proof::OutputHash(forged.records[j]));
  }
}

// The whole compute side of a dispute over one segment, as the game plays
// it: level 1 finds the step, level 2 the record, the referee rules.
TEST_P(StepTraceTest, ACheatingSolverIsPinpointedToItsStepAndOperator) {
  const uint64_t k = spec_.checkpoint_interval;
  const uint64_t cheat_step = k + 2;
  const Bytes agreed = CheckpointAt(k);
  // The last record of a step is the optimizer's in-place update of a
  // parameter: corrupting it changes the state for certain.
  auto probe = Start();
  const proof::StepTrace shape = Trace(probe.get(), CheckpointAt(cheat_step), cheat_step);
  const uint64_t cheat_op = shape.records.size() - 1;
  CheatHooks cheat;
  cheat.corrupt_op_output = [&](uint64_t step) -> std::optional<uint64_t> {
    if (step == cheat_step) return cheat_op;
    return std::nullopt;
  };
  auto solver = Start(cheat);
  auto verifier = Start();
  // The solver's committed checkpoint at 2k differs from the honest one.
  ASSERT_TRUE(solver->Restore(agreed).ok());
  auto committed = solver->RunSegment(k, 2 * k, nullptr);
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_NE(proof::CheckpointHash(committed->checkpoint), proof::CheckpointHash(CheckpointAt(2 * k)));
  // Level 1: per-step hashes from the agreed checkpoint; the solver's end
  // at its committed checkpoint.
  ASSERT_TRUE(solver->Restore(agreed).ok());
  ASSERT_TRUE(verifier->Restore(agreed).ok());
  const std::vector<Hash256> claimed = solver->StepHashes(k, 2 * k).value();
  const std::vector<Hash256> replayed = verifier->StepHashes(k, 2 * k).value();
  EXPECT_EQ(claimed.back(), proof::CheckpointHash(committed->checkpoint));
  size_t first = 0;
  while (first < claimed.size() && claimed[first] == replayed[first]) ++first;
  ASSERT_LT(first, claimed.size());
  const uint64_t step = k + first;
  EXPECT_EQ(step, cheat_step);
  // Level 2: both trace that step from the state before it, on which they agree.
  ASSERT_TRUE(solver->Restore(agreed).ok());
  ASSERT_TRUE(verifier->Restore(agreed).ok());
  if (step > k) {
    ASSERT_TRUE(solver->StepHashes(k, step).ok());
    ASSERT_TRUE(verifier->StepHashes(k, step).ok());
  }
  const proof::StepTrace solver_trace = solver->TraceStep(step).value();
  const proof::StepTrace verifier_trace = verifier->TraceStep(step).value();
  EXPECT_EQ(solver_trace.state_before, verifier_trace.state_before);
  EXPECT_EQ(solver_trace.state_after, claimed[first]);
  EXPECT_EQ(verifier_trace.state_after, replayed[first]);
  EXPECT_NE(proof::TraceRoot(solver_trace), proof::TraceRoot(verifier_trace));
  auto j = proof::FirstDifferingRecord(solver_trace, verifier_trace);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(*j, cheat_op);
  const proof::OpRecord& disputed = solver_trace.records[*j];
  ASSERT_EQ(disputed.inputs, verifier_trace.records[*j].inputs);
  // Each claim is proved against its party's root.
  EXPECT_TRUE(proof::VerifyRecordProof(disputed, *j, solver_trace.records.size(), proof::TraceProof(solver_trace, *j),
                                       proof::TraceRoot(solver_trace)));
  // The referee: the verifier hands over the inputs, whose sources are
  // earlier agreed records or step inputs; one operator is recomputed.
  for (const proof::ValueDescriptor& input : disputed.inputs) {
    for (const proof::TensorDescriptor& t : input.tensors) {
      if (t.defined) {
        EXPECT_TRUE(proof::FindTensorSource(verifier_trace, *j, t).has_value());
      }
    }
  }
  ASSERT_TRUE(verifier->Restore(agreed).ok());
  if (step > k) {
    ASSERT_TRUE(verifier->StepHashes(k, step).ok());
  }
  const Bytes blob = verifier->OpInputs(step, *j).value();
  auto referee = StartOpRecomputer(spec_.profile, WorkerOptions{/*isolated=*/false, "", {}});
  ASSERT_TRUE(referee.ok());
  const Hash256 truth = (*referee)->RecomputeOp(disputed, blob).value();
  EXPECT_EQ(truth, proof::OutputHash(verifier_trace.records[*j]));
  EXPECT_NE(truth, proof::OutputHash(disputed));  // The solver is at fault.
  std::printf("[ pinpoint ] %s: step %llu of segment [%llu, %llu), record %zu of %zu (%s)\n",
              ModelName(GetParam()).c_str(), static_cast<unsigned long long>(step), static_cast<unsigned long long>(k),
              static_cast<unsigned long long>(2 * k), *j, solver_trace.records.size(),
              proof::OpDisplayName(disputed).c_str());
}

TEST_P(StepTraceTest, ForgedOrMalformedBlobsAreRefused) {
  const Bytes before = CheckpointAt(kStep);
  auto engine = Start();
  const proof::StepTrace trace = Trace(engine.get(), before, kStep);
  ASSERT_TRUE(engine->Restore(before).ok());
  const std::vector<size_t> corruptible = CorruptibleRecords(trace);
  ASSERT_FALSE(corruptible.empty());
  const size_t j = corruptible[corruptible.size() / 2];
  const proof::OpRecord& record = trace.records[j];
  const Bytes blob = engine->OpInputs(kStep, j).value();
  ASSERT_TRUE(engine->RecomputeOp(record, blob).ok());
  auto refused = [&](const proof::OpRecord& r, const Bytes& b) {
    auto result = engine->RecomputeOp(r, b);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
  };
  // Any flipped byte: a value that no longer hashes to the record's, or a
  // blob that no longer decodes.
  for (size_t at = 0; at < blob.size(); at += std::max<size_t>(1, blob.size() / 97)) {
    Bytes forged = blob;
    forged[at] ^= 0x10;
    refused(record, forged);
  }
  refused(record, Bytes(blob.begin(), blob.end() - 1));
  // Another record's blob.
  const size_t other = j == 0 ? 1 : j - 1;
  refused(trace.records[other], blob);
  // A record and blob that agree but name no operator, or the wrong number
  // or kind of arguments for the operator they name.
  proof::OpInputs inputs = proof::DecodeOpInputs(blob).value();
  auto consistent = [&](proof::OpInputs in) {
    proof::OpRecord r = record;
    r.op = in.op;
    r.overload = in.overload;
    r.inputs.clear();
    for (const proof::OpValue& v : in.values) r.inputs.push_back(proof::DescribeValue(v));
    auto b = proof::EncodeOpInputs(in);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_TRUE(proof::CheckOpInputs(r, proof::DecodeOpInputs(*b).value()).ok());
    return std::make_pair(r, *b);
  };
  {
    proof::OpInputs unknown = inputs;
    unknown.op = "aten::no_such_operator";
    auto [r, b] = consistent(unknown);
    auto result = engine->RecomputeOp(r, b);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.status().message().find("unknown operator"), std::string::npos) << result.status().ToString();
  }
  {
    proof::OpInputs longer = inputs;
    proof::OpValue extra;
    extra.kind = proof::ValueKind::kInt;
    extra.integer = 1;
    longer.values.push_back(extra);
    auto [r, b] = consistent(longer);
    auto result = engine->RecomputeOp(r, b);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.status().message().find("arguments"), std::string::npos) << result.status().ToString();
  }
  {
    proof::OpInputs mistyped = inputs;
    ASSERT_EQ(mistyped.values[0].kind, proof::ValueKind::kTensor);
    proof::OpValue text;
    text.kind = proof::ValueKind::kString;
    text.text = "not a tensor";
    mistyped.values[0] = text;
    auto [r, b] = consistent(mistyped);
    auto result = engine->RecomputeOp(r, b);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
  }
  // After all that, the engine still recomputes the honest blob.
  auto fine = engine->RecomputeOp(record, blob);
  ASSERT_TRUE(fine.ok()) << fine.status().ToString();
  EXPECT_EQ(*fine, proof::OutputHash(record));
}

TEST_P(StepTraceTest, TheSandboxedWorkerAnswersAsThisProcess) {
  const Bytes before = CheckpointAt(kStep);
  auto local = Start();
  const proof::StepTrace trace = Trace(local.get(), before, kStep);
  ASSERT_TRUE(local->Restore(before).ok());
  auto local_hashes = local->StepHashes(kStep, kStep + 2).value();
  auto worker = Start({}, /*isolated=*/true);
  ASSERT_NE(worker, nullptr);
  const proof::StepTrace traced = Trace(worker.get(), before, kStep);
  EXPECT_EQ(proof::EncodeStepTrace(traced), proof::EncodeStepTrace(trace));
  ASSERT_TRUE(worker->Restore(before).ok());
  auto hashes = worker->StepHashes(kStep, kStep + 2);
  ASSERT_TRUE(hashes.ok()) << hashes.status().ToString();
  EXPECT_EQ(*hashes, local_hashes);
  ASSERT_TRUE(worker->Restore(before).ok());
  ASSERT_TRUE(local->Restore(before).ok());
  const size_t j = CorruptibleRecords(trace).at(1);
  auto blob = worker->OpInputs(kStep, j);
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_EQ(*blob, local->OpInputs(kStep, j).value());
  auto recomputed = worker->RecomputeOp(trace.records[j], *blob);
  ASSERT_TRUE(recomputed.ok()) << recomputed.status().ToString();
  EXPECT_EQ(*recomputed, proof::OutputHash(trace.records[j]));

  // A referee's worker holds no job: it recomputes, refuses a forged blob
  // with a reason, and goes on recomputing.
  WorkerOptions isolated;
  isolated.binary = CAIRN_BINARY;
  auto referee = StartOpRecomputer(spec_.profile, isolated);
  ASSERT_TRUE(referee.ok()) << referee.status().ToString();
  auto ruled = (*referee)->RecomputeOp(trace.records[j], *blob);
  ASSERT_TRUE(ruled.ok()) << ruled.status().ToString();
  EXPECT_EQ(*ruled, proof::OutputHash(trace.records[j]));
  Bytes forged = *blob;
  forged[forged.size() / 2] ^= 0x01;
  auto refused = (*referee)->RecomputeOp(trace.records[j], forged);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << refused.status().ToString();
  auto garbage = (*referee)->RecomputeOp(trace.records[j], Bytes(1000, 0xab));
  EXPECT_FALSE(garbage.ok());
  auto again = (*referee)->RecomputeOp(trace.records[j], *blob);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *ruled);
}

INSTANTIATE_TEST_SUITE_P(Models, StepTraceTest, ::testing::Values(Model::kMlp, Model::kCnn, Model::kScriptedDropout),
                         [](const ::testing::TestParamInfo<Model>& param) { return ModelName(param.param); });

}  // namespace
}  // namespace cairn::train::testing
