#include "job/toml_table.h"

#include <toml++/toml.h>

#include <filesystem>
#include <limits>

namespace cairn::job::internal {
namespace {

constexpr size_t kDescribedStringBytesMax = 64;  // Longer values are cut in messages.
constexpr size_t kListItemsMax = 1024;           // Far above any list a job has.

}  // namespace

std::string DescribeNode(const toml::node& node) {
  if (const auto* s = node.as_string()) {
    const std::string& text = s->get();
    if (text.size() > kDescribedStringBytesMax) return Quote(text.substr(0, kDescribedStringBytesMax)) + "...";
    return Quote(text);
  }
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* f = node.as_floating_point()) return FormatNumber(f->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (node.is_array()) return "an array";
  if (node.is_table()) return "a table";
  return "a date or time";
}

TomlTable::TomlTable(const toml::table* table, std::string file, std::string prefix)
    : table_(table), file_(std::move(file)), prefix_(std::move(prefix)) {
  CAIRN_ASSERT(table_ != nullptr);
}

bool TomlTable::Has(std::string_view key) const { return table_->contains(key); }

Status TomlTable::Error(std::string_view key, const std::string& what) const {
  return InvalidArgument(file_ + ": " + Name(key) + " " + what);
}

const toml::node* TomlTable::Get(std::string_view key, Presence presence, Status* status) {
  used_.emplace(key);
  const toml::node* node = table_->get(key);
  if (node == nullptr && presence == Presence::kRequired) {
    *status = InvalidArgument(file_ + ": missing required key " + Name(key));
  }
  return node;
}

Status TomlTable::String(std::string_view key, Presence presence, std::string* out) {
  Status status;
  const toml::node* node = Get(key, presence, &status);
  if (node == nullptr) return status;
  const auto* value = node->as_string();
  if (value == nullptr) return Error(key, "must be a string, got " + DescribeNode(*node));
  *out = value->get();
  return Status::Ok();
}

Status TomlTable::Path(std::string_view key, Presence presence, const std::string& base_dir, std::string* out) {
  std::string text;
  bool present = Has(key);
  CAIRN_RETURN_IF_ERROR(String(key, presence, &text));
  if (!present) return Status::Ok();
  if (text.empty()) return Error(key, "must name a file, got \"\"");
  std::filesystem::path path(text);
  if (path.is_relative() && !base_dir.empty()) path = (std::filesystem::path(base_dir) / path).lexically_normal();
  *out = path.string();
  return Status::Ok();
}

Status TomlTable::Unsigned(std::string_view key, Presence presence, uint64_t* out) {
  Status status;
  const toml::node* node = Get(key, presence, &status);
  if (node == nullptr) return status;
  const auto* value = node->as_integer();
  if (value == nullptr) return Error(key, "must be an integer, got " + DescribeNode(*node));
  if (value->get() < 0) return Error(key, "must be a non-negative integer, got " + DescribeNode(*node));
  *out = static_cast<uint64_t>(value->get());
  return Status::Ok();
}

Status TomlTable::Unsigned(std::string_view key, Presence presence, uint32_t* out) {
  uint64_t wide = *out;
  CAIRN_RETURN_IF_ERROR(Unsigned(key, presence, &wide));
  if (wide > std::numeric_limits<uint32_t>::max()) {
    return Error(key, "must be at most " + std::to_string(std::numeric_limits<uint32_t>::max()) + ", got " +
                          std::to_string(wide));
  }
  *out = static_cast<uint32_t>(wide);
  return Status::Ok();
}

Status TomlTable::UnsignedList(std::string_view key, Presence presence, std::vector<uint32_t>* out) {
  Status status;
  const toml::node* node = Get(key, presence, &status);
  if (node == nullptr) return status;
  const auto* array = node->as_array();
  if (array == nullptr) return Error(key, "must be an array of integers like [128, 64], got " + DescribeNode(*node));
  if (array->size() > kListItemsMax) {
    return Error(key, "has " + std::to_string(array->size()) + " entries; at most " + std::to_string(kListItemsMax));
  }
  std::vector<uint32_t> values;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& item = *array->get(i);
    std::string item_key = std::string(key) + "[" + std::to_string(i) + "]";
    const auto* value = item.as_integer();
    if (value == nullptr) return Error(item_key, "must be an integer, got " + DescribeNode(item));
    if (value->get() < 0 || value->get() > std::numeric_limits<uint32_t>::max()) {
      return Error(item_key, "must be an integer in 0.." + std::to_string(std::numeric_limits<uint32_t>::max()) +
                                 ", got " + DescribeNode(item));
    }
    values.push_back(static_cast<uint32_t>(value->get()));
  }
  *out = std::move(values);
  return Status::Ok();
}

Status TomlTable::Number(std::string_view key, Presence presence, double* out) {
  Status status;
  const toml::node* node = Get(key, presence, &status);
  if (node == nullptr) return status;
  if (const auto* f = node->as_floating_point()) {
    *out = f->get();
    return Status::Ok();
  }
  if (const auto* i = node->as_integer()) {
    // Integers are accepted where a number is expected (learning_rate = 1),
    // but only those a double holds exactly, so the text means one value.
    constexpr int64_t kExactIntegerMax = int64_t{1} << 53;
    if (i->get() > kExactIntegerMax || i->get() < -kExactIntegerMax) {
      return Error(
          key, "must be a number with magnitude at most 2^53 when written as an integer, got " + DescribeNode(*node));
    }
    *out = static_cast<double>(i->get());
    return Status::Ok();
  }
  return Error(key, "must be a number, got " + DescribeNode(*node));
}

Status TomlTable::Bool(std::string_view key, Presence presence, bool* out) {
  Status status;
  const toml::node* node = Get(key, presence, &status);
  if (node == nullptr) return status;
  const auto* value = node->as_boolean();
  if (value == nullptr) return Error(key, "must be true or false, got " + DescribeNode(*node));
  *out = value->get();
  return Status::Ok();
}

Status TomlTable::Hash(std::string_view key, Presence presence, Hash256* out) {
  std::string text;
  bool present = Has(key);
  CAIRN_RETURN_IF_ERROR(String(key, presence, &text));
  if (!present) return Status::Ok();
  auto parsed = Hash256::FromHex(text);
  if (!parsed.ok()) {
    return Error(key, "must be 64 hex digits (a BLAKE2b-256 hash), got " + DescribeNode(*table_->get(key)));
  }
  if (parsed->IsZero()) return Error(key, "must not be all zeros; omit the key to have the hash computed");
  *out = *parsed;
  return Status::Ok();
}

Status TomlTable::Table(std::string_view key, Presence presence, const toml::table** out) {
  Status status;
  *out = nullptr;
  const toml::node* node = Get(key, presence, &status);
  if (node == nullptr) {
    if (!status.ok()) return InvalidArgument(file_ + ": missing required table [" + Name(key) + "]");
    return Status::Ok();
  }
  *out = node->as_table();
  if (*out == nullptr) return Error(key, "must be a table ([" + Name(key) + "]), got " + DescribeNode(*node));
  return Status::Ok();
}

Status TomlTable::CheckNoOtherKeys(const std::vector<KindKeys>& kinds, std::string_view kind_key,
                                   std::string_view chosen) const {
  for (const auto& [toml_key, node] : *table_) {
    std::string_view key = toml_key.str();
    if (used_.count(key) != 0) continue;
    std::string owners;
    for (const KindKeys& kind : kinds) {
      if (kind.kind == chosen) continue;
      for (std::string_view owned : kind.keys) {
        if (owned != key) continue;
        if (!owners.empty()) owners += ", ";
        owners += std::string(kind.kind);
      }
    }
    if (!owners.empty()) {
      return Error(key, "does not apply to " + Name(kind_key) + " = " + Quote(chosen) + " (only to " + owners + ")");
    }
    return InvalidArgument(file_ + ": unknown key " + Name(key) + " (configs/jobs/README.md lists every key)");
  }
  return Status::Ok();
}

}  // namespace cairn::job::internal
