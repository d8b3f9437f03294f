// The solver's durable record of a run (internal to the solver; torch-free):
// the journal of checkpoints written so far, and the background writer that
// measures, hashes and persists checkpoints off the training thread.
// docs/checkpoints.md, "Checkpoint store and journal".
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cairn/bytes.h"
#include "cairn/status.h"
#include "proof/certificate.h"
#include "proof/checkpoint_store.h"
#include "util/env.h"

namespace cairn::proof {

inline constexpr size_t kJournalBytesMax = 512u << 20;
// Snapshots in flight; training waits beyond either bound (backpressure).
inline constexpr size_t kWriterQueueDepthMax = 64;
inline constexpr size_t kWriterQueueBytesMax = size_t{512} << 20;

// What the journal remembers: every durable checkpoint and the metadata of
// the segments between them.
struct Journal {
  Hash256 job_id;
  std::vector<Hash256> checkpoints;
  std::vector<SegmentMetadata> segments;
};

Bytes EncodeJournal(const Journal& j);
Result<Journal> DecodeJournal(ByteView bytes);

// Measures, hashes and persists snapshots in order on its own thread, and
// rewrites the journal (util::WriteFileAtomic) only after every checkpoint it
// names is durable, so after any crash the journal names only checkpoints
// that are present and intact. Owns its thread; `store` and the Env are
// borrowed and must outlive it. Enqueue, Finish and CurrentStatus may be
// called from one producer thread; the journal belongs to the writer thread
// until Finish returns.
// REQUIRES: the journal's directory is durable (util::MakeDirsDurable).
class CheckpointWriter {
 public:
  // The journal is written through the store's Env.
  CheckpointWriter(CheckpointStore* store, std::string journal_path, Journal journal);
  CheckpointWriter(util::Env* env, CheckpointStore* store, std::string journal_path, Journal journal);
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // `previous` is the checkpoint the next enqueued segment starts from when
  // it is not enqueued itself (the one a resumed run restored).
  // REQUIRES: called before the first Enqueue.
  void SetPrevious(Bytes previous) { previous_ = std::move(previous); }

  // Called on the writer thread with the bytes of each snapshot the writer
  // no longer needs (written, and no longer the previous one), so that the
  // producer can reuse their memory for the next snapshot.
  // REQUIRES: called before the first Enqueue.
  void SetRecycler(std::function<void(Bytes)> recycle) { recycle_ = std::move(recycle); }

  // `segment` is the metadata of the segment that ends at this snapshot
  // (nullopt for checkpoint 0); the writer fills in its update norm. Blocks
  // while kWriterQueueDepthMax snapshots or kWriterQueueBytesMax bytes are
  // in flight (backpressure).
  void Enqueue(Bytes snapshot, std::optional<SegmentMetadata> segment);

  // Waits for everything queued; returns the first error.
  Status Finish();

  const Journal& journal() const { return journal_; }  // After Finish.
  // The newest checkpoint: the last one enqueued, or the SetPrevious one if
  // none was. After Finish returned OK.
  const Bytes& last_checkpoint() const { return previous_; }

  // The first error so far (a full disk, a diverged state): training stops early.
  Status CurrentStatus();

 private:
  struct Item {
    Bytes snapshot;
    size_t bytes = 0;  // snapshot.size() when enqueued (the bytes may be recycled before they are accounted).
    std::optional<SegmentMetadata> segment;
  };

  void Run();
  Status Measure(std::vector<Item>& batch);
  Status Persist(std::vector<Item>& batch);

  util::Env* env_;
  CheckpointStore* store_;
  std::string journal_path_;
  Journal journal_;  // Owned by the writer thread until Finish.
  Bytes previous_;   // The last checkpoint written (writer thread until Finish).
  std::function<void(Bytes)> recycle_;
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

}  // namespace cairn::proof
