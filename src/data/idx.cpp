// IDX files (the MNIST format, http://yann.lecun.com/exdb/mnist/): a
// big-endian header, magic 0x0000TTRR (TT = element type, RR = rank) followed
// by RR u32 dimensions, then the elements in row-major order. cairn reads u8
// images of rank 3 and u8 labels of rank 1; docs/datasets.md.

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "data/file_source.h"
#include "data/loaders.h"

namespace cairn::data::internal {
namespace {

constexpr uint32_t kIdxImagesMagic = 0x00000803;  // u8, rank 3: count, rows, columns.
constexpr uint32_t kIdxLabelsMagic = 0x00000801;  // u8, rank 1: count.
constexpr uint32_t kIdxTypeU8 = 0x08;
constexpr uint32_t kIdxRankMax = 255;  // The rank is one byte of the magic.
// Pixels decoded per read: large enough to amortise the calls, small enough
// to stay in cache.
constexpr size_t kPixelChunkBytes = size_t{1} << 20;

std::string Hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

const char* IdxKindName(uint32_t magic) {
  if (magic == kIdxImagesMagic) return "images";
  if (magic == kIdxLabelsMagic) return "labels";
  return "?";
}

// Reads `count` big-endian u32s; `what` says what they are for errors.
Result<std::vector<uint32_t>> ReadBigEndianWords(FileSource* source, size_t count, const std::string& what) {
  std::vector<uint8_t> bytes(count * 4);
  CAIRN_ASSIGN_OR_RETURN(size_t got, source->Read(bytes.data(), bytes.size()));
  if (got < bytes.size()) {
    return Corruption(source->path() + ": truncated: the file ends after " + std::to_string(source->position()) +
                      " bytes, inside the IDX header (" + what + ")");
  }
  std::vector<uint32_t> words(count);
  for (size_t i = 0; i < count; ++i) {
    words[i] = static_cast<uint32_t>(bytes[4 * i]) << 24 | static_cast<uint32_t>(bytes[4 * i + 1]) << 16 |
               static_cast<uint32_t>(bytes[4 * i + 2]) << 8 | static_cast<uint32_t>(bytes[4 * i + 3]);
  }
  return words;
}

// Reads the header of an IDX file that must have magic `expected_magic`, and
// returns its dimensions.
Result<std::vector<uint32_t>> ReadIdxHeader(FileSource* source, uint32_t expected_magic) {
  const std::string& path = source->path();
  CAIRN_ASSIGN_OR_RETURN(std::vector<uint32_t> magic_word, ReadBigEndianWords(source, 1, "magic number"));
  const uint32_t magic = magic_word[0];
  if (magic != expected_magic) {
    std::string expected = std::string("IDX ") + IdxKindName(expected_magic) + " (magic " + Hex32(expected_magic) + ")";
    if (magic == kIdxImagesMagic || magic == kIdxLabelsMagic) {
      return InvalidArgument(path + ": is an IDX " + IdxKindName(magic) + " file (magic " + Hex32(magic) +
                             "), expected " + expected + "; are the images and labels paths swapped?");
    }
    if ((magic >> 16) != 0) {
      return InvalidArgument(path + ": not an IDX file (magic " + Hex32(magic) + "), expected " + expected);
    }
    if (((magic >> 8) & 0xff) != kIdxTypeU8) {
      return InvalidArgument(path + ": IDX element type " + Hex32((magic >> 8) & 0xff) +
                             " is not supported, only unsigned bytes (0x08); expected " + expected);
    }
    return InvalidArgument(path + ": IDX rank " + std::to_string(magic & 0xff) + " (magic " + Hex32(magic) +
                           "), expected " + expected);
  }
  const uint32_t rank = magic & 0xff;
  CAIRN_ASSERT(rank <= kIdxRankMax);
  return ReadBigEndianWords(source, rank, "dimensions");
}

// Fails if anything follows the payload the header declared.
Status ExpectEnd(FileSource* source, uint64_t payload_bytes, const char* payload_name) {
  CAIRN_ASSIGN_OR_RETURN(uint64_t trailing, source->CountRemaining());
  if (trailing != 0) {
    return Corruption(source->path() + ": " + std::to_string(trailing) + " trailing bytes after the " +
                      std::to_string(payload_bytes) + " bytes of " + payload_name + " the IDX header declares");
  }
  return Status::Ok();
}

Status Truncated(const FileSource& source, const std::string& declared, uint64_t header_bytes, uint64_t payload_bytes,
                 uint64_t got) {
  return Corruption(source.path() + ": truncated: the IDX header declares " + declared + " (" +
                    std::to_string(payload_bytes) + " bytes after the " + std::to_string(header_bytes) +
                    "-byte header) but only " + std::to_string(got) + " follow");
}

// Decodes the images file into dataset->features and ->feature_shape.
Status LoadImages(const std::string& path, Dataset* dataset) {
  CAIRN_ASSIGN_OR_RETURN(FileSource source, FileSource::Open(path));
  CAIRN_ASSIGN_OR_RETURN(std::vector<uint32_t> dims, ReadIdxHeader(&source, kIdxImagesMagic));
  const uint64_t header_bytes = source.position();
  const uint64_t count = dims[0], rows = dims[1], columns = dims[2];
  if (count > kExamplesMax) {
    return ResourceExhausted(path + ": " + std::to_string(count) + " images, more than the limit of " +
                             std::to_string(kExamplesMax));
  }
  if (rows == 0 || columns == 0 || rows * columns > kFeaturesPerExampleMax) {
    return InvalidArgument(path + ": images of " + std::to_string(rows) + "x" + std::to_string(columns) +
                           " pixels; each side must be positive and the product at most " +
                           std::to_string(kFeaturesPerExampleMax));
  }
  const uint64_t payload_bytes = count * rows * columns;  // <= 5e7 * 1.7e7: no overflow.
  if (payload_bytes > kDatasetFileBytesMax - header_bytes) {
    return ResourceExhausted(path + ": " + std::to_string(payload_bytes) + " bytes of pixels, more than the limit of " +
                             std::to_string(kDatasetFileBytesMax));
  }

  // u8 -> float32 by table: x / 255.0f, correctly rounded, as torchvision's
  // ToTensor computes it.
  std::array<float, 256> scale;
  for (int x = 0; x < 256; ++x) scale[x] = static_cast<float>(x) / 255.0f;

  dataset->feature_shape = {1, static_cast<int64_t>(rows), static_cast<int64_t>(columns)};
  // Appended chunk by chunk (not resized first) so that the big array is
  // written once rather than zero-filled and then overwritten.
  // A truncated file can claim any size: reserve only what it can hold.
  dataset->features.reserve(std::min(payload_bytes, source.RemainingBytesBound()));
  std::vector<uint8_t> chunk(std::min<uint64_t>(kPixelChunkBytes, payload_bytes));
  std::vector<float> converted(chunk.size());
  uint64_t done = 0;
  while (done < payload_bytes) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size(), payload_bytes - done));
    CAIRN_ASSIGN_OR_RETURN(size_t got, source.Read(chunk.data(), want));
    for (size_t i = 0; i < got; ++i) converted[i] = scale[chunk[i]];
    dataset->features.insert(dataset->features.end(), converted.begin(),
                             converted.begin() + static_cast<ptrdiff_t>(got));
    done += got;
    if (got < want) {
      return Truncated(source,
                       std::to_string(count) + " images of " + std::to_string(rows) + "x" + std::to_string(columns),
                       header_bytes, payload_bytes, done);
    }
  }
  return ExpectEnd(&source, payload_bytes, "pixels");
}

// Decodes the labels file into dataset->labels.
Status LoadLabels(const std::string& path, Dataset* dataset) {
  CAIRN_ASSIGN_OR_RETURN(FileSource source, FileSource::Open(path));
  CAIRN_ASSIGN_OR_RETURN(std::vector<uint32_t> dims, ReadIdxHeader(&source, kIdxLabelsMagic));
  const uint64_t header_bytes = source.position();
  const uint64_t count = dims[0];
  if (count > kExamplesMax) {
    return ResourceExhausted(path + ": " + std::to_string(count) + " labels, more than the limit of " +
                             std::to_string(kExamplesMax));
  }
  std::vector<uint8_t> bytes(count);
  CAIRN_ASSIGN_OR_RETURN(size_t got, source.Read(bytes.data(), bytes.size()));
  if (got < count) return Truncated(source, std::to_string(count) + " labels", header_bytes, count, got);
  CAIRN_RETURN_IF_ERROR(ExpectEnd(&source, count, "labels"));
  // u8 labels are always below kClassesMax; FinishDataset checks it anyway.
  dataset->labels.assign(bytes.begin(), bytes.end());
  return Status::Ok();
}

}  // namespace

Result<Dataset> LoadIdx(const std::string& images_path, const std::string& labels_path) {
  if (images_path.empty() || labels_path.empty()) {
    return InvalidArgument("an IDX dataset needs both an images file and a labels file");
  }
  Dataset dataset;
  CAIRN_RETURN_IF_ERROR(LoadImages(images_path, &dataset));
  CAIRN_RETURN_IF_ERROR(LoadLabels(labels_path, &dataset));
  const size_t images = dataset.features.size() / dataset.FeaturesPerExample();
  if (images != dataset.labels.size()) {
    return InvalidArgument("images file " + images_path + " has " + std::to_string(images) +
                           " images but labels file " + labels_path + " has " + std::to_string(dataset.labels.size()) +
                           " labels");
  }
  CAIRN_RETURN_IF_ERROR(FinishDataset(images_path + " + " + labels_path, &dataset));
  return dataset;
}

}  // namespace cairn::data::internal
