// Cheating solvers: each cheat a verifier must catch, built for real (a real
// training run, then the cheat applied the way a lazy or dishonest solver
// would), and verified with the real verifier.
#include <algorithm>
#include <cmath>
#include <set>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "../train/train_fixture.h"
#include "data/batch_order.h"
#include "proof/checkpoint_store.h"
#include "proof/model_state.h"
#include "util/codec.h"
#include "util/file.h"

namespace cairn::train::testing {
namespace {

class CheatingSolver : public TrainFixture {
 protected:
  void SetUp() override {
    TrainFixture::SetUp();
    auto honest = Train(dir_.path(), spec_);
    ASSERT_TRUE(honest.ok()) << honest.status().ToString();
    honest_ = honest->certificate;
  }

  proof::CheckpointStore Store() { return proof::CheckpointStore::Open(dir_ / "checkpoints").value(); }

  void ExpectRejected(const proof::Certificate& cert, const std::string& why, const job::JobSpec* spec = nullptr) {
    auto report = Verify(spec ? *spec : spec_, cert, dir_.path());
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_FALSE(report->accepted);
    EXPECT_NE(report->reason.find(why), std::string::npos) << report->reason;
  }

  // Re-commits a certificate after the solver changed checkpoint hashes.
  void Resign(proof::Certificate* cert, const crypto::KeyPair& key) {
    cert->checkpoint_root = proof::CheckpointRoot(cert->checkpoint_hashes);
    proof::SignCertificate(cert, key);
  }

  proof::Certificate honest_;
};

TEST_F(CheatingSolver, HonestCertificateIsAcceptedBySampleAndInFull) {
  auto sampled = Verify(spec_, honest_, dir_.path(), /*all=*/false);
  ASSERT_TRUE(sampled.ok());
  EXPECT_TRUE(sampled->accepted) << sampled->reason;
  EXPECT_EQ(sampled->checks.size(), 3u);  // top_q 1 + uniform 2.
  EXPECT_LT(sampled->steps_replayed, honest_.total_steps);
  auto all = Verify(spec_, honest_, dir_.path(), /*all=*/true);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->accepted) << all->reason;
  EXPECT_EQ(all->steps_replayed, honest_.total_steps);
}

TEST_F(CheatingSolver, FlippedByteInACheckpointIsCaught) {
  std::string path = Store().PathOf(honest_.checkpoint_hashes[4]);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(200);
  char c;
  f.read(&c, 1);
  f.seekp(200);
  c ^= 0x10;
  f.write(&c, 1);
  f.close();
  ExpectRejected(honest_, "damaged");
}

// Rewrites every float32 of a snapshot as a + t * (b - a): the model state
// and the optimizer state, keeping names and shapes, and sets its step.
Bytes Interpolate(const Bytes& a, const Bytes& b, float t, uint64_t step) {
  auto va = proof::DecodeCheckpoint(a).value();
  auto vb = proof::DecodeCheckpoint(b).value();
  Bytes out = a;
  auto blend = [&](ByteView x, ByteView y) {
    const size_t at = static_cast<size_t>(x.data - a.data());
    for (size_t i = 0; i < x.size / 4; ++i) {
      float p, q;
      std::memcpy(&p, x.data + 4 * i, 4);
      std::memcpy(&q, y.data + 4 * i, 4);
      float z = p + t * (q - p);
      std::memcpy(out.data() + at + 4 * i, &z, 4);
    }
  };
  for (size_t i = 0; i < va.model.tensors.size(); ++i) {
    if (va.model.tensors[i].dtype == proof::DType::kFloat32) blend(va.model.tensors[i].data, vb.model.tensors[i].data);
  }
  for (size_t i = 0; i < va.optimizer_state.size(); ++i) blend(va.optimizer_state[i], vb.optimizer_state[i]);
  for (int i = 0; i < 8; ++i) out[8 + i] = static_cast<uint8_t>(step >> (8 * i));
  return out;
}

// The update norms a careful forger signs: the true distances between its
// (forged) committed checkpoints, so that only a replay can catch it.
void RecomputeUpdateNorms(proof::Certificate* cert, const proof::CheckpointStore& store) {
  for (size_t i = 0; i + 1 < cert->checkpoint_hashes.size(); ++i) {
    Bytes x = store.Get(cert->checkpoint_hashes[i]).value();
    Bytes y = store.Get(cert->checkpoint_hashes[i + 1]).value();
    cert->segments[i].update_norm =
        proof::UpdateNorm(proof::DecodeCheckpoint(x).value(), proof::DecodeCheckpoint(y).value()).value();
  }
}

TEST_F(CheatingSolver, SkippedSegmentFilledByInterpolationIsCaught) {
  auto store = Store();
  const size_t j = 4;
  Bytes before = store.Get(honest_.checkpoint_hashes[j - 1]).value();
  Bytes after = store.Get(honest_.checkpoint_hashes[j + 1]).value();
  Bytes fake = Interpolate(before, after, 0.5f, honest_.segments[j - 1].end_step);
  Hash256 fake_hash = proof::CheckpointHash(fake);
  ASSERT_TRUE(store.Put(fake_hash, fake).ok());
  proof::Certificate cheat = honest_;
  cheat.checkpoint_hashes[j] = fake_hash;
  RecomputeUpdateNorms(&cheat, store);
  Resign(&cheat, solver_);
  ExpectRejected(cheat, "segment " + std::to_string(j - 1) + " (steps");
  ExpectRejected(cheat, "replaying steps");
}

// The same forgery with the update norms around it signed as 0, to steer
// top-Q sampling away: the verifier measures every update norm from the
// committed checkpoints before sampling, so the lie itself is the reject.
TEST_F(CheatingSolver, UnderstatedUpdateNormIsCaughtWhateverTheSample) {
  auto store = Store();
  const size_t j = 4;
  Bytes fake = Interpolate(store.Get(honest_.checkpoint_hashes[j - 1]).value(),
                           store.Get(honest_.checkpoint_hashes[j + 1]).value(), 0.5f, honest_.segments[j - 1].end_step);
  ASSERT_TRUE(store.Put(proof::CheckpointHash(fake), fake).ok());
  proof::Certificate cheat = honest_;
  cheat.checkpoint_hashes[j] = proof::CheckpointHash(fake);
  RecomputeUpdateNorms(&cheat, store);
  cheat.segments[j - 1].update_norm = 0;
  cheat.segments[j].update_norm = 0;
  Resign(&cheat, solver_);
  for (uint8_t verifier = 10; verifier < 30; ++verifier) {
    VerifyOptions options;
    options.worker.isolated = false;
    options.checkpoint_dir = dir_ / "checkpoints";
    crypto::KeyPair key = Key(verifier);
    options.verifier_key = &key;
    auto report = VerifyJob(spec_, dataset_, cheat, options);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_FALSE(report->accepted);
    EXPECT_NE(report->reason.find("segment 3 (steps 15..20): the certificate's update_norm is 0"), std::string::npos)
        << report->reason;
  }
}

// Every signed number a replay recomputes is checked, not only the state.
TEST_F(CheatingSolver, FalseLossOrGradientNormIsCaughtNamingTheField) {
  for (const char* field : {"loss_mean", "grad_norm_last"}) {
    proof::Certificate cheat = honest_;
    for (auto& seg : cheat.segments) {
      double& value = std::string(field) == "loss_mean" ? seg.loss_mean : seg.grad_norm_last;
      value *= 0.9;
    }
    Resign(&cheat, solver_);
    ExpectRejected(cheat, std::string("the certificate's ") + field + " is");
  }
}

// A forged checkpoint full of huge (finite) weights, committed with honest
// update norms: replaying from it overflows to a non-finite loss. That is a
// rejection of the segment (the solver's doing), never "cannot verify".
TEST_F(CheatingSolver, ForgedCheckpointWhoseReplayTurnsNaNIsRejected) {
  auto store = Store();
  const size_t j = 4;
  Bytes base = store.Get(honest_.checkpoint_hashes[j]).value();
  Bytes huge = Interpolate(base, base, 0.0f, honest_.segments[j - 1].end_step);
  auto view = proof::DecodeCheckpoint(huge).value();
  for (const auto& t : view.model.tensors) {
    const size_t at = static_cast<size_t>(t.data.data - huge.data());
    for (size_t i = 0; i < t.data.size / 4; ++i) {
      const float big = 3e37f;
      std::memcpy(huge.data() + at + 4 * i, &big, 4);
    }
  }
  ASSERT_TRUE(store.Put(proof::CheckpointHash(huge), huge).ok());
  proof::Certificate cheat = honest_;
  cheat.checkpoint_hashes[j] = proof::CheckpointHash(huge);
  RecomputeUpdateNorms(&cheat, store);
  Resign(&cheat, solver_);
  auto report = Verify(spec_, cheat, dir_.path(), /*all=*/true);
  ASSERT_TRUE(report.ok()) << report.status().ToString();  // A verdict, not exit 2.
  EXPECT_FALSE(report->accepted);
  bool found = false;
  for (const auto& check : report->checks) {
    if (check.segment != j) continue;
    found = true;
    EXPECT_FALSE(check.passed);
    EXPECT_NE(check.detail.find("loss is"), std::string::npos) << check.detail;
  }
  EXPECT_TRUE(found);
}

// Checkpoints that do not decode, or whose sizes overflow, committed under
// their true hashes and re-signed: rejections naming the checkpoint.
TEST_F(CheatingSolver, UndecodableOrOverflowingCheckpointIsRejected) {
  auto store = Store();
  Bytes good = store.Get(honest_.checkpoint_hashes[2]).value();
  Bytes truncated(good.begin(), good.begin() + static_cast<long>(good.size() / 2));
  Bytes overflowing = good;
  // The first tensor's first dimension (after magic, step, model magic,
  // count, name, role, dtype, rank) set to 2^62.
  auto first = proof::DecodeCheckpoint(good).value().model.tensors[0];
  const size_t dims_at = 8 + 8 + 8 + 4 + 4 + first.name.size() + 1 + 1 + 4;
  const uint64_t huge = uint64_t{1} << 62;
  std::memcpy(overflowing.data() + dims_at, &huge, 8);
  for (const Bytes& bad : {truncated, overflowing}) {
    ASSERT_TRUE(store.Put(proof::CheckpointHash(bad), bad).ok());
    proof::Certificate cheat = honest_;
    cheat.checkpoint_hashes[2] = proof::CheckpointHash(bad);
    Resign(&cheat, solver_);
    ExpectRejected(cheat, "checkpoint 2 (");
    ExpectRejected(cheat, "does not decode");
  }
}

// A checkpoint the certificate names but the solver does not serve.
TEST_F(CheatingSolver, MissingCheckpointIsRejected) {
  ASSERT_EQ(std::remove(Store().PathOf(honest_.checkpoint_hashes[3]).c_str()), 0);
  ExpectRejected(honest_, "checkpoint 3 (");
  ExpectRejected(honest_, "missing");
}

// The signed test loss and accuracy are recomputed (one forward pass over
// the evaluation set): honest claims pass, false ones are rejected naming
// the field, and a job with an evaluation set needs the claim.
TEST_F(CheatingSolver, FalseTestAccuracyOrLossIsCaughtNamingTheField) {
  data::DatasetSource eval_source;
  const data::Dataset eval = SyntheticImages(dir_.path(), &eval_source, /*n=*/200, /*classes=*/4, /*noise_seed=*/77);
  job::JobSpec spec = spec_;
  spec.evaluation = job::EvaluationSpec{};
  spec.evaluation->dataset.source = eval_source;
  spec.evaluation->dataset.content_hash = eval.content_hash;
  TrainOptions options;
  options.evaluation = &eval;
  auto trained = Train(dir_ / "eval", spec, options);
  ASSERT_TRUE(trained.ok()) << trained.status().ToString();
  ASSERT_TRUE(trained->certificate.evaluation.has_value());
  EXPECT_GT(trained->certificate.evaluation->accuracy, 0.5);

  auto verify = [&](const proof::Certificate& cert) {
    VerifyOptions v;
    v.worker.isolated = false;
    v.checkpoint_dir = dir_ / "eval/checkpoints";
    v.verifier_key = &verifier_;
    v.evaluation = &eval;
    return VerifyJob(spec, dataset_, cert, v);
  };
  auto honest = verify(trained->certificate);
  ASSERT_TRUE(honest.ok()) << honest.status().ToString();
  EXPECT_TRUE(honest->accepted) << honest->reason;

  proof::Certificate inflated = trained->certificate;
  // Ten examples more (or, for a perfect score, fewer): a false claim.
  uint64_t& correct = inflated.evaluation->correct;
  correct = correct + 10 <= inflated.evaluation->examples ? correct + 10 : correct - 10;
  inflated.evaluation->accuracy =
      static_cast<double>(inflated.evaluation->correct) / static_cast<double>(inflated.evaluation->examples);
  Resign(&inflated, solver_);
  auto r1 = verify(inflated);
  ASSERT_TRUE(r1.ok());
  EXPECT_FALSE(r1->accepted);
  EXPECT_NE(r1->reason.find("test_accuracy"), std::string::npos) << r1->reason;

  proof::Certificate lower_loss = trained->certificate;
  lower_loss.evaluation->loss *= 0.9;
  Resign(&lower_loss, solver_);
  auto r2 = verify(lower_loss);
  ASSERT_TRUE(r2.ok());
  EXPECT_FALSE(r2->accepted);
  EXPECT_NE(r2->reason.find("test_loss"), std::string::npos) << r2->reason;

  proof::Certificate silent = trained->certificate;
  silent.evaluation.reset();
  Resign(&silent, solver_);
  auto r3 = verify(silent);
  ASSERT_TRUE(r3.ok());
  EXPECT_FALSE(r3->accepted);
  EXPECT_NE(r3->reason.find("reports no test loss"), std::string::npos) << r3->reason;
}

TEST_F(CheatingSolver, TrainingOnADifferentDataOrderIsCaught) {
  TrainOptions cheat;
  cheat.cheat.batch_indices = [&](uint64_t step) {
    return data::BatchIndices(spec_.seed + 1, step, spec_.batch_size, static_cast<uint32_t>(dataset_.size()));
  };
  auto r = Train(dir_ / "cheat", spec_, cheat);
  ASSERT_TRUE(r.ok());
  auto report = Verify(spec_, r->certificate, dir_ / "cheat");
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->accepted);
  EXPECT_NE(report->reason.find("segment 0"), std::string::npos) << report->reason;
}

// A solver that trains in bfloat16 (weights and momentum rounded after every
// update): every segment replays to another state.
TEST_F(CheatingSolver, TrainingInLowerPrecisionIsCaughtInEverySegment) {
  TrainOptions cheat;
  cheat.cheat.round_to_bfloat16 = [](uint64_t) { return true; };
  auto r = Train(dir_ / "bf16", spec_, cheat);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->certificate.final_model_hash, honest_.final_model_hash);
  auto report = Verify(spec_, r->certificate, dir_ / "bf16", /*all=*/true);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->accepted);
  for (const auto& check : report->checks) EXPECT_FALSE(check.passed) << "segment " << check.segment;
  EXPECT_NE(report->reason.find("segment 0"), std::string::npos) << report->reason;
}

TEST_F(CheatingSolver, TrainingAtALowerLearningRateIsCaught) {
  TrainOptions cheat;
  cheat.cheat.learning_rate = [](uint64_t step, double lr) { return step >= 20 ? lr * 0.5 : lr; };
  auto r = Train(dir_ / "cheat", spec_, cheat);
  ASSERT_TRUE(r.ok());
  auto report = Verify(spec_, r->certificate, dir_ / "cheat");
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->accepted);
  EXPECT_NE(report->reason.find("segment 4"), std::string::npos) << report->reason;  // First cheated segment.
}

TEST_F(CheatingSolver, CertificateSignedByAnotherKeyIsCaught) {
  proof::Certificate stolen = honest_;
  crypto::KeyPair thief = Key(9);
  proof::SignCertificate(&stolen, thief);  // Valid signature, wrong signer.
  VerifyOptions options;
  options.worker.isolated = false;
  options.checkpoint_dir = dir_ / "checkpoints";
  options.verifier_key = &verifier_;
  options.expected_solver = solver_.public_key();
  auto report = VerifyJob(spec_, dataset_, stolen, options);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->accepted);
  EXPECT_NE(report->reason.find("not by the solver that claimed"), std::string::npos) << report->reason;

  proof::Certificate forged = honest_;
  forged.signature = thief.Sign(ByteView(std::string_view("anything")));  // Claims to be the solver.
  ExpectRejected(forged, "signature does not verify");
}

TEST_F(CheatingSolver, CertificateOfAnotherJobIsCaught) {
  job::JobSpec other = spec_;
  other.seed = spec_.seed + 1;
  ExpectRejected(honest_, "is for job", &other);
}

TEST_F(CheatingSolver, TamperedSegmentMetadataBreaksTheSignature) {
  proof::Certificate cheat = honest_;
  cheat.segments[2].update_norm *= 0.01;  // Hide a segment from top-Q sampling.
  ExpectRejected(cheat, "signature does not verify");
}

TEST_F(CheatingSolver, ToleranceModeAcceptsHonestAndRejectsALowerLearningRate) {
  job::JobSpec tolerant = spec_;
  tolerant.verification.mode = job::VerificationMode::kTolerance;
  WorkerOptions worker;  // Each thread count is replayed in a sandboxed worker of its own.
  worker.binary = CAIRN_BINARY;
  auto profile = ProfileTolerance(spec_, dataset_, honest_, dir_ / "checkpoints", {0, 3}, worker);
  ASSERT_TRUE(profile.ok()) << profile.status().ToString();
  EXPECT_GT(profile->l2_relative_max, 0);
  tolerant.verification.l2_relative_max = profile->l2_relative_max;
  tolerant.verification.linf_max = profile->linf_max;
  tolerant.verification.cosine_distance_max = profile->cosine_distance_max;
  auto honest = Train(dir_ / "tolerant", tolerant);
  ASSERT_TRUE(honest.ok());
  auto ok = Verify(tolerant, honest->certificate, dir_ / "tolerant");
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->accepted) << ok->reason;

  TrainOptions cheat;
  cheat.cheat.learning_rate = [](uint64_t, double lr) { return lr * 0.9; };
  auto lazy = Train(dir_ / "lazy", tolerant, cheat);
  ASSERT_TRUE(lazy.ok());
  auto bad = Verify(tolerant, lazy->certificate, dir_ / "lazy");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->accepted);
  EXPECT_NE(bad->reason.find("too far"), std::string::npos) << bad->reason;
}

// The detection-rate arithmetic (detection_rate_test.cpp) with real
// replays: a solver fakes 2 of 8 segments (half the learning rate there),
// verifiers sample 2 uniformly (top_q = 0). Every real verdict is the one
// its sample predicts (caught iff it reaches a faked segment), and over
// many verifier keys the escape rate is C(6,2)/C(8,2) = 15/28 (the exact
// count for 8 segments; (1-f)^s = 0.5625 is its large-n approximation).
TEST_F(CheatingSolver, RealVerdictsFollowTheSampleAndEscapeAtTheUniformRate) {
  job::JobSpec spec = spec_;
  spec.verification.top_q = 0;
  spec.verification.uniform = 2;
  const std::set<uint32_t> faked = {2, 5};
  TrainOptions cheat;
  cheat.cheat.learning_rate = [&](uint64_t step, double lr) {
    return faked.count(static_cast<uint32_t>(step / spec_.checkpoint_interval)) ? lr * 0.5 : lr;
  };
  auto trained = Train(dir_ / "faked", spec, cheat);
  ASSERT_TRUE(trained.ok()) << trained.status().ToString();
  const proof::Certificate& cert = trained->certificate;
  ASSERT_EQ(cert.segments.size(), 8u);
  const Hash256 cert_hash = proof::CertificateHash(cert);
  constexpr int kKeys = 1000, kReplayed = 200;
  int escaped = 0;
  for (int n = 0; n < kKeys; ++n) {
    std::array<uint8_t, 32> seed{};
    seed[0] = static_cast<uint8_t>(n);
    seed[1] = static_cast<uint8_t>(n >> 8);
    seed[2] = 0xad;
    const crypto::KeyPair key = crypto::KeyPair::FromSeed(seed);
    const auto sample = proof::SampleSegments(cert, proof::SamplingSignature(key, cert_hash), 0, 2);
    bool caught = false;
    for (uint32_t s : sample) caught = caught || faked.count(s) > 0;
    escaped += caught ? 0 : 1;
    if (n >= kReplayed) continue;
    VerifyOptions options;
    options.worker.isolated = false;
    options.checkpoint_dir = dir_ / "faked/checkpoints";
    options.verifier_key = &key;
    auto report = VerifyJob(spec, dataset_, cert, options);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->sampled, sample);
    EXPECT_EQ(report->accepted, !caught) << "verifier " << n << ": " << report->reason;
  }
  const double exact = 15.0 / 28.0, measured = static_cast<double>(escaped) / kKeys;
  EXPECT_NEAR(measured, exact, 5 * std::sqrt(exact * (1 - exact) / kKeys) + 4.0 / kKeys);
  EXPECT_LT(exact, proof::EscapeProbability(0.25, 2));
}

TEST(Sampling, TopQTakesTheLargestUpdatesAndTheRestDependsOnTheVerifier) {
  proof::Certificate c;
  for (int i = 0; i < 20; ++i) c.segments.push_back({0, 0, 0, 0, static_cast<double>(i % 7)});
  crypto::KeyPair v1 = TrainFixture::Key(3), v2 = TrainFixture::Key(4);
  Hash256 cert_hash;
  cert_hash.bytes.fill(5);
  auto s1 = proof::SampleSegments(c, proof::SamplingSignature(v1, cert_hash), 2, 3);
  auto s2 = proof::SampleSegments(c, proof::SamplingSignature(v2, cert_hash), 2, 3);
  ASSERT_EQ(s1.size(), 5u);
  // Segments 6 and 13 have the largest update norm (6).
  EXPECT_NE(std::find(s1.begin(), s1.end(), 6u), s1.end());
  EXPECT_NE(std::find(s1.begin(), s1.end(), 13u), s1.end());
  EXPECT_NE(s1, s2);  // Different verifiers, different samples.
  EXPECT_EQ(s1, proof::SampleSegments(c, proof::SamplingSignature(v1, cert_hash), 2, 3));  // Re-checkable.
  EXPECT_TRUE(proof::CheckSamplingSignature(v1.public_key(), cert_hash, proof::SamplingSignature(v1, cert_hash)));
}

}  // namespace
}  // namespace cairn::train::testing
