// Tracing one training step at the ATen operator level, and recomputing one
// traced operator from its input blob (internal to train/; the records and
// blobs themselves are proof/op_trace.h's, docs/pinpoint.md).
//
// The tracer installs a thread-local at::RecordFunction callback (scope
// FUNCTION, with inputs and outputs) on the thread that runs the step. CPU
// autograd runs backward on the calling thread in libtorch 1.13, so the
// forward, the backward and the optimizer update are all seen there, for
// built-in models and TorchScript modules alike (the TorchScript interpreter
// calls the same dispatcher operators). Which calls become records:
//
//   * a dispatcher call made while no record is open is a candidate record;
//     its arguments are described (hashed) when it starts;
//   * a call made inside an open candidate is absorbed (part of it), unless
//     the candidate is a CompositeImplicitAutograd operator (one that only
//     calls other operators, like aten::linear's decomposition or
//     aten::cross_entropy_loss): then the composite is dropped and its
//     callees are candidates in its place, recursively;
//   * calls inside an at::parallel_for region are ignored (they are inside
//     some candidate already), and so are named ranges that are no operator.
//
// So every tensor computation of the step happens inside exactly one
// record, and a record is the finest operator whose own kernel does work:
// aten::addmm (with the copy_ and resolve_conj it calls inside), never
// a composite whose work happens entirely in its callees.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>

#include "cairn/bytes.h"
#include "cairn/status.h"
#include "proof/op_trace.h"
#include "train/session.h"

namespace cairn::train {

struct TraceOptions {
  // Describe every record (hash every argument and output). Off for a
  // tracer that only corrupts an output (CheatHooks::corrupt_op_output).
  bool describe = true;
  // Encode the input blob of this record (OpInputs).
  std::optional<uint64_t> capture_inputs_of;
  // Per step: flip the lowest bit of the first element of the first tensor
  // output of this record, as it returns (a test hook for cheating solvers).
  std::function<std::optional<uint64_t>(uint64_t step)> corrupt_output_of;
};

// Traces the steps a TrainingSession runs with it as its StepObserver.
// One step at a time on one thread; not thread-safe. At most one tracer is
// active per thread.
class StepTracer final : public StepObserver {
 public:
  explicit StepTracer(TraceOptions options);
  ~StepTracer() override;
  StepTracer(const StepTracer&) = delete;
  StepTracer& operator=(const StepTracer&) = delete;

  void BeginStep(uint64_t step, const NamedTensors& step_inputs) override;
  void EndStep() override;

  // After EndStep: the first thing that made the trace unusable (randomness
  // drawn outside an operator, an output that could not be described, ...).
  const Status& status() const;
  std::vector<proof::OpRecord> TakeRecords();
  std::vector<proof::NamedTensorDescriptor> TakeStepInputs();
  // The blob of the record capture_inputs_of names; NotFound if the step
  // had fewer records.
  Result<Bytes> TakeCapturedInputs();
  // Records of the last step (also when not describing).
  uint64_t records() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Recomputes `record`'s operator in this process: decodes the blob (sizes
// checked), checks it against the record (proof::CheckOpInputs), looks the
// operator up in the dispatcher by name and overload, checks the arguments
// against its schema, sets the default CPU generator to the blob's state if
// the record names one, calls it boxed and returns proof::OutputHash of its
// outputs. InvalidArgument for a blob that does not match, an unknown
// operator or arguments of the wrong kind; FailedPrecondition if the
// operator fails on them. Never throws.
Result<Hash256> RecomputeOpHere(const proof::OpRecord& record, ByteView inputs);

}  // namespace cairn::train
