// `cairn dispute open|answer` (dispute_play.cpp), added to `cairn dispute`.
#pragma once

#include "cli/app.h"

namespace cairn::cli {

void RegisterDisputePlayCommands(CLI::App* dispute, Command* command);

}  // namespace cairn::cli
