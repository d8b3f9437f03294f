// Runs a real program (normally the `cairn` binary) and captures what a user
// at a terminal would see: exit code, stdout and stderr.
#pragma once

#include <string>
#include <vector>

namespace cairn::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 if killed by a signal.
  std::string out;
  std::string err;
};

ProcessResult RunProcess(const std::vector<std::string>& argv);

// A fresh directory under $TMPDIR, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace cairn::testing
