// Datasets for training jobs, decoded into memory without libtorch.
//
// Formats: IDX (MNIST / Fashion-MNIST; images + labels files) and CSV (a
// header row, numeric feature columns, one integer label column); either may
// be gzipped, which is detected from the file's first bytes.
// A dataset is identified by its content hash, computed over the DECODED
// dataset (shape, features, labels; docs/datasets.md), so the same data gives
// the same hash whether it arrives gzipped or not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cairn/bytes.h"
#include "cairn/status.h"

namespace cairn::data {

inline constexpr uint64_t kDatasetFileBytesMax = 4ull << 30;  // Decompressed.
inline constexpr uint32_t kExamplesMax = 50'000'000;
inline constexpr uint32_t kClassesMax = 100'000;
inline constexpr uint32_t kFeaturesPerExampleMax = 16'777'216;

enum class DatasetFormat : uint8_t { kIdx = 1, kCsv = 2 };

// Where a dataset's files are on this machine. Not part of any hash.
struct DatasetSource {
  DatasetFormat format = DatasetFormat::kIdx;
  std::string features_path;  // IDX images (idx3, u8) or the CSV file.
  std::string labels_path;    // IDX labels (idx1, u8); unused for CSV.
  std::string label_column;   // CSV: name of the label column in the header row.
};

// n examples of `feature_shape` float32 features with int64 class labels.
// IDX u8 pixels are scaled to [0, 1] as x / 255.0f (one correctly rounded
// float32 division, as torchvision's ToTensor does: identical everywhere).
struct Dataset {
  std::vector<int64_t> feature_shape;  // Per example: {1, rows, cols} for IDX, {columns} for CSV.
  std::vector<float> features;         // size() * FeaturesPerExample(), row-major.
  std::vector<int64_t> labels;         // size() entries, each in [0, num_classes).
  uint32_t num_classes = 0;            // max label + 1.
  Hash256 content_hash;

  size_t size() const { return labels.size(); }
  size_t FeaturesPerExample() const;
};

// Loads and validates. Errors name the file and what is wrong: a truncated
// file or trailing bytes, corrupt gzip data, a wrong magic number (e.g. images
// and labels swapped), counts that disagree between images and labels, a
// label out of range, a non-numeric CSV cell (with its line and column), no
// examples at all.
Result<Dataset> LoadDataset(const DatasetSource& source);

// The content hash of an already decoded dataset: TaggedHash("cairn/dataset/v1",
// u32 rank, i64 dims, u64 count, f32 features, i64 labels), all little-endian
// (docs/datasets.md). REQUIRES: every dim > 0, and features.size() ==
// labels.size() * the product of the dims.
Hash256 DatasetContentHash(const std::vector<int64_t>& feature_shape, const std::vector<float>& features,
                           const std::vector<int64_t>& labels);

}  // namespace cairn::data
