// A fresh directory under $TMPDIR for one test, removed with everything in it
// by the destructor.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "cairn/assert.h"

namespace cairn::store {

class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cairn-store-XXXXXX").string();
    CAIRN_ASSERT(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace cairn::store
