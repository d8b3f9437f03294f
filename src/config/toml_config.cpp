#include "config/toml_config.h"

#include <toml++/toml.h>

namespace cairn::config {

TableReader::TableReader(const toml::table* table, std::string where) : table_(table), where_(std::move(where)) {}

bool TableReader::Has(const std::string& key) const { return table_->contains(key); }

Result<std::string> TableReader::String(const std::string& key, const std::string* fallback) {
  used_.insert(key);
  const toml::node* node = table_->get(key);
  if (node == nullptr) {
    if (fallback) return *fallback;
    return InvalidArgument(where_ + ": missing required key '" + key + "'");
  }
  auto value = node->value<std::string>();
  if (!value) return InvalidArgument(where_ + ": key '" + key + "' must be a string");
  return *value;
}

Result<bool> TableReader::Bool(const std::string& key, const bool* fallback) {
  used_.insert(key);
  const toml::node* node = table_->get(key);
  if (node == nullptr) {
    if (fallback) return *fallback;
    return InvalidArgument(where_ + ": missing required key '" + key + "'");
  }
  auto value = node->value<bool>();
  if (!value || !node->is_boolean()) return InvalidArgument(where_ + ": key '" + key + "' must be true or false");
  return *value;
}

Result<uint64_t> TableReader::Unsigned(const std::string& key, const uint64_t* fallback, uint64_t max) {
  used_.insert(key);
  const toml::node* node = table_->get(key);
  if (node == nullptr) {
    if (fallback) return *fallback;
    return InvalidArgument(where_ + ": missing required key '" + key + "'");
  }
  if (!node->is_integer()) return InvalidArgument(where_ + ": key '" + key + "' must be an integer");
  int64_t v = node->as_integer()->get();
  if (v < 0) return InvalidArgument(where_ + ": key '" + key + "' must not be negative");
  if (static_cast<uint64_t>(v) > max) {
    return InvalidArgument(where_ + ": key '" + key + "' must be at most " + std::to_string(max));
  }
  return static_cast<uint64_t>(v);
}

Status TableReader::CheckNoUnknownKeys() const {
  for (const auto& [key, node] : *table_) {
    std::string name(key.str());
    if (used_.count(name) == 0) {
      return InvalidArgument(where_ + ": unknown key '" + name + "' (see configs/ for every supported key)");
    }
  }
  return Status::Ok();
}

}  // namespace cairn::config
