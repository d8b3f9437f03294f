// A real network on 127.0.0.1 for end-to-end tests: `cairn node` processes
// started from config files the way an operator would, a submitter driving
// the `cairn` CLI, and the ledger read back over gRPC (net::NodeQueries).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "net/clients.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace cairn::testing {

inline const std::string kCairn = CAIRN_BINARY;
inline const std::string kImages = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
inline const std::string kLabels = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz";

class NetworkFixture : public ::testing::Test {
 protected:
  struct NodeProcess {
    std::string dir;
    std::string roles;
    std::string extra;  // Config lines beyond the common ones.
    BackgroundProcess process;
    std::string endpoint;
    crypto::PublicKey id;
  };

  void SetUp() override;
  void TearDown() override;

  // Starts (or restarts, same config) node `name` with `roles` ("solver", "verifier").
  void StartNode(const std::string& name, const std::string& roles, const std::string& extra = "");
  void Restart(const std::string& name);
  void Kill(const std::string& name, int signal);
  // SIGTERM; expects a clean exit 0.
  void Stop(const std::string& name);

  // A Fashion-MNIST MLP job file; `steps` long, with an evaluation set.
  std::string WriteJob(const std::string& file, uint64_t steps, uint64_t seed = 3);
  // `cairn job submit` as a user; returns the job id.
  Hash256 Submit(const std::string& job_file, uint64_t fee = 1000, uint64_t stake = 2000);
  // Polls the ledger host until `done(job)` or the timeout (then fails the test).
  ledger::Job WaitFor(const Hash256& id, const std::function<bool(const ledger::Job&)>& done, double seconds,
                      const std::string& what);
  ledger::Account AccountOf(const std::string& name);
  ledger::Account SubmitterAccount();
  std::string LogOf(const std::string& name);

  TempDir dir_;
  std::map<std::string, NodeProcess> nodes_;
  std::string host_endpoint_;
  std::unique_ptr<net::NodeQueries> host_;
  crypto::PublicKey submitter_;
  uint64_t challenge_window_blocks_ = 100;  // 20 s at 200 ms blocks.
  // Forced errors only in the tests about them: the others assert exact payouts.
  uint32_t forced_error_bps_ = 0;
  uint32_t audited_segments_ = 2;
  // Set in a derived fixture's constructor: more genesis [params] lines, and
  // more config of the ledger host (tables allowed, e.g. "[referee]\n...").
  std::string genesis_params_extra_;
  std::string host_extra_;
  uint64_t dispute_round_blocks_ = 0;      // Blocks per dispute round; 0 = the genesis default (60).
};

}  // namespace cairn::testing
