#include "proof/checkpoint_writer.h"

#include "proof/model_state.h"
#include "util/codec.h"
#include "util/file.h"

namespace cairn::proof {

Bytes EncodeJournal(const Journal& j) {
  util::Writer w;
  w.String("cairn-journal-v1");
  w.Hash(j.job_id);
  w.U32(static_cast<uint32_t>(j.checkpoints.size()));
  for (const auto& h : j.checkpoints) w.Hash(h);
  w.U32(static_cast<uint32_t>(j.segments.size()));
  for (const auto& s : j.segments) WriteSegmentMetadata(w, s);
  return w.Take();
}

Result<Journal> DecodeJournal(ByteView bytes) {
  util::Reader r(bytes);
  Journal j;
  if (r.String(32) != "cairn-journal-v1" && r.ok()) r.Fail("not a cairn journal");
  j.job_id = r.Hash();
  uint32_t n = r.ListLength(kCheckpointsPerJobMax);
  for (uint32_t i = 0; i < n && r.ok(); ++i) j.checkpoints.push_back(r.Hash());
  uint32_t m = r.ListLength(kCheckpointsPerJobMax);
  for (uint32_t i = 0; i < m && r.ok(); ++i) j.segments.push_back(ReadSegmentMetadata(r));
  CAIRN_RETURN_IF_ERROR(r.Finish().WithContext("training journal"));
  if (j.segments.size() + 1 != j.checkpoints.size()) return Corruption("training journal: counts disagree");
  return j;
}

CheckpointWriter::CheckpointWriter(CheckpointStore* store, std::string journal_path, Journal journal)
    : CheckpointWriter(store->env(), store, std::move(journal_path), std::move(journal)) {}

CheckpointWriter::CheckpointWriter(util::Env* env, CheckpointStore* store, std::string journal_path, Journal journal)
    : env_(env),
      store_(store),
      journal_path_(std::move(journal_path)),
      journal_(std::move(journal)),
      thread_([this] { Run(); }) {}

CheckpointWriter::~CheckpointWriter() { Finish().ok(); }

void CheckpointWriter::Enqueue(Bytes snapshot, std::optional<SegmentMetadata> segment) {
  std::unique_lock<std::mutex> lock(mu_);
  space_.wait(lock, [&] {
    // Counts snapshots being written too, not just queued ones.
    return in_flight_ == 0 ||
           (in_flight_ < kWriterQueueDepthMax && queued_bytes_ + snapshot.size() <= kWriterQueueBytesMax);
  });
  const size_t bytes = snapshot.size();
  queued_bytes_ += bytes;
  in_flight_++;
  queue_.push_back({std::move(snapshot), bytes, segment});
  work_.notify_one();
}

Status CheckpointWriter::Finish() {
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

Status CheckpointWriter::CurrentStatus() {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

// Takes everything queued as one batch: a slow disk flush then covers many
// checkpoints (group commit) instead of stalling training.
void CheckpointWriter::Run() {
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
        for (const Item& item : batch) queued_bytes_ -= item.bytes;
        in_flight_ -= batch.size();
        batch.clear();
        space_.notify_all();
        continue;
      }
    }
    Status s = batch.empty() ? Status::Ok() : Persist(batch);
    std::lock_guard<std::mutex> lock(mu_);
    for (const Item& item : batch) queued_bytes_ -= item.bytes;
    in_flight_ -= batch.size();
    if (!s.ok() && status_.ok()) status_ = s;
    space_.notify_all();
  }
}

// Update norms and the finiteness check run here, off the training thread,
// from the bytes of consecutive checkpoints (UpdateNorm, the definition the
// verifier uses).
Status CheckpointWriter::Measure(std::vector<Item>& batch) {
  const Bytes* previous_bytes = &previous_;
  for (Item& item : batch) {
    auto current = DecodeCheckpoint(item.snapshot);
    if (!current.ok()) return Internal("the solver's own checkpoint does not decode: " + current.status().message());
    std::string bad;
    if (!AllFinite(current->model, &bad)) {
      return FailedPrecondition("training diverged: tensor " + bad + " is not finite at step " +
                                std::to_string(current->step) +
                                "; lower the learning rate or check the data. No certificate was produced");
    }
    if (item.segment) {
      CAIRN_ASSERT(!previous_bytes->empty());
      auto previous = DecodeCheckpoint(*previous_bytes);
      CAIRN_ASSERT(previous.ok());
      CAIRN_ASSIGN_OR_RETURN(item.segment->update_norm, UpdateNorm(*previous, *current));
    }
    previous_bytes = &item.snapshot;
  }
  return Status::Ok();
}

Status CheckpointWriter::Persist(std::vector<Item>& batch) {
  CAIRN_RETURN_IF_ERROR(Measure(batch));
  std::vector<std::pair<Hash256, ByteView>> blobs;
  for (const Item& item : batch) blobs.emplace_back(CheckpointHash(item.snapshot), ByteView(item.snapshot));
  // Durable (blobs, shard directories) before the journal names them.
  CAIRN_RETURN_IF_ERROR(store_->PutAll(blobs));
  for (size_t i = 0; i < batch.size(); ++i) {
    journal_.checkpoints.push_back(blobs[i].first);
    if (batch[i].segment) journal_.segments.push_back(*batch[i].segment);
  }
  CAIRN_RETURN_IF_ERROR(util::WriteFileAtomic(env_, journal_path_, EncodeJournal(journal_)));
  // The newest checkpoint is the next segment's start; the rest are done with.
  auto release = [&](Bytes bytes) {
    if (recycle_) recycle_(std::move(bytes));
  };
  release(std::move(previous_));
  for (size_t i = 0; i + 1 < batch.size(); ++i) release(std::move(batch[i].snapshot));
  previous_ = std::move(batch.back().snapshot);
  return Status::Ok();
}

}  // namespace cairn::proof
