// `cairn worker`: the sandboxed side of a training engine. It locks itself
// down in two phases (docs/sandbox.md): first no network and no new
// processes; then, once it has read its inputs into memory and started its
// thread pools, it can open no file at all. Only then does it load the
// submitted TorchScript (whose loading may already run its code) and train,
// answering the parent's requests over the channel. It never holds a key and
// never writes a file: checkpoints go to the parent, which stores them.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>

#include "job/spec.h"
#include "sandbox/channel.h"
#include "sandbox/process.h"
#include "sandbox/seccomp.h"
#include "train/local_engine.h"
#include "train/torch_error.h"
#include "train/worker_protocol.h"

namespace cairn::train {
namespace {

using Clock = std::chrono::steady_clock;

// Progress is sent at most this often (each message costs a pipe write).
constexpr double kProgressIntervalSeconds = 0.2;
constexpr int kExitProtocolError = 3;

// Everything the worker needs, read before the second lockdown phase.
struct Inputs {
  job::JobSpec spec;
  bool check_randomness = false;
  data::Dataset dataset;
  std::optional<data::Dataset> evaluation;
  ModelFiles files;
  EngineEnvironment environment;
};

// Starts the thread pools (OpenMP's and ATen's) and touches the kernels a
// step will use, so that nothing they open lazily (/proc, /sys) is needed
// after ForbidOpeningFiles.
void WarmUp() {
  // libtorch seeds its default generator from /dev/urandom when first used.
  (void)at::detail::getDefaultCPUGenerator();
  ::tzset();
  torch::Tensor a = torch::rand({64, 64});
  torch::Tensor b = torch::mm(a, a).relu().sum();
  at::parallel_for(0, 1 << 16, 1, [](int64_t, int64_t) {});
  (void)b.item<float>();
}

Result<Inputs> ReadInputs(const sandbox::Message& start) {
  if (start.type != static_cast<uint32_t>(worker::Type::kStart) &&
      start.type != static_cast<uint32_t>(worker::Type::kStartEstimate)) {
    return InvalidArgument("the first request must be kStart");
  }
  Inputs in;
  CAIRN_ASSIGN_OR_RETURN(auto decoded, worker::DecodeStart(start.payload));
  in.spec = std::move(decoded.first);
  in.check_randomness = decoded.second;
  // The profile first: ATen reads its CPU capability at its first kernel.
  CAIRN_ASSIGN_OR_RETURN(in.environment.applied, ApplyProfile(in.spec.profile));
  in.environment.description = DescribeDevice();
  const Hash256 job_id = job::JobId(in.spec);
  CAIRN_ASSIGN_OR_RETURN(in.dataset, job::ResolveJobInputs(&in.spec, &in.evaluation));
  if (job::JobId(in.spec) != job_id) return Internal("the job's inputs resolved to another job");
  CAIRN_ASSIGN_OR_RETURN(in.files, ReadModelFiles(in.spec));
  WarmUp();
  return in;
}

// Sends the messages of a segment stream (kRunSegments) on a thread of its
// own, in order, so that the training thread goes on with the next segment
// while a checkpoint travels to the parent: a pipe moves it 64 KiB at a
// time, each a wake-up of both processes, which on a busy machine costs far
// more than the copy. At most kStreamedSegmentsQueuedMax segments wait
// beyond the one being sent; Segment() blocks while more would (so a slow
// parent holds training back). After a send fails nothing more is sent.
// Owns its thread; the channel is the sender's alone until Finish returns.
// Called from one (the training) thread.
class StreamSender {
 public:
  StreamSender(sandbox::Channel* channel, Engine* engine)
      : channel_(channel), engine_(engine), thread_([this] { Run(); }) {}
  ~StreamSender() { Finish().ok(); }
  StreamSender(const StreamSender&) = delete;
  StreamSender& operator=(const StreamSender&) = delete;

  void Progress(uint64_t step, double loss) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back({worker::Type::kProgress, worker::EncodeProgress(step, loss)});
    work_.notify_one();
  }

  // kSegmentDone without the checkpoint, then kCheckpoint with it; its bytes
  // go back to the engine once sent (Engine::Recycle).
  void Segment(SegmentResult result) {
    Bytes checkpoint = std::move(result.checkpoint);
    result.checkpoint.clear();
    Bytes metadata = worker::EncodeSegmentResult(result);
    std::unique_lock<std::mutex> lock(mu_);
    space_.wait(lock, [&] { return segments_queued_ < worker::kStreamedSegmentsQueuedMax || !status_.ok(); });
    queue_.push_back({worker::Type::kSegmentDone, std::move(metadata)});
    queue_.push_back({worker::Type::kCheckpoint, std::move(checkpoint)});
    segments_queued_++;
    work_.notify_one();
  }

  // Whether a send failed (the parent is gone or broke the channel).
  bool failed() {
    std::lock_guard<std::mutex> lock(mu_);
    return !status_.ok();
  }

  // Sends everything queued and stops the thread; the first send error.
  Status Finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
      work_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  struct Outgoing {
    worker::Type type;
    Bytes payload;
  };

  void Run() {
    for (;;) {
      Outgoing next;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_.wait(lock, [&] { return !queue_.empty() || closing_; });
        if (queue_.empty()) return;
        next = std::move(queue_.front());
        queue_.pop_front();
        if (next.type == worker::Type::kCheckpoint) {
          segments_queued_--;
          space_.notify_all();
        }
        if (!status_.ok()) continue;  // Drain without sending.
      }
      sandbox::Message message{static_cast<uint32_t>(next.type), std::move(next.payload)};
      Status sent = channel_->Send(message);
      if (next.type == worker::Type::kCheckpoint) engine_->Recycle(std::move(message.payload));
      if (!sent.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        status_ = sent;
        space_.notify_all();
      }
    }
  }

  sandbox::Channel* channel_;
  Engine* engine_;
  std::mutex mu_;
  std::condition_variable work_, space_;
  std::deque<Outgoing> queue_;     // GUARDED_BY(mu_)
  size_t segments_queued_ = 0;     // GUARDED_BY(mu_); checkpoints in queue_.
  bool closing_ = false;           // GUARDED_BY(mu_)
  Status status_;                  // GUARDED_BY(mu_)
  std::thread thread_;
};

// Serves one engine's requests, or (engine == nullptr: a worker started
// with kStartRecompute) only kRecomputeOp through `recomputer`.
class Server {
 public:
  Server(sandbox::Channel* channel, Engine* engine, OpRecomputer* recomputer)
      : channel_(channel), engine_(engine), recomputer_(recomputer) {}

  // Serves requests until kShutdown or the parent goes away.
  int Serve() {
    for (;;) {
      auto request = channel_->Receive(sandbox::kForever);
      if (!request.ok()) return sandbox::IsPeerClosed(request.status()) ? 0 : kExitProtocolError;
      if (request->type == static_cast<uint32_t>(worker::Type::kShutdown)) return 0;
      Status sent = Handle(*request);
      if (!sent.ok()) return kExitProtocolError;
    }
  }

 private:
  Status Reply(worker::Type type, Bytes payload) { return channel_->Send({static_cast<uint32_t>(type), std::move(payload)}); }
  Status ReplyError(const Status& s) { return Reply(worker::Type::kError, worker::EncodeError(s)); }

  Status Handle(const sandbox::Message& request) {
    const auto type = static_cast<worker::Type>(request.type);
    if (type == worker::Type::kRecomputeOp) {
      auto decoded = worker::DecodeRecomputeRequest(request.payload);
      if (!decoded.ok()) return ReplyError(decoded.status());
      auto hash = recomputer_->RecomputeOp(decoded->first, decoded->second);
      return hash.ok() ? Reply(type, worker::EncodeHash(*hash)) : ReplyError(hash.status());
    }
    if (engine_ == nullptr) {
      return ReplyError(FailedPrecondition("this worker holds no job: it only recomputes operators (request type " +
                                           std::to_string(request.type) + ")"));
    }
    switch (type) {
      case worker::Type::kStepHashes: {
        auto range = worker::DecodeSegment(request.payload);
        if (!range.ok()) return ReplyError(range.status());
        auto hashes = engine_->StepHashes(range->first, range->second);
        return hashes.ok() ? Reply(type, worker::EncodeHashes(*hashes)) : ReplyError(hashes.status());
      }
      case worker::Type::kTraceStep: {
        auto step = worker::DecodeU64(request.payload);
        if (!step.ok()) return ReplyError(step.status());
        auto trace = engine_->TraceStep(*step);
        return trace.ok() ? Reply(type, proof::EncodeStepTrace(*trace)) : ReplyError(trace.status());
      }
      case worker::Type::kOpInputs: {
        auto op = worker::DecodeOpInputsRequest(request.payload);
        if (!op.ok()) return ReplyError(op.status());
        auto blob = engine_->OpInputs(op->step, op->op_index);
        return blob.ok() ? Reply(type, std::move(*blob)) : ReplyError(blob.status());
      }
      case worker::Type::kInitialCheckpoint: {
        auto c = engine_->InitialCheckpoint();
        return c.ok() ? Reply(worker::Type::kCheckpoint, std::move(*c)) : ReplyError(c.status());
      }
      case worker::Type::kRestore: {
        auto step = engine_->Restore(request.payload);
        return step.ok() ? Reply(worker::Type::kRestored, worker::EncodeU64(*step)) : ReplyError(step.status());
      }
      case worker::Type::kEvaluate: {
        auto e = engine_->Evaluate(request.payload);
        return e.ok() ? Reply(worker::Type::kEvaluated, worker::EncodeEvalResult(*e)) : ReplyError(e.status());
      }
      case worker::Type::kExport: {
        auto e = engine_->Export(request.payload);
        return e.ok() ? Reply(worker::Type::kExported, worker::EncodeExported(*e)) : ReplyError(e.status());
      }
      case worker::Type::kRunSegment: {
        auto range = worker::DecodeSegment(request.payload);
        if (!range.ok()) return ReplyError(range.status());
        auto last_sent = Clock::now();
        Status progress_error;
        auto on_step = [&](uint64_t step, double loss) {
          auto now = Clock::now();
          if (std::chrono::duration<double>(now - last_sent).count() < kProgressIntervalSeconds &&
              step + 1 != range->second) {
            return;
          }
          last_sent = now;
          if (progress_error.ok()) progress_error = Reply(worker::Type::kProgress, worker::EncodeProgress(step, loss));
        };
        auto result = engine_->RunSegment(range->first, range->second, on_step);
        CAIRN_RETURN_IF_ERROR(progress_error);
        if (!result.ok()) return ReplyError(result.status());
        Bytes payload = worker::EncodeSegmentResult(*result);
        engine_->Recycle(std::move(result->checkpoint));  // Its bytes are in the payload now.
        return Reply(worker::Type::kSegmentDone, std::move(payload));
      }
      case worker::Type::kRunSegments: {
        auto segments = worker::DecodeSegments(request.payload);
        if (!segments.ok()) return ReplyError(segments.status());
        return StreamSegments(*segments);
      }
      default:
        return ReplyError(InvalidArgument("unknown request type " + std::to_string(request.type)));
    }
  }

  // kRunSegments: trains segment after segment while the sender streams
  // the finished ones; an error ends the stream with kError.
  Status StreamSegments(const worker::SegmentsRequest& request) {
    StreamSender sender(channel_, engine_);
    Status trained;
    auto last_sent = Clock::now();
    for (uint64_t at = request.begin; at < request.end && !sender.failed();) {
      const uint64_t end = request.end - at <= request.interval ? request.end : at + request.interval;
      auto on_step = [&](uint64_t step, double loss) {
        auto now = Clock::now();
        if (std::chrono::duration<double>(now - last_sent).count() < kProgressIntervalSeconds && step + 1 != end) {
          return;
        }
        last_sent = now;
        sender.Progress(step, loss);
      };
      auto result = engine_->RunSegment(at, end, on_step);
      if (!result.ok()) {
        trained = result.status();
        break;
      }
      sender.Segment(std::move(*result));
      at = end;
    }
    CAIRN_RETURN_IF_ERROR(sender.Finish());
    return trained.ok() ? Status::Ok() : ReplyError(trained);
  }

  sandbox::Channel* channel_;
  Engine* engine_;
  OpRecomputer* recomputer_;
};

// A worker started with kStartRecompute: applies the profile, warms up,
// locks itself down and recomputes operators from the blobs it is sent.
int RunRecompute(sandbox::Channel* channel, const sandbox::Message& start) {
  auto fail = [&](const Status& s) {
    channel->Send({static_cast<uint32_t>(worker::Type::kError), worker::EncodeError(s)}).ok();
    return 1;
  };
  auto environment = GuardTorch("worker", [&]() -> Result<EngineEnvironment> {
    CAIRN_ASSIGN_OR_RETURN(job::ExecutionProfile profile, worker::DecodeStartRecompute(start.payload));
    EngineEnvironment env;
    CAIRN_ASSIGN_OR_RETURN(env.applied, ApplyProfile(profile));
    env.description = DescribeDevice();
    WarmUp();
    return env;
  });
  if (!environment.ok()) return fail(environment.status());
  if (Status s = sandbox::ForbidOpeningFiles(); !s.ok()) return fail(s.WithContext("sandbox"));
  std::unique_ptr<OpRecomputer> recomputer = StartLocalRecomputer();
  if (!channel->Send({static_cast<uint32_t>(worker::Type::kReady), worker::EncodeEnvironment(*environment)}).ok()) {
    return kExitProtocolError;
  }
  Server server(channel, nullptr, recomputer.get());
  return server.Serve();
}

// A worker started with kStartEstimate (`cairn job estimate`): reads the
// job's inputs, locks itself down, builds the model once and answers its
// estimate; then it waits to be shut down.
int RunEstimate(sandbox::Channel* channel, const sandbox::Message& start) {
  auto fail = [&](const Status& s) {
    channel->Send({static_cast<uint32_t>(worker::Type::kError), worker::EncodeError(s)}).ok();
    return 1;
  };
  auto inputs = GuardTorch("worker", [&] { return ReadInputs(start); });
  if (!inputs.ok()) return fail(inputs.status());
  // As for training: the module is loaded (and may run code) only once no
  // file can be opened.
  if (Status s = sandbox::ForbidOpeningFiles(); !s.ok()) return fail(s.WithContext("sandbox"));
  auto estimate = EstimateJobWith(inputs->spec, inputs->dataset, inputs->files);
  if (!estimate.ok()) return fail(estimate.status());
  if (!channel->Send({static_cast<uint32_t>(worker::Type::kEstimated), worker::EncodeEstimate(*estimate)}).ok()) {
    return kExitProtocolError;
  }
  for (;;) {
    auto request = channel->Receive(sandbox::kForever);
    if (!request.ok()) return sandbox::IsPeerClosed(request.status()) ? 0 : kExitProtocolError;
    if (request->type == static_cast<uint32_t>(worker::Type::kShutdown)) return 0;
    Status refused = FailedPrecondition("this worker only estimated a job (request type " +
                                        std::to_string(request->type) + ")");
    if (!channel->Send({static_cast<uint32_t>(worker::Type::kError), worker::EncodeError(refused)}).ok()) {
      return kExitProtocolError;
    }
  }
}

int Run() {
  auto channel = sandbox::ChannelToParent();
  if (!channel.ok()) {
    std::fprintf(stderr, "cairn worker: %s (it is started by the node, not by hand)\n",
                 channel.status().message().c_str());
    return 2;
  }
  auto fail = [&](const Status& s) {
    channel->Send({static_cast<uint32_t>(worker::Type::kError), worker::EncodeError(s)}).ok();
    return 1;
  };
  if (Status s = sandbox::RestrictProcess(); !s.ok()) return fail(s.WithContext("sandbox"));
  auto start = channel->Receive(sandbox::kForever);
  if (!start.ok()) return kExitProtocolError;
  if (start->type == static_cast<uint32_t>(worker::Type::kStartRecompute)) return RunRecompute(&*channel, *start);
  if (start->type == static_cast<uint32_t>(worker::Type::kStartEstimate)) return RunEstimate(&*channel, *start);
  auto inputs = GuardTorch("worker", [&] { return ReadInputs(*start); });
  if (!inputs.ok()) return fail(inputs.status());
  // From here on no path can be opened: nothing outside the inputs already
  // in memory can reach the model or its weights.
  if (Status s = sandbox::ForbidOpeningFiles(); !s.ok()) return fail(s.WithContext("sandbox"));

  EngineOptions options;
  options.worker.isolated = false;
  options.check_randomness = inputs->check_randomness;
  auto engine = StartLocalEngine(inputs->spec, inputs->dataset, inputs->evaluation ? &*inputs->evaluation : nullptr,
                                 inputs->files, options,
                                 &inputs->environment);
  if (!engine.ok()) return fail(engine.status());
  if (!channel->Send({static_cast<uint32_t>(worker::Type::kReady), worker::EncodeEnvironment(inputs->environment)}).ok()) {
    return kExitProtocolError;
  }
  Server server(&*channel, engine->get(), engine->get());
  return server.Serve();
}

}  // namespace

int RunWorker() {
  try {
    return Run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cairn worker: %s\n", TorchErrorText(e).c_str());
    return 1;
  }
}

}  // namespace cairn::train
