// The store tests' scratch directory: the shared TempDir.
#pragma once

#include "support/temp_dir.h"

namespace cairn::store {
using ScratchDir = cairn::testing::TempDir;
}  // namespace cairn::store
