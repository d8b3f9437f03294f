// The messages between the node and its training worker (internal to
// train/; torch-free). Each is a sandbox::Message whose payload is a
// canonical encoding (util/codec.h); docs/sandbox.md lists them. The parent
// sends one request at a time and reads until its answer: progress messages
// may come first; an error message answers any request. kRunSegments is
// answered by a stream (one answer per segment) that the parent reads to
// its end or abandons by killing the worker.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cairn/bytes.h"
#include "cairn/status.h"
#include "job/spec.h"
#include "proof/op_trace.h"
#include "train/engine.h"

namespace cairn::train::worker {

enum class Type : uint32_t {
  kStart = 1,              // parent: StartRequest. Answer: kReady.
  kReady = 2,              // worker: EngineEnvironment.
  kInitialCheckpoint = 3,  // parent: empty. Answer: kCheckpoint.
  kCheckpoint = 4,         // worker: checkpoint bytes.
  kRestore = 5,            // parent: checkpoint bytes. Answer: kRestored.
  kRestored = 6,           // worker: u64 step.
  kRunSegment = 7,         // parent: u64 begin, u64 end. Answer: kProgress..., kSegmentDone.
  kProgress = 8,           // worker: u64 step, f64 loss.
  kSegmentDone = 9,        // worker: SegmentResult.
  kError = 10,             // worker: u8 status code, string message.
  kShutdown = 11,          // parent: empty; the worker exits 0.
  kEvaluate = 12,          // parent: model file bytes. Answer: kEvaluated.
  kEvaluated = 13,         // worker: f64 loss, f64 accuracy, u64 examples, u64 correct.
  // parent: u64 begin, u64 end, u64 interval: train [begin, end) as segments
  // of `interval` steps (the last may be shorter). Answer, per segment in
  // order: kProgress..., kSegmentDone with no checkpoint bytes, then
  // kCheckpoint with them; the worker trains on meanwhile. kError ends the
  // stream early (after the segments already sent).
  kRunSegments = 14,
  kExport = 15,    // parent: model file bytes. Answer: kExported.
  kExported = 16,  // worker: ExportedModel (TorchScript bytes, state dict bytes, u64 tensors).
  // The pinpoint protocol (docs/pinpoint.md). Each request below is
  // answered by a message of the same type (or kError).
  // parent, as the first request instead of kStart: an execution profile;
  // the worker applies it, loads no job and only recomputes operators.
  // Answer: kReady.
  kStartRecompute = 17,
  kStepHashes = 18,   // parent: u64 begin, u64 end. Answer: u32 count, [32] hash each.
  kTraceStep = 19,    // parent: u64 step. Answer: proof::EncodeStepTrace.
  kOpInputs = 20,     // parent: u64 step, u64 op index. Answer: the input blob.
  kRecomputeOp = 21,  // parent: length-prefixed proof::EncodeOpRecord, then the blob. Answer: [32] output hash.
  // `cairn job estimate`: parent, as the first request instead of kStart:
  // the same payload (EncodeStart). The worker reads the job's inputs, locks
  // itself down, builds the model (loading a TorchScript module may run its
  // code) and answers kEstimated; then it only waits for kShutdown.
  kStartEstimate = 22,
  kEstimated = 23,  // worker: u64 steps, u64 parameters, f64 FLOPs per step, u64 checkpoints, u64 checkpoint bytes, u64 storage bytes.
};

// Training segments a streaming worker holds ready to send (beyond the one
// being sent); it trains on only while fewer are waiting, so a slow parent
// holds it back.
inline constexpr size_t kStreamedSegmentsQueuedMax = 1;

// kStart: the canonical spec plus where this machine keeps the job's inputs
// (paths are not part of the spec), and whether to run the randomness check.
Bytes EncodeStart(const job::JobSpec& spec, bool check_randomness);
// The spec with this machine's paths filled in.
Result<std::pair<job::JobSpec, bool>> DecodeStart(ByteView payload);

Bytes EncodeEnvironment(const EngineEnvironment& env);
Result<EngineEnvironment> DecodeEnvironment(ByteView payload);

Bytes EncodeSegment(uint64_t begin, uint64_t end);
Result<std::pair<uint64_t, uint64_t>> DecodeSegment(ByteView payload);

struct SegmentsRequest {
  uint64_t begin = 0;
  uint64_t end = 0;
  uint64_t interval = 0;
};
Bytes EncodeSegments(const SegmentsRequest& request);
Result<SegmentsRequest> DecodeSegments(ByteView payload);

Bytes EncodeProgress(uint64_t step, double loss);
Result<std::pair<uint64_t, double>> DecodeProgress(ByteView payload);

Bytes EncodeSegmentResult(const SegmentResult& r);
Result<SegmentResult> DecodeSegmentResult(ByteView payload);

Bytes EncodeEvalResult(const EvalResult& e);
Result<EvalResult> DecodeEvalResult(ByteView payload);

// Each of the two files is at most kExportBytesMax (what one channel
// message can carry).
inline constexpr uint64_t kExportBytesMax = uint64_t{1} << 30;
Bytes EncodeExported(const ExportedModel& m);
Result<ExportedModel> DecodeExported(ByteView payload);

Bytes EncodeEstimate(const Estimate& e);
Result<Estimate> DecodeEstimate(ByteView payload);

Bytes EncodeU64(uint64_t v);
Result<uint64_t> DecodeU64(ByteView payload);

Bytes EncodeStartRecompute(const job::ExecutionProfile& profile);
Result<job::ExecutionProfile> DecodeStartRecompute(ByteView payload);

Bytes EncodeHashes(const std::vector<Hash256>& hashes);
// At most `count_max` hashes.
Result<std::vector<Hash256>> DecodeHashes(ByteView payload, uint64_t count_max);

struct OpInputsRequest {
  uint64_t step = 0;
  uint64_t op_index = 0;
};
Bytes EncodeOpInputsRequest(const OpInputsRequest& request);
Result<OpInputsRequest> DecodeOpInputsRequest(ByteView payload);

// The blob is the rest of the message; the view points into `payload`.
Bytes EncodeRecomputeRequest(const proof::OpRecord& record, ByteView inputs);
Result<std::pair<proof::OpRecord, ByteView>> DecodeRecomputeRequest(ByteView payload);

Bytes EncodeHash(const Hash256& hash);
Result<Hash256> DecodeHash(ByteView payload);

Bytes EncodeError(const Status& status);
Status DecodeError(ByteView payload);

}  // namespace cairn::train::worker
