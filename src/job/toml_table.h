// Strict, typed reading of one TOML table of a job file. Internal to job/.
//
// Every message names the file and the dotted key ("job.toml:
// optimizer.momentum must be a number, got \"high\""); every key must be
// consumed by a reader or CheckNoOtherKeys refuses it, so a typo cannot fall
// back to a default. Ranges are ValidateJobSpec's business: the readers only
// check the TOML type and that the value fits the struct field.
//
// (config/ has a similar TableReader; job/ keeps its own so that it does not
// depend on config/, which depends on ledger/.)
#pragma once

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cairn/bytes.h"
#include "cairn/status.h"
#include "job/text.h"

namespace toml {
inline namespace v3 {
class table;
class node;
}  // namespace v3
}  // namespace toml

namespace cairn::job::internal {

enum class Presence { kRequired, kOptional };

// Keys that only some kinds of a table accept (`channels` only for a cnn), so
// that a key of another kind is refused with a precise reason.
struct KindKeys {
  std::string_view kind;  // TOML spelling of the kind: "cnn".
  std::vector<std::string_view> keys;
};

// Reads one table and remembers which keys were consumed. Does not own the
// table. Not thread-safe.
class TomlTable {
 public:
  // `file` names the source in messages; `prefix` is "" at the top level and
  // "model." inside [model].
  TomlTable(const toml::table* table, std::string file, std::string prefix);

  bool Has(std::string_view key) const;

  // Each reader marks `key` consumed. A missing optional key leaves *out
  // untouched, so the struct's default stands.
  Status String(std::string_view key, Presence presence, std::string* out);
  // A string naming a file; a relative path is resolved against base_dir
  // (unless base_dir is empty). Must not be empty.
  Status Path(std::string_view key, Presence presence, const std::string& base_dir, std::string* out);
  Status Unsigned(std::string_view key, Presence presence, uint64_t* out);
  Status Unsigned(std::string_view key, Presence presence, uint32_t* out);
  Status UnsignedList(std::string_view key, Presence presence, std::vector<uint32_t>* out);
  // A TOML float or integer.
  Status Number(std::string_view key, Presence presence, double* out);
  Status Bool(std::string_view key, Presence presence, bool* out);
  // 64 hex digits, not all zero (an omitted hash is computed instead).
  Status Hash(std::string_view key, Presence presence, Hash256* out);
  // A string that must be one of `options` (TOML spelling, value).
  template <typename E>
  Status Choice(std::string_view key, Presence presence, std::initializer_list<std::pair<std::string_view, E>> options,
                E* out);
  // A sub-table; *out = nullptr when it is optional and absent.
  Status Table(std::string_view key, Presence presence, const toml::table** out);

  // Refuses every key that no reader consumed. A key that `kinds` lists for
  // another kind than `chosen` is refused as not applying to
  // `<prefix><kind_key> = "<chosen>"`.
  Status CheckNoOtherKeys(const std::vector<KindKeys>& kinds = {}, std::string_view kind_key = {},
                          std::string_view chosen = {}) const;

  // "<prefix><key>", the dotted name used in messages.
  std::string Name(std::string_view key) const { return prefix_ + std::string(key); }
  // InvalidArgument("<file>: <prefix><key> <what>").
  Status Error(std::string_view key, const std::string& what) const;

 private:
  // Marks `key` consumed; returns the node or nullptr. A missing required key
  // sets *status.
  const toml::node* Get(std::string_view key, Presence presence, Status* status);

  const toml::table* table_;
  std::string file_;
  std::string prefix_;
  std::set<std::string, std::less<>> used_;
};

// A TOML value as a message shows it: "3", "0.5", "\"adam\"", "an array".
std::string DescribeNode(const toml::node& node);

template <typename E>
Status TomlTable::Choice(std::string_view key, Presence presence,
                         std::initializer_list<std::pair<std::string_view, E>> options, E* out) {
  if (!Has(key) && presence == Presence::kOptional) {
    used_.emplace(key);
    return Status::Ok();
  }
  std::string text;
  CAIRN_RETURN_IF_ERROR(String(key, presence, &text));
  for (const auto& [spelling, value] : options) {
    if (text == spelling) {
      *out = value;
      return Status::Ok();
    }
  }
  std::string expected;
  for (const auto& option : options) {
    if (!expected.empty()) expected += ", ";
    expected += Quote(option.first);
  }
  return Error(key, "must be one of " + expected + ", got " + Quote(text));
}

}  // namespace cairn::job::internal
