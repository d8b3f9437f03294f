// IDX and CSV loading with their error messages, the content hash, and the
// real Fashion-MNIST files when the dataset package is installed
// (data/dataset.h, docs/datasets.md).

#include "data/dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cairn/bytes.h"
#include "support/temp_dir.h"
#include "crypto/hash.h"
#include "util/codec.h"
#include "util/file.h"

namespace cairn::data {
namespace {

using ::testing::HasSubstr;

using cairn::testing::TempDir;

void AppendBigEndian(uint32_t v, Bytes* out) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
}

// An IDX images file: count images of rows x columns, pixel k = (7k + 3) mod 256.
Bytes IdxImages(uint32_t count, uint32_t rows, uint32_t columns) {
  Bytes out;
  AppendBigEndian(0x00000803, &out);
  AppendBigEndian(count, &out);
  AppendBigEndian(rows, &out);
  AppendBigEndian(columns, &out);
  for (uint64_t k = 0; k < uint64_t{count} * rows * columns; ++k) out.push_back(static_cast<uint8_t>(7 * k + 3));
  return out;
}

Bytes IdxLabels(const std::vector<uint8_t>& labels) {
  Bytes out;
  AppendBigEndian(0x00000801, &out);
  AppendBigEndian(static_cast<uint32_t>(labels.size()), &out);
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

// One gzip member holding `data` (zlib's deflate with the gzip wrapper).
Bytes Gzip(ByteView data) {
  z_stream stream{};
  CAIRN_ASSERT(deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  Bytes out(deflateBound(&stream, static_cast<uLong>(data.size)));
  stream.next_in = const_cast<uint8_t*>(data.data);
  stream.avail_in = static_cast<uInt>(data.size);
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  CAIRN_ASSERT(deflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

DatasetSource Idx(const std::string& images, const std::string& labels) {
  DatasetSource source;
  source.format = DatasetFormat::kIdx;
  source.features_path = images;
  source.labels_path = labels;
  return source;
}

DatasetSource Csv(const std::string& path, const std::string& label_column = "label") {
  DatasetSource source;
  source.format = DatasetFormat::kCsv;
  source.features_path = path;
  source.label_column = label_column;
  return source;
}

const std::vector<uint8_t> kLabels = {0, 4, 2};

// The error of a load that must fail.
std::string LoadError(const DatasetSource& source) {
  Result<Dataset> loaded = LoadDataset(source);
  EXPECT_FALSE(loaded.ok()) << "loaded " << source.features_path << " without error";
  return loaded.ok() ? std::string() : loaded.status().message();
}

TEST(IdxDataset, LoadsRawFiles) {
  TempDir dir;
  Result<Dataset> loaded =
      LoadDataset(Idx(dir.Write("images", IdxImages(3, 2, 5)), dir.Write("labels", IdxLabels(kLabels))));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Dataset& d = *loaded;
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d.feature_shape, (std::vector<int64_t>{1, 2, 5}));
  EXPECT_EQ(d.FeaturesPerExample(), 10u);
  ASSERT_EQ(d.features.size(), 30u);
  for (size_t k = 0; k < d.features.size(); ++k) {
    EXPECT_EQ(d.features[k], static_cast<float>(static_cast<uint8_t>(7 * k + 3)) / 255.0f) << "pixel " << k;
  }
  EXPECT_EQ(d.labels, (std::vector<int64_t>{0, 4, 2}));
  EXPECT_EQ(d.num_classes, 5u);
  EXPECT_EQ(d.content_hash, DatasetContentHash(d.feature_shape, d.features, d.labels));
}

TEST(IdxDataset, ScalesPixelsIntoTheUnitInterval) {
  TempDir dir;
  Bytes images = IdxImages(1, 1, 3);
  images[16] = 0;
  images[17] = 128;
  images[18] = 255;
  Result<Dataset> loaded = LoadDataset(Idx(dir.Write("images", images), dir.Write("labels", IdxLabels({1}))));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->features, (std::vector<float>{0.0f, 128.0f / 255.0f, 1.0f}));
  EXPECT_EQ(loaded->num_classes, 2u);
}

TEST(IdxDataset, LoadsGzippedFilesWithTheSameContentHash) {
  TempDir dir;
  const Bytes images = IdxImages(3, 4, 4), labels = IdxLabels(kLabels);
  Result<Dataset> raw = LoadDataset(Idx(dir.Write("images", images), dir.Write("labels", labels)));
  Result<Dataset> gz = LoadDataset(Idx(dir.Write("images.gz", Gzip(images)), dir.Write("labels.gz", Gzip(labels))));
  // Mixed is fine too: each file is detected on its own.
  Result<Dataset> mixed = LoadDataset(Idx(dir.Write("images2.gz", Gzip(images)), dir.Write("labels2", labels)));
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  ASSERT_TRUE(gz.ok()) << gz.status().ToString();
  ASSERT_TRUE(mixed.ok()) << mixed.status().ToString();
  EXPECT_EQ(gz->features, raw->features);
  EXPECT_EQ(gz->labels, raw->labels);
  EXPECT_EQ(gz->content_hash, raw->content_hash);
  EXPECT_EQ(mixed->content_hash, raw->content_hash);
}

TEST(IdxDataset, LoadsGzipFilesOfSeveralMembers) {
  // `cat a.gz b.gz` is a valid gzip file of the concatenation (RFC 1952).
  TempDir dir;
  const Bytes images = IdxImages(5, 3, 3);
  const size_t cut = 40;
  Bytes two = Gzip(ByteView(images.data(), cut));
  Bytes rest = Gzip(ByteView(images.data() + cut, images.size() - cut));
  two.insert(two.end(), rest.begin(), rest.end());
  const std::string labels = dir.Write("labels", IdxLabels({1, 1, 1, 1, 1}));
  Result<Dataset> split = LoadDataset(Idx(dir.Write("images.gz", two), labels));
  Result<Dataset> whole = LoadDataset(Idx(dir.Write("images", images), labels));
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(split->content_hash, whole->content_hash);
}

TEST(IdxDataset, RejectsTruncatedFilesNamingThem) {
  TempDir dir;
  const std::string labels = dir.Write("labels", IdxLabels(kLabels));
  Bytes images = IdxImages(3, 2, 5);
  images.resize(images.size() - 1);
  for (const std::string& path : {dir.Write("short-images", images), dir.Write("short-images.gz", Gzip(images))}) {
    std::string error = LoadError(Idx(path, labels));
    EXPECT_THAT(error, HasSubstr(path));
    EXPECT_THAT(error, HasSubstr("truncated"));
    EXPECT_THAT(error, HasSubstr("3 images of 2x5"));
  }
  // Truncated inside the header, and an empty file.
  for (size_t size : {0, 3, 10}) {
    const std::string path = dir.Write("header-" + std::to_string(size), ByteView(images.data(), size));
    std::string error = LoadError(Idx(path, labels));
    EXPECT_THAT(error, HasSubstr(path));
    EXPECT_THAT(error, HasSubstr("truncated"));
  }
  Bytes short_labels = IdxLabels(kLabels);
  short_labels.pop_back();
  const std::string path = dir.Write("short-labels", short_labels);
  std::string error = LoadError(Idx(dir.Write("images", IdxImages(3, 2, 5)), path));
  EXPECT_THAT(error, HasSubstr(path + ": truncated"));
}

TEST(IdxDataset, RejectsHeadersClaimingMoreThanTheFileOrTheLimits) {
  TempDir dir;
  const std::string labels = dir.Write("labels", IdxLabels(kLabels));
  // 4,000,000 images of 28x28 is 3.1 GB: within the limits, but the file is
  // 46 bytes. The loader must say so without first allocating 12.5 GB.
  Bytes claims = IdxImages(3, 2, 5);
  claims[4] = 0x00, claims[5] = 0x3d, claims[6] = 0x09, claims[7] = 0x00;  // 4,000,000.
  claims[11] = 28, claims[15] = 28;
  for (const std::string& path : {dir.Write("claims", claims), dir.Write("claims.gz", Gzip(claims))}) {
    std::string error = LoadError(Idx(path, labels));
    EXPECT_THAT(error, HasSubstr(path + ": truncated: the IDX header declares 4000000 images of 28x28"));
  }
  Bytes too_many = IdxImages(3, 2, 5);
  too_many[4] = 0x7f;  // 2^30 and more images.
  const std::string path = dir.Write("too-many", too_many);
  Result<Dataset> loaded = LoadDataset(Idx(path, labels));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(loaded.status().message(), HasSubstr(path + ": "));
  EXPECT_THAT(loaded.status().message(), HasSubstr("more than the limit of 50000000"));
}

TEST(IdxDataset, RejectsTrailingBytesNamingTheFile) {
  TempDir dir;
  const std::string labels = dir.Write("labels", IdxLabels(kLabels));
  Bytes images = IdxImages(3, 2, 5);
  images.push_back(0);
  images.push_back(0);
  for (const std::string& path : {dir.Write("long-images", images), dir.Write("long-images.gz", Gzip(images))}) {
    std::string error = LoadError(Idx(path, labels));
    EXPECT_THAT(error, HasSubstr(path));
    EXPECT_THAT(error, HasSubstr("2 trailing bytes"));
  }
  // Garbage after the gzip stream itself (not a gzip member).
  Bytes gz = Gzip(IdxImages(3, 2, 5));
  gz.push_back('x');
  const std::string path = dir.Write("garbage.gz", gz);
  EXPECT_THAT(LoadError(Idx(path, labels)), HasSubstr(path + ": 1 bytes after the end of the gzip data"));
}

TEST(IdxDataset, RejectsSwappedImagesAndLabels) {
  TempDir dir;
  const std::string images = dir.Write("images.gz", Gzip(IdxImages(3, 2, 5)));
  const std::string labels = dir.Write("labels.gz", Gzip(IdxLabels(kLabels)));
  std::string error = LoadError(Idx(labels, images));
  EXPECT_THAT(error, HasSubstr(labels + ": is an IDX labels file (magic 0x00000801)"));
  EXPECT_THAT(error, HasSubstr("swapped"));
}

TEST(IdxDataset, RejectsFilesThatAreNotUnsignedByteIdx) {
  TempDir dir;
  const std::string labels = dir.Write("labels", IdxLabels(kLabels));
  const std::string text = dir.Write("text", ByteView(std::string_view("hello, world\n")));
  EXPECT_THAT(LoadError(Idx(text, labels)), HasSubstr(text + ": not an IDX file (magic 0x68656c6c)"));
  Bytes floats = IdxImages(3, 2, 5);
  floats[2] = 0x0d;  // IDX float32 elements.
  const std::string path = dir.Write("floats", floats);
  EXPECT_THAT(LoadError(Idx(path, labels)), HasSubstr(path + ": IDX element type 0x0000000d is not supported"));
  Bytes rank2 = IdxImages(3, 2, 5);
  rank2[3] = 0x02;
  const std::string rank2_path = dir.Write("rank2", rank2);
  EXPECT_THAT(LoadError(Idx(rank2_path, labels)), HasSubstr(rank2_path + ": IDX rank 2"));
}

TEST(IdxDataset, RejectsImageAndLabelCountsThatDiffer) {
  TempDir dir;
  const std::string images = dir.Write("images", IdxImages(3, 2, 5));
  const std::string labels = dir.Write("labels", IdxLabels({1, 2}));
  std::string error = LoadError(Idx(images, labels));
  EXPECT_THAT(error, HasSubstr(images + " has 3 images"));
  EXPECT_THAT(error, HasSubstr(labels + " has 2 labels"));
}

TEST(IdxDataset, RejectsCorruptGzipData) {
  TempDir dir;
  const std::string labels = dir.Write("labels", IdxLabels(kLabels));
  const Bytes gz = Gzip(IdxImages(3, 20, 20));
  Bytes flipped = gz;
  flipped[flipped.size() / 2] ^= 0x55;
  const std::string flipped_path = dir.Write("flipped.gz", flipped);
  std::string error = LoadError(Idx(flipped_path, labels));
  EXPECT_THAT(error, HasSubstr(flipped_path + ": "));
  // The CRC-32 trailer is checked even though the payload is complete.
  Bytes bad_crc = gz;
  bad_crc[bad_crc.size() - 8] ^= 1;
  const std::string bad_crc_path = dir.Write("bad-crc.gz", bad_crc);
  EXPECT_THAT(LoadError(Idx(bad_crc_path, labels)), HasSubstr(bad_crc_path + ": the gzip data is corrupt"));
  // Compressed bytes cut short.
  Bytes cut(gz.begin(), gz.end() - 6);
  const std::string cut_path = dir.Write("cut.gz", cut);
  EXPECT_THAT(LoadError(Idx(cut_path, labels)), HasSubstr(cut_path + ": the gzip data is truncated"));
}

TEST(IdxDataset, RejectsMissingFilesAndEmptyDatasets) {
  TempDir dir;
  const std::string labels = dir.Write("labels", IdxLabels(kLabels));
  Result<Dataset> missing = LoadDataset(Idx("/nonexistent/images", labels));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/images"));
  EXPECT_THAT(LoadError(Idx(dir.Write("images", IdxImages(0, 2, 2)), dir.Write("none", IdxLabels({})))),
              HasSubstr("no examples"));
  EXPECT_THAT(LoadError(Idx(dir.Write("images0", IdxImages(1, 0, 2)), labels)), HasSubstr("0x2 pixels"));
  EXPECT_THAT(LoadError(Idx(labels, "")), HasSubstr("needs both"));
}

TEST(DatasetContentHash, IsTaggedHashOfTheCanonicalEncoding) {
  const std::vector<int64_t> shape = {1, 2, 3};
  std::vector<float> features(12);
  for (size_t i = 0; i < features.size(); ++i) features[i] = static_cast<float>(i) / 7.0f - 0.5f;
  const std::vector<int64_t> labels = {3, 99999};
  util::Writer w;
  w.U32(3);
  for (int64_t dim : shape) w.I64(dim);
  w.U64(2);
  for (float f : features) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof(bits));
    w.U32(bits);
  }
  for (int64_t label : labels) w.I64(label);
  EXPECT_EQ(DatasetContentHash(shape, features, labels), crypto::TaggedHash("cairn/dataset/v1", w.bytes()));
}

TEST(DatasetContentHash, CoversShapeFeatureBitsAndLabels) {
  const std::vector<float> features = {0.0f, 0.25f, 0.5f, 1.0f};
  const Hash256 base = DatasetContentHash({4}, features, {1});
  EXPECT_NE(base, DatasetContentHash({2, 2}, features, {1}));
  EXPECT_NE(base, DatasetContentHash({1, 4}, features, {1}));
  EXPECT_NE(base, DatasetContentHash({2}, features, {1, 1}));
  EXPECT_NE(base, DatasetContentHash({4}, features, {0}));
  // Equal as floats, different as bits: the hash is over bit patterns.
  EXPECT_NE(base, DatasetContentHash({4}, {-0.0f, 0.25f, 0.5f, 1.0f}, {1}));
}

TEST(DatasetContentHash, MatchesThePinnedVectorOfDocsDatasets) {
  // docs/datasets.md: shape {2}, features {0.5, -1}, labels {1}.
  EXPECT_EQ(DatasetContentHash({2}, {0.5f, -1.0f}, {1}).ToHex(),
            "7cd98ad5ad5ddf4b4813dfc64686a15fc5e46eb0bd17206751caf28397ce3a42");
}

TEST(CsvDataset, LoadsFeaturesAndLabels) {
  TempDir dir;
  const std::string path = dir.Write("data.csv", ByteView(std::string_view("a,label,b\n1.5,2,-3\n0,0,1e-3\n")));
  Result<Dataset> loaded = LoadDataset(Csv(path));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->feature_shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(loaded->features, (std::vector<float>{1.5f, -3.0f, 0.0f, 0.001f}));
  EXPECT_EQ(loaded->labels, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(loaded->num_classes, 3u);
  EXPECT_EQ(loaded->content_hash, DatasetContentHash({2}, loaded->features, loaded->labels));
}

TEST(CsvDataset, AcceptsCrlfTrailingBlankLinesAndGzip) {
  TempDir dir;
  const std::string_view plain = "x,y,label\n0.5,1,1\n2,3,0\n";
  Result<Dataset> reference = LoadDataset(Csv(dir.Write("plain.csv", ByteView(plain))));
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  for (std::string_view text :
       {std::string_view("x,y,label\r\n0.5,1,1\r\n2,3,0\r\n"), std::string_view("x,y,label\n0.5,1,1\n2,3,0"),
        std::string_view("x,y,label\n0.5,1,1\n2,3,0\n\n\n")}) {
    Result<Dataset> loaded = LoadDataset(Csv(dir.Write("variant.csv", ByteView(text))));
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded->content_hash, reference->content_hash) << text;
  }
  Result<Dataset> gz = LoadDataset(Csv(dir.Write("data.csv.gz", Gzip(ByteView(plain)))));
  ASSERT_TRUE(gz.ok()) << gz.status().ToString();
  EXPECT_EQ(gz->content_hash, reference->content_hash);
}

TEST(CsvDataset, RejectsANonNumericCellWithItsLineAndColumn) {
  TempDir dir;
  const std::string path = dir.Write("bad.csv", ByteView(std::string_view("x,label,z\n1,0,2\n3,1,abc\n")));
  EXPECT_EQ(LoadError(Csv(path)), path + ": line 3, column 3 ('z'): 'abc' is not a number");
}

TEST(CsvDataset, ParsesNumbersStrictly) {
  TempDir dir;
  const std::string_view kBadFeatures[] = {" 1", "1 ", "+1", "", "0x10", "1,5", "nan", "inf", "-inf", "1e999", "\"1\""};
  for (std::string_view cell : kBadFeatures) {
    const std::string text = "f,label,g\n1,0," + std::string(cell) + "\n";
    const std::string path = dir.Write("strict.csv", ByteView(std::string_view(text)));
    std::string error = LoadError(Csv(path));
    EXPECT_THAT(error, HasSubstr(path + ": line 2")) << "cell '" << cell << "'";
  }
  const std::string_view kBadLabels[] = {"-1", "1.5", "100000", "99999999999999999999", "one", ""};
  for (std::string_view label : kBadLabels) {
    const std::string text = "f,label\n1," + std::string(label) + "\n";
    const std::string path = dir.Write("labels.csv", ByteView(std::string_view(text)));
    EXPECT_THAT(LoadError(Csv(path)), HasSubstr(path + ": line 2, column 2 ('label'): ")) << "label '" << label << "'";
  }
  const std::string ok = dir.Write("ok.csv", ByteView(std::string_view("f,label\n-1.25e-2,99999\n")));
  Result<Dataset> loaded = LoadDataset(Csv(ok));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->features, (std::vector<float>{-0.0125f}));
  EXPECT_EQ(loaded->num_classes, 100000u);
}

TEST(CsvDataset, RejectsMalformedTables) {
  TempDir dir;
  struct Case {
    const char* text;
    const char* error;
  };
  const Case kCases[] = {
      {"a,label\n1,0\n2\n", "line 3 has 1 cells, the header row has 2"},
      {"a,label\n1,0\n2,1,3\n", "line 3 has more cells than the 2 of the header row"},
      {"a,label\n1,0\n\n2,1\n", "line 3 is empty"},
      {"a,b\n1,0\n", "no column named 'label'"},
      {"a,label,a\n1,0,2\n", "duplicate column name 'a'"},
      {"a,,label\n1,0,2\n", "line 1, column 2: empty column name"},
      {"label\n1\n", "no feature columns"},
      {"a,label\n", "no examples"},
      {"", "line 1 is empty"},
      {"\na,label\n1,0\n", "line 1 is empty"},
  };
  for (const Case& c : kCases) {
    const std::string path = dir.Write("table.csv", ByteView(std::string_view(c.text)));
    std::string error = LoadError(Csv(path));
    EXPECT_THAT(error, HasSubstr(path));
    EXPECT_THAT(error, HasSubstr(c.error)) << c.text;
  }
  EXPECT_THAT(LoadError(Csv(dir.Write("x.csv", ByteView(std::string_view("a,label\n1,0\n"))), "")),
              HasSubstr("needs label_column"));
}

// The real Fashion-MNIST (Debian package dataset-fashion-mnist).
constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

void ExpectFashionMnist(const std::string& prefix, size_t examples, const std::string& content_hash_hex) {
  const std::string dir = kFashionMnistDir;
  const auto start = std::chrono::steady_clock::now();
  Result<Dataset> loaded =
      LoadDataset(Idx(dir + "/" + prefix + "-images-idx3-ubyte.gz", dir + "/" + prefix + "-labels-idx1-ubyte.gz"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::printf("fashion-mnist %s: %zu examples, content hash %s, loaded in %.3f s\n", prefix.c_str(), loaded->size(),
              loaded->content_hash.ToHex().c_str(), seconds);
  EXPECT_EQ(loaded->size(), examples);
  EXPECT_EQ(loaded->feature_shape, (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(loaded->num_classes, 10u);
  // Fashion-MNIST is balanced: exactly a tenth of each split per class.
  std::vector<size_t> per_class(10, 0);
  for (int64_t label : loaded->labels) ++per_class[static_cast<size_t>(label)];
  for (size_t c = 0; c < 10; ++c) EXPECT_EQ(per_class[c], examples / 10) << "class " << c;
  EXPECT_EQ(loaded->content_hash.ToHex(), content_hash_hex);
}

TEST(FashionMnist, LoadsTheTrainingSet) {
  if (!util::FileExists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << kFashionMnistDir << " not found: install the dataset-fashion-mnist package (scripts/install-deps)";
  }
  ExpectFashionMnist("train", 60000, "b896bbb3fa8e2057678c60d12b11ca6d20e09a9f496a1718e61b1fe6305e4660");
}

TEST(FashionMnist, LoadsTheTestSet) {
  if (!util::FileExists(std::string(kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << kFashionMnistDir << " not found: install the dataset-fashion-mnist package (scripts/install-deps)";
  }
  ExpectFashionMnist("t10k", 10000, "a29e8acd9ed6c2f2ec2f29d714897accc5556f6be6ee216656636d55c3e7dd52");
}

}  // namespace
}  // namespace cairn::data
