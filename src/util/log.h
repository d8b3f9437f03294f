// Logging set-up. cairn logs through spdlog; this picks the level and the
// sink once, at start-up, from the CLI or the config.
#pragma once

#include <string>

#include "cairn/status.h"

namespace cairn::util {

// level: trace, debug, info, warn, error, off. Logs go to stderr so that a
// command's stdout stays machine-readable.
Status InitLogging(const std::string& level);

}  // namespace cairn::util
