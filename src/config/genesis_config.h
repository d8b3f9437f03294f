// Genesis files (TOML). configs/genesis.toml documents every key.
#pragma once

#include <string>

#include "ledger/types.h"

namespace cairn::config {

Result<ledger::Genesis> ParseGenesisToml(const std::string& text, const std::string& source_name);
Result<ledger::Genesis> LoadGenesisFile(const std::string& path);
std::string GenesisToToml(const ledger::Genesis& genesis);

}  // namespace cairn::config
