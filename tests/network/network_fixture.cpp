#include "network_fixture.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "crypto/keys.h"

namespace cairn::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A port nobody listens on now (the ledger host keeps it across restarts).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

crypto::PublicKey NewKey(const std::string& path) {
  ProcessResult r = RunProcess({kCairn, "keys", "new", "--out", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return crypto::ReadKeyFile(path).value().public_key();
}

}  // namespace

void NetworkFixture::SetUp() {
  if (!std::filesystem::exists(kImages)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string keys = dir_.path() + "/keys";
  std::filesystem::create_directories(keys);
  crypto::PublicKey host = NewKey(keys + "/host.key");
  crypto::PublicKey referee = NewKey(keys + "/referee.key");
  submitter_ = NewKey(keys + "/submitter.key");
  WriteFile(dir_.path() + "/genesis.toml",
            "chain_id = \"cairn-e2e\"\nsequencer = \"" + host.ToHex() + "\"\nreferee = \"" + referee.ToHex() +
                "\"\njackpot = 100000\n[params]\nunbonding_delay_blocks = 10\nchallenge_window_blocks = " +
                std::to_string(challenge_window_blocks_) +
                (dispute_round_blocks_ ? "\ndispute_round_blocks = " + std::to_string(dispute_round_blocks_) : "") +
                "\nfaucet_amount_max = 1000000\nverifier_stake_min = 100\nforced_error_bps = " +
                std::to_string(forced_error_bps_) + "\naudited_segments = " + std::to_string(audited_segments_) + "\n" +
                genesis_params_extra_ +
                "[[allocations]]\naccount = \"" + submitter_.ToHex() + "\"\nbalance = 1000000\n");
  host_endpoint_ = "127.0.0.1:" + std::to_string(FreePort());
  NodeProcess& h = nodes_["host"];
  h.dir = dir_.path() + "/host";
  h.roles = "\"ledger-host\"";
  h.extra = "listen = \"" + host_endpoint_ + "\"\nreferee_key_file = \"" + keys + "/referee.key\"\n" + host_extra_;
  h.id = host;
  Restart("host");
  host_ = std::make_unique<net::NodeQueries>(host_endpoint_);
}

void NetworkFixture::TearDown() {
  for (auto& [name, node] : nodes_) {
    if (node.process.pid > 0) {
      kill(node.process.pid, SIGKILL);
      WaitProcess(node.process);
      node.process.pid = -1;
    }
  }
}

void NetworkFixture::StartNode(const std::string& name, const std::string& roles, const std::string& extra) {
  NodeProcess& n = nodes_[name];
  n.dir = dir_.path() + "/" + name;
  n.roles = roles;
  n.id = NewKey(dir_.path() + "/keys/" + name + ".key");
  n.extra = "listen = \"127.0.0.1:0\"\nledger_host = \"" + host_endpoint_ + "\"\n" + extra;
  Restart(name);
  // Funded, staked and announced.
  WaitFor(
      Hash256{}, [&](const ledger::Job&) {
        std::string endpoint;
        auto a = host_->GetAccount(n.id, &endpoint);
        return a.ok() && a->stake_free > 0 && !endpoint.empty();
      },
      30, name + " funding itself");
}

void NetworkFixture::Restart(const std::string& name) {
  NodeProcess& n = nodes_.at(name);
  std::filesystem::create_directories(n.dir);
  std::string roles = n.roles;
  bool host = name == "host";
  std::string funding = host ? "" : std::string("[devnet]\nfaucet = 100000\nstake = ") +
                                        (roles.find("solver") != std::string::npos ? "20000" : "5000") + "\n";
  // [devnet] must come after every top-level key.
  std::string extra = n.extra;
  std::string tables;
  if (size_t t = extra.find("\n["); t != std::string::npos) {
    tables = extra.substr(t + 1);
    extra = extra.substr(0, t + 1);
  }
  WriteFile(n.dir + "/node.toml", "roles = [" + (host ? std::string("\"ledger-host\"") : roles) + "]\nkey_file = \"" +
                                      dir_.path() + "/keys/" + name + ".key\"\ndata_dir = \"" + n.dir +
                                      "/data\"\ngenesis = \"" + dir_.path() + "/genesis.toml\"\nblock_interval_ms = 200\n" +
                                      extra + tables + funding);
  std::filesystem::remove(n.dir + "/data/node.addr");
  n.process = StartProcess({kCairn, "node", "--config", n.dir + "/node.toml"}, n.dir);
  for (int i = 0; i < 600; ++i) {
    std::string addr = ReadFile(n.dir + "/data/node.addr");
    if (!addr.empty() && addr.back() == '\n') {
      n.endpoint = addr.substr(0, addr.size() - 1);
      return;
    }
    int status = 0;
    if (waitpid(n.process.pid, &status, WNOHANG) == n.process.pid) {
      n.process.pid = -1;
      FAIL() << name << " exited during start-up:\n" << LogOf(name);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL() << name << " did not write node.addr within 30 s:\n" << LogOf(name);
}

void NetworkFixture::Kill(const std::string& name, int signal) {
  NodeProcess& n = nodes_.at(name);
  ASSERT_GT(n.process.pid, 0);
  kill(n.process.pid, signal);
  WaitProcess(n.process);
  n.process.pid = -1;
}

void NetworkFixture::Stop(const std::string& name) {
  NodeProcess& n = nodes_.at(name);
  ASSERT_GT(n.process.pid, 0);
  kill(n.process.pid, SIGTERM);
  ProcessResult r = WaitProcess(n.process);
  n.process.pid = -1;
  EXPECT_EQ(r.exit_code, 0) << name << " did not stop cleanly on SIGTERM:\n" << LogOf(name);
}

std::string NetworkFixture::WriteJob(const std::string& file, uint64_t steps, uint64_t seed) {
  std::string path = dir_.path() + "/" + file;
  WriteFile(path, "name = \"network e2e " + file + "\"\nbatch_size = 32\nsteps = " + std::to_string(steps) +
                      "\nseed = " + std::to_string(seed) + "\ncheckpoint_interval = " + std::to_string(steps / 10) +
                      "\n[model]\nkind = \"mlp\"\nhidden_sizes = [32]\n"
                      "[dataset]\nformat = \"idx\"\nimages = \"" + kImages + "\"\nlabels = \"" + kLabels + "\"\n"
                      "[optimizer]\nkind = \"sgd\"\nlearning_rate = 0.05\nmomentum = 0.9\n"
                      "[verification]\ntop_q = 1\nuniform = 2\n");
  return path;
}

Hash256 NetworkFixture::Submit(const std::string& job_file, uint64_t fee, uint64_t stake) {
  ProcessResult r = RunProcess({kCairn, "job", "submit", job_file, "--fee", std::to_string(fee), "--stake",
                                std::to_string(stake), "--node", host_endpoint_, "--key",
                                dir_.path() + "/keys/submitter.key"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  size_t at = r.out.find("posted job ");
  EXPECT_NE(at, std::string::npos) << r.out;
  if (at == std::string::npos) return Hash256{};
  return Hash256::FromHex(r.out.substr(at + 11, 64)).value();
}

ledger::Job NetworkFixture::WaitFor(const Hash256& id, const std::function<bool(const ledger::Job&)>& done,
                                    double seconds, const std::string& what) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  ledger::Job last;
  while (std::chrono::steady_clock::now() < deadline) {
    if (id.IsZero()) {
      if (done(last)) return last;
    } else if (auto job = host_->GetJob(id); job.ok()) {
      last = *job;
      if (done(last)) return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::string logs;
  for (const auto& [name, node] : nodes_) logs += "---- " + name + "\n" + LogOf(name);
  ADD_FAILURE() << "timed out after " << seconds << " s waiting for " << what << " (job is "
                << ledger::JobStatusName(last.status) << ")\n" << logs;
  return last;
}

ledger::Account NetworkFixture::AccountOf(const std::string& name) {
  return host_->GetAccount(nodes_.at(name).id).value();
}

ledger::Account NetworkFixture::SubmitterAccount() { return host_->GetAccount(submitter_).value(); }

std::string NetworkFixture::LogOf(const std::string& name) {
  const NodeProcess& n = nodes_.at(name);
  std::string log = ReadFile(n.process.err_path) + ReadFile(n.process.out_path);
  if (log.size() > 6000) log = "...\n" + log.substr(log.size() - 6000);
  return log;
}

}  // namespace cairn::testing
