// Formatting shared by the job parser and validator, so every message shows
// values the way the TOML file spells them. Internal to job/.
#pragma once

#include <string>
#include <string_view>

namespace cairn::job::internal {

// Shortest text that reads back as the same double ("0.1", "-0", "1e-08", "nan").
std::string FormatNumber(double value);

// A string value as TOML would write it: "\"adam\"" (quotes and backslashes escaped).
std::string Quote(std::string_view text);

}  // namespace cairn::job::internal
