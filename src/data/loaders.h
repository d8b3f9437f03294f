// Private to data/: one loader per DatasetFormat, and the checks they share.
#pragma once

#include <string>

#include "cairn/status.h"
#include "data/dataset.h"

namespace cairn::data::internal {

// IDX images + labels (idx.cpp).
Result<Dataset> LoadIdx(const std::string& images_path, const std::string& labels_path);

// CSV with a header row (csv.cpp).
Result<Dataset> LoadCsv(const std::string& path, const std::string& label_column);

// Completes a decoded dataset: checks the example count and that every label
// is in [0, kClassesMax), then sets num_classes and content_hash. `what` names
// the file(s) in error messages.
Status FinishDataset(const std::string& what, Dataset* dataset);

}  // namespace cairn::data::internal
