// Logging set-up. cairn logs through spdlog; this picks the level, the
// format and the sink once, at start-up, from the CLI or the config.
#pragma once

#include <string>

#include "cairn/status.h"

namespace cairn::util {

// level: trace, debug, info, warn, error, off. format: "text" (one line per
// record) or "json" (one JSON object per line: time, level, msg; for log
// shippers). Logs go to stderr so that a command's stdout stays
// machine-readable.
Status InitLogging(const std::string& level, const std::string& format = "text");

}  // namespace cairn::util
