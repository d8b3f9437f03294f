#include "support/process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cairn::testing {
namespace {
std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

BackgroundProcess StartProcess(const std::vector<std::string>& argv, const std::string& capture_dir) {
  static int counter = 0;
  BackgroundProcess p;
  p.out_path = capture_dir + "/out." + std::to_string(counter);
  p.err_path = capture_dir + "/err." + std::to_string(counter++);
  std::string out_path = p.out_path;
  std::string err_path = p.err_path;
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  p.pid = pid;
  return p;
}

ProcessResult WaitProcess(const BackgroundProcess& process) {
  int status = 0;
  ::waitpid(process.pid, &status, 0);
  ProcessResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = Slurp(process.out_path);
  r.err = Slurp(process.err_path);
  return r;
}

ProcessResult RunProcess(const std::vector<std::string>& argv) {
  TempDir capture;
  return WaitProcess(StartProcess(argv, capture.path()));
}

}  // namespace cairn::testing
