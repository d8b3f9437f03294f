// TempDir: a fresh directory under $TMPDIR for one test, removed with
// everything in it by the destructor. Shared by every test folder.
#pragma once

#include <string>
#include <string_view>

#include "cairn/bytes.h"

namespace cairn::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name.
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  std::string operator/(const std::string& name) const { return File(name); }
  // Writes `contents` to path()/name (creating parent directories) and returns the path.
  std::string Write(const std::string& name, ByteView contents) const;
  std::string Write(const std::string& name, std::string_view contents) const {
    return Write(name, ByteView(contents));
  }

 private:
  std::string path_;
};

}  // namespace cairn::testing
