// Helpers shared by the job tests: a job TOML assembled from editable
// sections, and a scratch directory.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "cairn/assert.h"
#include "cairn/bytes.h"
#include "support/temp_dir.h"

namespace cairn::job::testing {

// A job file as {section: {key: TOML value text}}; "" is the top level.
// Sections render in a fixed order, keys in map order.
class JobToml {
 public:
  // A valid mlp job; `images`/`labels` are the dataset paths.
  explicit JobToml(const std::string& images = "/data/images.idx", const std::string& labels = "/data/labels.idx") {
    sections_[""] = {
        {"name", "\"test job\""}, {"batch_size", "32"}, {"steps", "100"}, {"seed", "7"}, {"checkpoint_interval", "10"}};
    sections_["model"] = {{"kind", "\"mlp\""}, {"hidden_sizes", "[16]"}};
    sections_["dataset"] = {{"format", "\"idx\""}, {"images", Quoted(images)}, {"labels", Quoted(labels)}};
    sections_["optimizer"] = {{"kind", "\"sgd\""}, {"learning_rate", "0.1"}};
  }

  // Sets `key` in `section` (creating the section); value is TOML text.
  JobToml& Set(const std::string& section, const std::string& key, const std::string& value) {
    sections_[section][key] = value;
    return *this;
  }
  JobToml& Erase(const std::string& section, const std::string& key) {
    sections_[section].erase(key);
    return *this;
  }
  JobToml& EraseSection(const std::string& section) {
    sections_.erase(section);
    return *this;
  }

  std::string Text() const {
    static const std::vector<std::string> kOrder = {"",         "model",        "dataset", "optimizer",
                                                    "schedule", "verification", "profile", "evaluation"};
    std::string out;
    auto emit = [&](const std::string& section, const std::map<std::string, std::string>& keys) {
      if (!section.empty()) out += "\n[" + section + "]\n";
      for (const auto& [key, value] : keys) out += key + " = " + value + "\n";
    };
    for (const std::string& section : kOrder) {
      if (auto it = sections_.find(section); it != sections_.end()) emit(section, it->second);
    }
    // Sections a test made up go last.
    for (const auto& [section, keys] : sections_) {
      if (std::find(kOrder.begin(), kOrder.end(), section) == kOrder.end()) emit(section, keys);
    }
    return out;
  }

  static std::string Quoted(const std::string& text) { return "\"" + text + "\""; }

 private:
  std::map<std::string, std::map<std::string, std::string>> sections_;
};

using cairn::testing::TempDir;

}  // namespace cairn::job::testing
