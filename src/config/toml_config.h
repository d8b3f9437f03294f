// Typed, strict access to TOML config files: every error names the file and
// the key, and unknown keys are refused (a typo must not silently fall back
// to a default).
#pragma once

#include <set>
#include <string>

#include "cairn/status.h"

namespace toml {
inline namespace v3 {
class table;
}
}  // namespace toml

namespace cairn::config {

// Reads one table, remembering which keys were consumed.
class TableReader {
 public:
  // `where` prefixes messages: "genesis.toml" or "genesis.toml: params".
  TableReader(const toml::table* table, std::string where);

  Result<std::string> String(const std::string& key, const std::string* fallback = nullptr);
  Result<bool> Bool(const std::string& key, const bool* fallback = nullptr);
  // Non-negative integers only: amounts and counts.
  Result<uint64_t> Unsigned(const std::string& key, const uint64_t* fallback = nullptr, uint64_t max = UINT64_MAX);
  bool Has(const std::string& key) const;
  // Fails if the table holds keys nobody asked for.
  Status CheckNoUnknownKeys() const;
  const std::string& where() const { return where_; }
  const toml::table* table() const { return table_; }
  void MarkUsed(const std::string& key) { used_.insert(key); }

 private:
  const toml::table* table_;
  std::string where_;
  std::set<std::string> used_;
};

}  // namespace cairn::config
