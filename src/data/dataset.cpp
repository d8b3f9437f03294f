#include "data/dataset.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string_view>

#include "crypto/hash.h"
#include "data/loaders.h"
#include "util/codec.h"

namespace cairn::data {
namespace {

// Domain tag of the dataset content hash (docs/datasets.md, docs/encoding.md).
constexpr std::string_view kContentHashDomain = "cairn/dataset/v1";
// Values converted per Hasher::Update on a big-endian host.
constexpr size_t kHashChunkValues = 16384;

static_assert(std::numeric_limits<float>::is_iec559, "features are hashed as IEEE-754 binary32");
static_assert(sizeof(float) == 4 && sizeof(int64_t) == 8);

// Feeds `values` to the hasher as fixed-width little-endian integers of the
// same size (floats by bit pattern). On a little-endian host the vector's
// memory already is that encoding and is hashed in place, without a copy.
template <typename Word, typename T>
void HashLittleEndian(const std::vector<T>& values, crypto::Hasher* hasher) {
  static_assert(sizeof(Word) == sizeof(T));
  if constexpr (std::endian::native == std::endian::little) {
    hasher->Update(ByteView(reinterpret_cast<const uint8_t*>(values.data()), values.size() * sizeof(T)));
  } else {
    std::vector<uint8_t> chunk(kHashChunkValues * sizeof(T));
    for (size_t begin = 0; begin < values.size(); begin += kHashChunkValues) {
      size_t count = std::min(kHashChunkValues, values.size() - begin);
      for (size_t i = 0; i < count; ++i) {
        Word word;
        std::memcpy(&word, &values[begin + i], sizeof(word));
        for (size_t b = 0; b < sizeof(Word); ++b) chunk[i * sizeof(Word) + b] = static_cast<uint8_t>(word >> (8 * b));
      }
      hasher->Update(ByteView(chunk.data(), count * sizeof(T)));
    }
  }
}

uint64_t ShapeProduct(const std::vector<int64_t>& shape) {
  uint64_t product = 1;
  for (int64_t dim : shape) {
    CAIRN_ASSERT(dim > 0 && static_cast<uint64_t>(dim) <= kFeaturesPerExampleMax);
    product *= static_cast<uint64_t>(dim);
    CAIRN_ASSERT(product <= kFeaturesPerExampleMax);
  }
  return product;
}

}  // namespace

size_t Dataset::FeaturesPerExample() const { return static_cast<size_t>(ShapeProduct(feature_shape)); }

Result<Dataset> LoadDataset(const DatasetSource& source) {
  switch (source.format) {
    case DatasetFormat::kIdx:
      return internal::LoadIdx(source.features_path, source.labels_path);
    case DatasetFormat::kCsv:
      return internal::LoadCsv(source.features_path, source.label_column);
  }
  return InvalidArgument("unknown dataset format " + std::to_string(static_cast<int>(source.format)));
}

Hash256 DatasetContentHash(const std::vector<int64_t>& feature_shape, const std::vector<float>& features,
                           const std::vector<int64_t>& labels) {
  // REQUIRES (programmer error otherwise): features holds labels.size() examples.
  const uint64_t features_per_example = ShapeProduct(feature_shape);
  CAIRN_ASSERT(features.size() / features_per_example == labels.size() && features.size() % features_per_example == 0);

  util::Writer header;
  header.U32(static_cast<uint32_t>(feature_shape.size()));
  for (int64_t dim : feature_shape) header.I64(dim);
  header.U64(labels.size());

  // TaggedHash(kContentHashDomain, header || features || labels), streamed so
  // that a 200 MB dataset is not copied into one encoding buffer first.
  crypto::Hasher hasher;
  const uint8_t tag_length = static_cast<uint8_t>(kContentHashDomain.size());
  hasher.Update(ByteView(&tag_length, 1));
  hasher.Update(ByteView(kContentHashDomain));
  hasher.Update(header.bytes());
  HashLittleEndian<uint32_t>(features, &hasher);
  HashLittleEndian<uint64_t>(labels, &hasher);
  return hasher.Finish();
}

namespace internal {

Status FinishDataset(const std::string& what, Dataset* dataset) {
  if (dataset->labels.empty()) return InvalidArgument(what + ": the dataset has no examples");
  if (dataset->labels.size() > kExamplesMax) {
    return ResourceExhausted(what + ": " + std::to_string(dataset->labels.size()) +
                             " examples, more than the limit of " + std::to_string(kExamplesMax));
  }
  CAIRN_ASSERT(dataset->features.size() == dataset->labels.size() * dataset->FeaturesPerExample());
  int64_t label_max = 0;
  for (size_t i = 0; i < dataset->labels.size(); ++i) {
    int64_t label = dataset->labels[i];
    if (label < 0 || label >= static_cast<int64_t>(kClassesMax)) {
      return InvalidArgument(what + ": example " + std::to_string(i) + " has label " + std::to_string(label) +
                             ", outside [0, " + std::to_string(kClassesMax) + ")");
    }
    label_max = std::max(label_max, label);
  }
  dataset->num_classes = static_cast<uint32_t>(label_max + 1);
  dataset->content_hash = DatasetContentHash(dataset->feature_shape, dataset->features, dataset->labels);
  return Status::Ok();
}

}  // namespace internal
}  // namespace cairn::data
