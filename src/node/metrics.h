// The node's Prometheus metrics (prometheus-cpp), served at
// http://<metrics_listen>/metrics. Names and labels: docs/node.md.
#pragma once

#include <memory>
#include <string>

#include "cairn/status.h"

namespace cairn::node {

class Metrics {
 public:
  // listen "" = collect but do not serve (tests).
  static Result<std::unique_ptr<Metrics>> Start(const std::string& listen);
  ~Metrics();

  void SetHeight(uint64_t height);
  void SetMempool(size_t txs);
  void SetJobs(const std::string& state, size_t count);
  void SetTrainingStepsPerSecond(double steps_per_second);
  void AddTrainingSteps(uint64_t steps);
  void AddCheckpointBytes(uint64_t bytes);
  void CountVerification(const std::string& result);  // accept, reject, error
  void CountTx(const std::string& operation, bool ok);
  void ObserveRpc(const std::string& call, double seconds);
  void AddBlobBytes(uint64_t bytes);

 private:
  struct Impl;
  Metrics();
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::node
