// The solver: trains a job, checkpoints every k steps, and signs the
// certificate. Hashing and writing checkpoints run on a background thread so
// they overlap with training; a journal (rewritten atomically after each
// checkpoint is durable) lets a killed solver resume from its last
// checkpoint and produce a byte-identical certificate.
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <thread>

#include "proof/checkpoint_store.h"
#include "train/session.h"
#include "proof/model_state.h"
#include "train/snapshot.h"
#include "train/torch_error.h"
#include "util/codec.h"
#include "util/file.h"

namespace cairn::train {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kJournalBytesMax = 512u << 20;
// Snapshots in flight; training waits beyond either bound (backpressure).
constexpr size_t kWriterQueueDepthMax = 64;
constexpr size_t kWriterQueueBytesMax = size_t{512} << 20;

std::string JobDir(const std::string& work_dir, const Hash256& job_id) {
  return work_dir + "/jobs/" + job_id.ToHex();
}

// What the journal remembers: every durable checkpoint and the metadata of
// the segments between them.
struct Journal {
  Hash256 job_id;
  std::vector<Hash256> checkpoints;
  std::vector<proof::SegmentMetadata> segments;
};

Bytes EncodeJournal(const Journal& j) {
  util::Writer w;
  w.String("cairn-journal-v1");
  w.Hash(j.job_id);
  w.U32(static_cast<uint32_t>(j.checkpoints.size()));
  for (const auto& h : j.checkpoints) w.Hash(h);
  w.U32(static_cast<uint32_t>(j.segments.size()));
  for (const auto& s : j.segments) proof::WriteSegmentMetadata(w, s);
  return w.Take();
}

Result<Journal> DecodeJournal(ByteView bytes) {
  util::Reader r(bytes);
  Journal j;
  if (r.String(32) != "cairn-journal-v1" && r.ok()) r.Fail("not a cairn journal");
  j.job_id = r.Hash();
  uint32_t n = r.ListLength(proof::kCheckpointsPerJobMax);
  for (uint32_t i = 0; i < n && r.ok(); ++i) j.checkpoints.push_back(r.Hash());
  uint32_t m = r.ListLength(proof::kCheckpointsPerJobMax);
  for (uint32_t i = 0; i < m && r.ok(); ++i) j.segments.push_back(proof::ReadSegmentMetadata(r));
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("training journal"));
  if (j.segments.size() + 1 != j.checkpoints.size()) return Corruption("training journal: counts disagree");
  return j;
}

// Hashes and persists snapshots in order, off the training thread.
class CheckpointWriter {
 public:
  CheckpointWriter(proof::CheckpointStore* store, std::string journal_path, Journal journal)
      : store_(store), journal_path_(std::move(journal_path)), journal_(std::move(journal)),
        thread_([this] { Run(); }) {}
  ~CheckpointWriter() { Finish().ok(); }

  // `previous` is the checkpoint the next enqueued segment starts from when
  // it is not enqueued itself (the one a resumed run restored).
  void SetPrevious(Bytes previous) { previous_ = std::move(previous); }

  // `segment` is the metadata of the segment that ends at this snapshot
  // (nullopt for checkpoint 0); the writer fills in its update norm.
  void Enqueue(Bytes snapshot, std::optional<proof::SegmentMetadata> segment) {
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [&] {
      // Counts snapshots being written too, not just queued ones.
      return in_flight_ == 0 ||
             (in_flight_ < kWriterQueueDepthMax && queued_bytes_ + snapshot.size() <= kWriterQueueBytesMax);
    });
    queued_bytes_ += snapshot.size();
    in_flight_++;
    queue_.push_back({std::move(snapshot), segment});
    work_.notify_one();
  }

  // Waits for everything queued; returns the first error.
  Status Finish() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (done_) return status_;
      closing_ = true;
      work_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    return status_;
  }

  const Journal& journal() const { return journal_; }  // After Finish.

  // The first write error so far (a full disk stops training early).
  Status CurrentStatus() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  struct Item {
    Bytes snapshot;
    std::optional<proof::SegmentMetadata> segment;
  };

  // Takes everything queued as one batch: a slow disk flush then covers
  // many checkpoints (group commit) instead of stalling training.
  void Run() {
    for (;;) {
      std::vector<Item> batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_.wait(lock, [&] { return !queue_.empty() || closing_; });
        if (queue_.empty()) return;
        while (!queue_.empty()) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        if (!status_.ok()) {  // Drain without writing after a failure.
          for (const Item& item : batch) queued_bytes_ -= item.snapshot.size();
          in_flight_ -= batch.size();
          batch.clear();
          space_.notify_all();
          continue;
        }
      }
      Status s = batch.empty() ? Status::Ok() : Persist(batch);
      std::lock_guard<std::mutex> lock(mu_);
      for (const Item& item : batch) queued_bytes_ -= item.snapshot.size();
      in_flight_ -= batch.size();
      if (!s.ok() && status_.ok()) status_ = s;
      space_.notify_all();
    }
  }

  // Update norms and the finiteness check run here, off the training
  // thread, from the bytes of consecutive checkpoints (proof::UpdateNorm,
  // the definition the verifier uses).
  Status Measure(std::vector<Item>& batch) {
    for (Item& item : batch) {
      auto current = proof::DecodeCheckpoint(item.snapshot);
      if (!current.ok()) return Internal("the solver's own checkpoint does not decode: " + current.status().message());
      std::string bad;
      if (!proof::AllFinite(current->model, &bad)) {
        return FailedPrecondition("training diverged: tensor " + bad + " is not finite at step " +
                                  std::to_string(current->step) +
                                  "; lower the learning rate or check the data. No certificate was produced");
      }
      if (item.segment) {
        CAIRN_ASSERT(!previous_.empty());
        auto previous = proof::DecodeCheckpoint(previous_);
        CAIRN_ASSERT(previous.ok());
        CAIRN_ASSIGN_OR_RETURN(item.segment->update_norm, proof::UpdateNorm(*previous, *current));
      }
      previous_ = item.snapshot;
    }
    return Status::Ok();
  }

  Status Persist(std::vector<Item>& batch) {
    CAIRN_RETURN_IF_ERROR(Measure(batch));
    std::vector<std::pair<Hash256, ByteView>> blobs;
    for (const Item& item : batch) blobs.emplace_back(proof::CheckpointHash(item.snapshot), ByteView(item.snapshot));
    // Durable before the journal names them.
    CAIRN_RETURN_IF_ERROR(store_->PutAll(blobs));
    for (size_t i = 0; i < batch.size(); ++i) {
      journal_.checkpoints.push_back(blobs[i].first);
      if (batch[i].segment) journal_.segments.push_back(*batch[i].segment);
    }
    return util::WriteFileAtomic(journal_path_, EncodeJournal(journal_));
  }

  proof::CheckpointStore* store_;
  std::string journal_path_;
  Journal journal_;  // Owned by the writer thread until Finish.
  Bytes previous_;   // The last checkpoint measured (writer thread).
  std::mutex mu_;
  std::condition_variable work_, space_;
  std::deque<Item> queue_;
  size_t queued_bytes_ = 0;  // Of snapshots queued or being written.
  size_t in_flight_ = 0;
  bool closing_ = false;
  bool done_ = false;
  Status status_;
  std::thread thread_;
};

}  // namespace

namespace {

Result<TrainResult> TrainJobUnguarded(const job::JobSpec& spec, const data::Dataset& dataset,
                                      const TrainOptions& options) {
  CAIRN_ASSERT(options.plain || options.solver_key != nullptr);
  const Hash256 job_id = job::JobId(spec);
  const uint64_t total = job::ResolvedSteps(spec, dataset.size());
  const uint64_t k = spec.checkpoint_interval;
  if (total == 0) return InvalidArgument("the job has no steps to run");

  CAIRN_ASSIGN_OR_RETURN(proof::Environment env, ApplyProfile(spec.profile));
  spdlog::info("job {}: {} steps, checkpoint every {} steps, on {}", job_id.ToHex().substr(0, 16), total, k,
               DescribeDevice());
  CAIRN_ASSIGN_OR_RETURN(auto session, TrainingSession::Create(spec, dataset, total));
  CAIRN_RETURN_IF_ERROR(session->CheckRandomnessIsControlled(/*step=*/0));

  TrainResult result;
  const auto started = Clock::now();
  auto last_report = started;
  uint64_t steps_since_report = 0;
  double last_loss = 0;
  auto after_step = [&](uint64_t step, double loss) {
    last_loss = loss;
    steps_since_report++;
    if (!options.on_progress) return;
    auto now = Clock::now();
    double elapsed = std::chrono::duration<double>(now - last_report).count();
    if (elapsed >= options.progress_interval_seconds || step + 1 == total) {
      options.on_progress(Progress{step + 1, total, loss, steps_since_report / std::max(elapsed, 1e-9)});
      last_report = now;
      steps_since_report = 0;
    }
  };

  if (options.plain) {
    CAIRN_RETURN_IF_ERROR(session->RunSteps(0, total, nullptr, options.cheat, after_step));
    result.steps_run = total;
    result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    result.final_loss = last_loss;
    return result;
  }

  const std::string job_dir = JobDir(options.work_dir, job_id);
  CAIRN_RETURN_IF_ERROR(util::MakeDirs(job_dir));
  CAIRN_ASSIGN_OR_RETURN(auto store, proof::CheckpointStore::Open(options.work_dir + "/checkpoints"));
  const std::string journal_path = job_dir + "/journal";
  auto lock = util::FileLock::Acquire(job_dir + "/lock");
  if (!lock.ok() && lock.status().code() != StatusCode::kUnavailable) return lock.status();
  if (!lock.ok()) {
    return Unavailable("another `cairn train` is already running job " + job_id.ToHex().substr(0, 16) + " in " +
                       options.work_dir);
  }

  // Resume from the last durable checkpoint, if any. A checkpoint that was
  // damaged on disk since is skipped: resume from the one before it.
  Journal journal{job_id, {}, {}};
  uint64_t step = 0;
  Bytes restored;
  if (options.resume && util::FileExists(journal_path)) {
    CAIRN_ASSIGN_OR_RETURN(Bytes raw, util::ReadFile(journal_path, kJournalBytesMax));
    CAIRN_ASSIGN_OR_RETURN(journal, DecodeJournal(raw));
    if (journal.job_id != job_id) return Corruption(journal_path + " belongs to another job");
    while (!journal.checkpoints.empty()) {
      auto last = store.Get(journal.checkpoints.back());
      if (last.ok()) {
        CAIRN_ASSIGN_OR_RETURN(step, session->Restore(*last));
        restored = std::move(*last);
        break;
      }
      spdlog::warn("resuming: {}; falling back to the checkpoint before it", last.status().message());
      journal.checkpoints.pop_back();
      if (!journal.segments.empty()) journal.segments.pop_back();
    }
    result.resumed_from_step = step;
    if (!journal.checkpoints.empty()) {
      spdlog::info("resuming from checkpoint {} at step {}", journal.checkpoints.size() - 1, step);
    }
  }
  const bool fresh = journal.checkpoints.empty();
  CheckpointWriter writer(&store, journal_path, journal);
  if (fresh) {
    writer.Enqueue(session->Snapshot(0), std::nullopt);
  } else {
    writer.SetPrevious(std::move(restored));
  }

  while (step < total) {
    uint64_t end = std::min(total, step + k);
    if (options.stop_after_step != 0 && options.stop_after_step < end) end = options.stop_after_step;
    if (end <= step) break;
    SegmentAccumulator acc;
    Status s = session->RunSteps(step, end, &acc, options.cheat, after_step);
    if (!s.ok()) {
      writer.Finish().ok();
      return s;
    }
    result.steps_run += end - step;
    if (end % k != 0 && end != total) {  // Stopped early on request: as if killed here.
      CAIRN_RETURN_IF_ERROR(writer.Finish());
      return Unavailable("training stopped at step " + std::to_string(end) + " as requested");
    }
    proof::SegmentMetadata meta;
    meta.start_step = step;
    meta.end_step = end;
    meta.loss_mean = acc.loss_sum / static_cast<double>(acc.steps);
    meta.grad_norm_last = acc.grad_norm_last;
    writer.Enqueue(session->Snapshot(end), meta);
    if (Status w = writer.CurrentStatus(); !w.ok()) {
      writer.Finish().ok();
      return w.WithContext("writing checkpoints");
    }
    step = end;
    if (options.stop_after_step != 0 && step >= options.stop_after_step && step < total) {
      CAIRN_RETURN_IF_ERROR(writer.Finish());
      return Unavailable("training stopped at step " + std::to_string(step) + " as requested");
    }
  }
  const auto finalize_started = Clock::now();
  CAIRN_RETURN_IF_ERROR(writer.Finish());
  const Journal& done = writer.journal();

  proof::Certificate cert;
  cert.job_id = job_id;
  cert.total_steps = total;
  cert.checkpoint_interval = static_cast<uint32_t>(k);
  cert.environment = env;
  cert.checkpoint_hashes = done.checkpoints;
  cert.checkpoint_root = proof::CheckpointRoot(done.checkpoints);
  cert.segments = done.segments;
  Bytes weights = session->ModelFile();
  cert.final_model_hash = proof::ModelHash(weights);
  proof::SignCertificate(&cert, *options.solver_key);
  CAIRN_RETURN_IF_ERROR(proof::CheckCertificate(cert));

  result.certificate_path = job_dir + "/certificate.bin";
  Bytes encoded = proof::EncodeCertificate(cert);
  CAIRN_RETURN_IF_ERROR(util::WriteFilesAtomic({{job_dir + "/model.bin", ByteView(weights)},
                                                {result.certificate_path, ByteView(encoded)}}));
  result.certificate = std::move(cert);
  const auto finished = Clock::now();
  result.seconds = std::chrono::duration<double>(finished - started).count();
  result.finalize_seconds = std::chrono::duration<double>(finished - finalize_started).count();
  result.final_loss = last_loss;
  return result;
}

}  // namespace

Result<TrainResult> TrainJob(const job::JobSpec& spec, const data::Dataset& dataset, const TrainOptions& options) {
  return GuardTorch("training", [&] { return TrainJobUnguarded(spec, dataset, options); });
}

}  // namespace cairn::train
