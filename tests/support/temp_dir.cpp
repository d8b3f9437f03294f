#include "support/temp_dir.h"

#include <stdlib.h>

#include <filesystem>

#include "cairn/assert.h"
#include "util/file.h"

namespace cairn::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "cairn-test-XXXXXX").string();
  CAIRN_ASSERT(::mkdtemp(pattern.data()) != nullptr);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::Write(const std::string& name, ByteView contents) const {
  std::string path = File(name);
  CAIRN_ASSERT(util::MakeDirs(std::filesystem::path(path).parent_path().string()).ok());
  CAIRN_ASSERT(util::WriteFileAtomic(path, contents).ok());
  return path;
}

}  // namespace cairn::testing
