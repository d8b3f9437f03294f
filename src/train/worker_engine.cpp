// The parent's side of a sandboxed training worker: an Engine whose every
// call is a request over the channel to `cairn worker` (worker_main.cpp).
// The worker reads its inputs, then can open no file; the parent keeps the
// keys, the checkpoint store and every verdict. A worker that dies, hangs
// past its wall limit or exceeds a resource limit is reported with the
// cause and the end of what it wrote to stderr.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>

#include "sandbox/process.h"
#include "train/engine.h"
#include "train/worker_protocol.h"

namespace cairn::train {
namespace {

using Clock = std::chrono::steady_clock;

// How long a worker that was asked to stop may take before it is killed.
constexpr double kShutdownSeconds = 5.0;

class WorkerEngine final : public Engine {
 public:
  explicit WorkerEngine(sandbox::Child child, double wall_seconds)
      : child_(std::move(child)), started_(Clock::now()), wall_seconds_(wall_seconds) {}

  ~WorkerEngine() override {
    if (!failed_) child_.channel().Send({static_cast<uint32_t>(worker::Type::kShutdown), {}}, kShutdownSeconds).ok();
    child_.channel().CloseSend();
    auto exit = child_.Wait(kShutdownSeconds);
    if (exit.ok() && !exit->ok() && !failed_) spdlog::warn("training worker: {}", exit->ToString());
  }

  Status Handshake(const job::JobSpec& spec, bool check_randomness) {
    CAIRN_ASSIGN_OR_RETURN(sandbox::Message reply,
                           Call(worker::Type::kStart, worker::EncodeStart(spec, check_randomness), nullptr));
    CAIRN_RETURN_IF_ERROR(Expect(reply, worker::Type::kReady));
    CAIRN_ASSIGN_OR_RETURN(environment_, worker::DecodeEnvironment(reply.payload));
    return Status::Ok();
  }

  // A worker that loads no job and only recomputes operators.
  Status HandshakeRecompute(const job::ExecutionProfile& profile) {
    CAIRN_ASSIGN_OR_RETURN(sandbox::Message reply,
                           Call(worker::Type::kStartRecompute, worker::EncodeStartRecompute(profile), nullptr));
    CAIRN_RETURN_IF_ERROR(Expect(reply, worker::Type::kReady));
    CAIRN_ASSIGN_OR_RETURN(environment_, worker::DecodeEnvironment(reply.payload));
    return Status::Ok();
  }

  // A worker that builds the job's model once and answers its estimate
  // (then only waits to be shut down).
  Result<Estimate> StartEstimate(const job::JobSpec& spec) {
    CAIRN_ASSIGN_OR_RETURN(sandbox::Message reply,
                           Call(worker::Type::kStartEstimate, worker::EncodeStart(spec, /*check_randomness=*/false),
                                nullptr));
    CAIRN_RETURN_IF_ERROR(Expect(reply, worker::Type::kEstimated));
    auto estimate = worker::DecodeEstimate(reply.payload);
    if (!estimate.ok()) return Broken(estimate.status());
    return estimate;
  }

  const EngineEnvironment& environment() const override { return environment_; }

  Result<Bytes> InitialCheckpoint() override {
    CAIRN_ASSIGN_OR_RETURN(sandbox::Message reply, Call(worker::Type::kInitialCheckpoint, {}, nullptr));
    CAIRN_RETURN_IF_ERROR(Expect(reply, worker::Type::kCheckpoint));
    return std::move(reply.payload);
  }

  Result<uint64_t> Restore(ByteView checkpoint) override {
    CAIRN_ASSIGN_OR_RETURN(sandbox::Message reply,
                           Call(worker::Type::kRestore, Bytes(checkpoint.data, checkpoint.data + checkpoint.size), nullptr));
    CAIRN_RETURN_IF_ERROR(Expect(reply, worker::Type::kRestored));
    return worker::DecodeU64(reply.payload);
  }

  Result<EvalResult> Evaluate(ByteView model_file) override {
    CAIRN_ASSIGN_OR_RETURN(sandbox::Message reply,
                           Call(worker::Type::kEvaluate, Bytes(model_file.data, model_file.data + model_file.size), nullptr));
    CAIRN_RETURN_IF_ERROR(Expect(reply, worker::Type::kEvaluated));
    return worker::DecodeEvalResult(reply.payload);
  }

  Result<ExportedModel> Export(ByteView model_file) override {
    CAIRN_ASSIGN_OR_RETURN(sandbox::Message reply,
                           Call(worker::Type::kExport, Bytes(model_file.data, model_file.data + model_file.size), nullptr));
    CAIRN_RETURN_IF_ERROR(Expect(reply, worker::Type::kExported));
    auto exported = worker::DecodeExported(reply.payload);
    if (!exported.ok()) return Broken(exported.status());
    return exported;
  }

  Result<SegmentResult> RunSegment(uint64_t begin, uint64_t end, const StepCallback& on_step) override {
    CAIRN_ASSIGN_OR_RETURN(sandbox::Message reply,
                           Call(worker::Type::kRunSegment, worker::EncodeSegment(begin, end), &on_step));
    CAIRN_RETURN_IF_ERROR(Expect(reply, worker::Type::kSegmentDone));
    return worker::DecodeSegmentResult(reply.payload);
  }

  // The whole range as one kRunSegments stream: the worker trains on while
  // this thread hands each checkpoint to on_segment. If on_segment fails,
  // the worker (still streaming) is stopped and cannot be used again.
  Status RunSegments(uint64_t begin, uint64_t end, uint64_t interval, const StepCallback& on_step,
                     const SegmentCallback& on_segment) override {
    CAIRN_ASSERT(interval > 0);
    if (begin >= end) return Status::Ok();
    CAIRN_RETURN_IF_ERROR(SendRequest(worker::Type::kRunSegments, worker::EncodeSegments({begin, end, interval})));
    for (uint64_t at = begin; at < end;) {
      const uint64_t segment_end = end - at <= interval ? end : at + interval;
      CAIRN_ASSIGN_OR_RETURN(sandbox::Message done, NextReply(&on_step));
      CAIRN_RETURN_IF_ERROR(Expect(done, worker::Type::kSegmentDone));
      auto result = worker::DecodeSegmentResult(done.payload);
      if (!result.ok()) return Broken(result.status());
      if (result->steps != segment_end - at || !result->checkpoint.empty()) {
        return Broken(Internal("a streamed segment result does not match its segment"));
      }
      CAIRN_ASSIGN_OR_RETURN(sandbox::Message checkpoint, NextReply(&on_step));
      CAIRN_RETURN_IF_ERROR(Expect(checkpoint, worker::Type::kCheckpoint));
      result->checkpoint = std::move(checkpoint.payload);
      if (Status s = on_segment(at, segment_end, std::move(*result)); !s.ok()) {
        Abandon(s);
        return s;
      }
      at = segment_end;
    }
    return Status::Ok();
  }

  Result<std::vector<Hash256>> StepHashes(uint64_t begin, uint64_t end) override {
    if (end < begin || end - begin > kStepHashesPerCallMax) {
      return InvalidArgument("per-step hashes of steps [" + std::to_string(begin) + ", " + std::to_string(end) +
                             "): at most " + std::to_string(kStepHashesPerCallMax) + " steps at a time");
    }
    CAIRN_ASSIGN_OR_RETURN(sandbox::Message reply,
                           Call(worker::Type::kStepHashes, worker::EncodeSegment(begin, end), nullptr));
    CAIRN_RETURN_IF_ERROR(Expect(reply, worker::Type::kStepHashes));
    auto hashes = worker::DecodeHashes(reply.payload, end - begin);
    if (!hashes.ok()) return Broken(hashes.status());
    if (hashes->size() != end - begin) return Broken(Internal("step hashes for another number of steps"));
    return hashes;
  }

  Result<proof::StepTrace> TraceStep(uint64_t step) override {
    CAIRN_ASSIGN_OR_RETURN(sandbox::Message reply, Call(worker::Type::kTraceStep, worker::EncodeU64(step), nullptr));
    CAIRN_RETURN_IF_ERROR(Expect(reply, worker::Type::kTraceStep));
    auto trace = proof::DecodeStepTrace(reply.payload);
    if (!trace.ok()) return Broken(trace.status());
    if (trace->step != step) return Broken(Internal("the trace of another step"));
    return trace;
  }

  Result<Bytes> OpInputs(uint64_t step, uint64_t op_index) override {
    CAIRN_ASSIGN_OR_RETURN(sandbox::Message reply,
                           Call(worker::Type::kOpInputs, worker::EncodeOpInputsRequest({step, op_index}), nullptr));
    CAIRN_RETURN_IF_ERROR(Expect(reply, worker::Type::kOpInputs));
    return std::move(reply.payload);
  }

  Result<Hash256> RecomputeOp(const proof::OpRecord& record, ByteView inputs) override {
    CAIRN_ASSIGN_OR_RETURN(sandbox::Message reply, Call(worker::Type::kRecomputeOp,
                                                         worker::EncodeRecomputeRequest(record, inputs), nullptr));
    CAIRN_RETURN_IF_ERROR(Expect(reply, worker::Type::kRecomputeOp));
    auto hash = worker::DecodeHash(reply.payload);
    if (!hash.ok()) return Broken(hash.status());
    return hash;
  }

 private:
  double SecondsLeft() const {
    if (wall_seconds_ <= 0) return sandbox::kForever;
    const double used = std::chrono::duration<double>(Clock::now() - started_).count();
    return std::max(0.0, wall_seconds_ - used);
  }

  // Sends a request and reads until its answer, passing progress on. A
  // worker error message becomes its Status; a worker that stops answering
  // becomes the cause of its death.
  Result<sandbox::Message> Call(worker::Type type, Bytes payload, const StepCallback* on_step) {
    CAIRN_RETURN_IF_ERROR(SendRequest(type, std::move(payload)));
    return NextReply(on_step);
  }

  Status SendRequest(worker::Type type, Bytes payload) {
    if (failed_) return failure_;
    if (Status s = child_.channel().Send({static_cast<uint32_t>(type), std::move(payload)}, SecondsLeft()); !s.ok()) {
      return Died(s);
    }
    return Status::Ok();
  }

  // Reads the next message that is not progress (passing progress on); a
  // worker error message becomes its Status.
  Result<sandbox::Message> NextReply(const StepCallback* on_step) {
    if (failed_) return failure_;
    for (;;) {
      auto message = child_.channel().Receive(SecondsLeft());
      if (!message.ok()) return Died(message.status());
      if (message->type == static_cast<uint32_t>(worker::Type::kProgress)) {
        auto progress = worker::DecodeProgress(message->payload);
        if (!progress.ok()) return Broken(progress.status());
        if (on_step != nullptr && *on_step) (*on_step)(progress->first, progress->second);
        continue;
      }
      if (message->type == static_cast<uint32_t>(worker::Type::kError)) return worker::DecodeError(message->payload);
      return std::move(*message);
    }
  }

  Status Expect(const sandbox::Message& reply, worker::Type type) {
    if (reply.type == static_cast<uint32_t>(type)) return Status::Ok();
    return Broken(Internal("unexpected message type " + std::to_string(reply.type)));
  }

  // The worker closed its channel, stalled past the wall limit, or failed
  // to answer: kill it if needed and report why it ended.
  Status Died(const Status& channel_status) {
    // Past the wall limit, Wait() kills it and says so; a worker that closed
    // its channel is exiting and says why itself.
    auto exit = sandbox::IsTimeout(channel_status) ? child_.Wait() : child_.Wait(kShutdownSeconds);
    std::string why = exit.ok() ? exit->ToString() : exit.status().message();
    Status s;
    if (!exit.ok()) {
      s = Internal("the training worker stopped answering: " + why);
    } else {
      switch (exit->kind) {
        case sandbox::ExitKind::kCpuLimit:
        case sandbox::ExitKind::kWallLimit:
        case sandbox::ExitKind::kFileSizeLimit:
        case sandbox::ExitKind::kKilled:
          s = ResourceExhausted("the training worker " + why);
          break;
        default:
          s = Internal("the training worker " + why);
          break;
      }
    }
    failed_ = true;
    failure_ = s;
    return s;
  }

  // The caller gave up on a stream the worker is still sending: the worker
  // cannot be spoken to any more, so it is stopped.
  void Abandon(const Status& why) {
    failed_ = true;
    failure_ = why;
    child_.Kill();
  }

  Status Broken(const Status& why) {
    failed_ = true;
    failure_ = Internal("the training worker broke the protocol: " + why.message());
    child_.Kill();
    return failure_;
  }

  sandbox::Child child_;
  Clock::time_point started_;
  double wall_seconds_;
  EngineEnvironment environment_;
  bool failed_ = false;
  Status failure_;
};

Result<std::unique_ptr<WorkerEngine>> SpawnWorker(const WorkerOptions& worker) {
  sandbox::SpawnOptions spawn;
  spawn.argv = {worker.binary.empty() ? std::string("/proc/self/exe") : worker.binary, "worker"};
  spawn.limits = worker.limits;
  // The worker applies the job's profile itself, first thing. glog (linked
  // by libtorch) would log to files in /tmp, which the worker cannot open;
  // two malloc arenas keep RLIMIT_AS about memory, not per-thread reservations.
  spawn.env_overrides = {"ATEN_CPU_CAPABILITY", "GLOG_logtostderr=1", "MALLOC_ARENA_MAX=2"};
  CAIRN_ASSIGN_OR_RETURN(sandbox::Child child, sandbox::Child::Spawn(spawn));
  return std::make_unique<WorkerEngine>(std::move(child), worker.limits.wall_seconds);
}

}  // namespace

Result<std::unique_ptr<Engine>> StartWorkerEngine(const job::JobSpec& spec, const EngineOptions& options) {
  if (options.cheat.learning_rate || options.cheat.batch_indices || options.cheat.corrupt_op_output ||
      options.cheat.round_to_bfloat16) {
    return InvalidArgument("cheat hooks run only in-process (worker.isolated = false)");
  }
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<WorkerEngine> engine, SpawnWorker(options.worker));
  CAIRN_RETURN_IF_ERROR(engine->Handshake(spec, options.check_randomness));
  return std::unique_ptr<Engine>(std::move(engine));
}

Result<std::unique_ptr<OpRecomputer>> StartWorkerRecomputer(const job::ExecutionProfile& profile,
                                                             const WorkerOptions& worker) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<WorkerEngine> engine, SpawnWorker(worker));
  CAIRN_RETURN_IF_ERROR(engine->HandshakeRecompute(profile));
  return std::unique_ptr<OpRecomputer>(std::move(engine));
}

Result<Estimate> EstimateInWorker(const job::JobSpec& spec, const WorkerOptions& worker) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<WorkerEngine> engine, SpawnWorker(worker));
  return engine->StartEstimate(spec);
}

}  // namespace cairn::train
