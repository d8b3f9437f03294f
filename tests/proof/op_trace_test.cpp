// Operator records, step traces and input blobs (proof/op_trace.h), torch-free.
#include "proof/op_trace.h"

#include <gtest/gtest.h>

#include <cstring>

#include "crypto/hash.h"
#include "proof/model_state.h"
#include "util/codec.h"

namespace cairn::proof {
namespace {

Bytes FloatBytes(const std::vector<float>& values) {
  Bytes out(values.size() * sizeof(float));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// A tensor of this layout holding `values` (row-major).
TensorData Tensor(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides, const Bytes& values,
                  uint8_t dtype = static_cast<uint8_t>(ScalarCode::kFloat32)) {
  TensorData t;
  t.dtype = dtype;
  t.sizes = sizes;
  t.strides = strides;
  t.values = ByteView(values);
  return t;
}

OpValue TensorValue(const TensorData& t) {
  OpValue v;
  v.kind = ValueKind::kTensor;
  v.tensors.push_back(t);
  return v;
}

OpValue IntValue(int64_t i) {
  OpValue v;
  v.kind = ValueKind::kInt;
  v.integer = i;
  return v;
}

// A blob with one of every kind of argument, and the record that describes it.
struct Fixture {
  Bytes matrix = FloatBytes({1, 2, 3, 4, 5, 6});
  Bytes flags = {1, 0, 1};
  Bytes generator = Bytes(64, 7);
  Bytes explicit_generator = Bytes(16, 3);
  OpInputs inputs;

  Fixture() {
    inputs.op = "aten::fake";
    inputs.overload = "everything";
    inputs.values.push_back(TensorValue(Tensor({2, 3}, {3, 1}, matrix)));
    inputs.values.push_back(TensorValue(Tensor({2, 3}, {1, 2}, matrix)));  // The same values, column-major.
    TensorData undefined;
    undefined.defined = false;
    inputs.values.push_back(TensorValue(undefined));
    OpValue list;
    list.kind = ValueKind::kOptionalTensorList;
    list.tensors = {undefined, Tensor({3}, {1}, flags, static_cast<uint8_t>(ScalarCode::kBool))};
    inputs.values.push_back(list);
    inputs.values.push_back(IntValue(-5));
    OpValue real;
    real.kind = ValueKind::kDouble;
    real.real = -0.0;
    inputs.values.push_back(real);
    OpValue none;
    inputs.values.push_back(none);
    OpValue ints;
    ints.kind = ValueKind::kIntList;
    ints.integers = {1, -1, 3};
    inputs.values.push_back(ints);
    OpValue text;
    text.kind = ValueKind::kString;
    text.text = "mean";
    inputs.values.push_back(text);
    OpValue device;
    device.kind = ValueKind::kDevice;
    device.device_type = 0;
    inputs.values.push_back(device);
    OpValue bools;
    bools.kind = ValueKind::kBoolList;
    bools.booleans = {true, false};
    inputs.values.push_back(bools);
    OpValue gen;
    gen.kind = ValueKind::kGenerator;
    gen.generator_state = ByteView(explicit_generator);
    inputs.values.push_back(gen);
    inputs.has_generator_state = true;
    inputs.generator_state = ByteView(generator);
  }

  OpRecord Record() const {
    OpRecord r;
    r.op = inputs.op;
    r.overload = inputs.overload;
    for (const OpValue& v : inputs.values) r.inputs.push_back(DescribeValue(v));
    r.generator_state = GeneratorStateHash(inputs.generator_state);
    r.outputs.push_back(DescribeValue(inputs.values[0]));
    return r;
  }
};

TEST(TensorContent, HashCoversTheValuesWhateverTheLayout) {
  Bytes values = FloatBytes({1, 2, 3, 4, 5, 6});
  const Hash256 a = TensorContentHash(Tensor({2, 3}, {3, 1}, values));
  EXPECT_EQ(a, crypto::TaggedHash("cairn/op-tensor/v1", values));
  EXPECT_EQ(TensorContentHash(Tensor({2, 3}, {1, 2}, values)), a);
  Bytes other = FloatBytes({1, 2, 3, 4, 5, 7});
  EXPECT_NE(TensorContentHash(Tensor({2, 3}, {3, 1}, other)), a);
}

TEST(TensorContent, ScatterPutsEveryValueWhereItsLayoutSays) {
  // [[1, 2, 3], [4, 5, 6]] seen column-major: memory is 1 4 2 5 3 6.
  Bytes values = FloatBytes({1, 2, 3, 4, 5, 6});
  EXPECT_EQ(ScatterToSpan(Tensor({2, 3}, {1, 2}, values)), FloatBytes({1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(ScatterToSpan(Tensor({2, 3}, {3, 1}, values)), values);
  // A row of a wider matrix: the gap is zero.
  EXPECT_EQ(ScatterToSpan(Tensor({2, 3}, {4, 1}, values)), FloatBytes({1, 2, 3, 0, 4, 5, 6}));
  // An expanded row (stride 0) occupies one row.
  Bytes repeated = FloatBytes({1, 2, 3, 1, 2, 3});
  EXPECT_EQ(ScatterToSpan(Tensor({2, 3}, {0, 1}, repeated)), FloatBytes({1, 2, 3}));
  // A 0-dim tensor and an empty one.
  Bytes one = FloatBytes({7});
  EXPECT_EQ(ScatterToSpan(Tensor({}, {}, one)), one);
  EXPECT_TRUE(ScatterToSpan(Tensor({0, 3}, {3, 1}, Bytes{})).empty());
  // Three dimensions, permuted.
  std::vector<float> cube(24);
  for (int i = 0; i < 24; ++i) cube[i] = static_cast<float>(i);
  // Memory laid out as [4][3][2] (strides 6, 2, 1), viewed as [2][3][4]: strides (1, 2, 6).
  Bytes memory = ScatterToSpan(Tensor({2, 3, 4}, {1, 2, 6}, FloatBytes(cube)));
  ASSERT_EQ(memory.size(), 24 * sizeof(float));
  float at_1_2_3 = 0;
  std::memcpy(&at_1_2_3, memory.data() + (1 * 1 + 2 * 2 + 3 * 6) * sizeof(float), sizeof(float));
  EXPECT_EQ(at_1_2_3, static_cast<float>(1 * 12 + 2 * 4 + 3));
}

TEST(TensorContent, SpanCoversExactlyTheReachedElements) {
  EXPECT_EQ(TensorSpan({2, 3}, {3, 1}, 100), 6u);
  EXPECT_EQ(TensorSpan({2, 3}, {1, 2}, 100), 6u);
  EXPECT_EQ(TensorSpan({2, 3}, {0, 1}, 100), 3u);
  EXPECT_EQ(TensorSpan({}, {}, 100), 1u);
  EXPECT_EQ(TensorSpan({0, 5}, {5, 1}, 100), 0u);
  EXPECT_EQ(TensorSpan({2, 3}, {3, 1}, 5), std::nullopt);
  EXPECT_EQ(TensorSpan({2}, {-1}, 100), std::nullopt);
  EXPECT_EQ(TensorSpan({-1}, {1}, 100), std::nullopt);
  EXPECT_EQ(TensorSpan({INT64_MAX, INT64_MAX}, {INT64_MAX, 1}, UINT64_MAX / 2), std::nullopt);
  EXPECT_EQ(ContiguousStrides({2, 3, 4}), (std::vector<int64_t>{12, 4, 1}));
  EXPECT_EQ(ContiguousStrides({2, 0, 4}), (std::vector<int64_t>{4, 4, 1}));
}

TEST(OpInputs, RoundTripsAndMatchesItsRecord) {
  Fixture f;
  auto blob = EncodeOpInputs(f.inputs);
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  auto decoded = DecodeOpInputs(*blob);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  auto again = EncodeOpInputs(*decoded);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *blob);
  const OpRecord record = f.Record();
  EXPECT_TRUE(CheckOpInputs(record, *decoded).ok()) << CheckOpInputs(record, *decoded).ToString();
  // The same values in another layout: the same content, another argument.
  EXPECT_EQ(record.inputs[0].tensors[0].content, record.inputs[1].tensors[0].content);
  EXPECT_NE(record.inputs[0], record.inputs[1]);
}

TEST(OpInputs, ABlobThatDiffersFromTheRecordIsRefused) {
  Fixture f;
  const OpRecord record = f.Record();
  // One bit of one tensor.
  {
    Fixture g;
    g.matrix[5] ^= 1;
    Status s = CheckOpInputs(record, g.inputs);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("argument 0"), std::string::npos) << s.message();
  }
  // A scalar.
  {
    Fixture g;
    g.inputs.values[4].integer = 5;
    EXPECT_NE(CheckOpInputs(record, g.inputs).message().find("argument 4"), std::string::npos);
  }
  // -0.0 is not 0.0.
  {
    Fixture g;
    g.inputs.values[5].real = 0.0;
    EXPECT_FALSE(CheckOpInputs(record, g.inputs).ok());
  }
  // The generator state.
  {
    Fixture g;
    g.generator[0] ^= 1;
    EXPECT_NE(CheckOpInputs(record, g.inputs).message().find("generator"), std::string::npos);
    g.inputs.has_generator_state = false;
    EXPECT_FALSE(CheckOpInputs(record, g.inputs).ok());
  }
  // Arity and operator.
  {
    Fixture g;
    g.inputs.values.pop_back();
    EXPECT_NE(CheckOpInputs(record, g.inputs).message().find("arguments"), std::string::npos);
    Fixture h;
    h.inputs.overload = "other";
    EXPECT_FALSE(CheckOpInputs(record, h.inputs).ok());
  }
  // Layout: the same values in another layout are another argument.
  {
    Fixture g;
    g.inputs.values[1] = g.inputs.values[0];
    EXPECT_FALSE(CheckOpInputs(record, g.inputs).ok());
  }
}

TEST(OpInputs, MalformedBlobsAreRefused) {
  Fixture f;
  const Bytes blob = EncodeOpInputs(f.inputs).value();
  for (size_t n = 0; n < blob.size(); ++n) {
    EXPECT_FALSE(DecodeOpInputs(ByteView(blob.data(), n)).ok()) << "prefix of " << n << " bytes";
  }
  Bytes trailing = blob;
  trailing.push_back(0);
  EXPECT_FALSE(DecodeOpInputs(trailing).ok());
  // A bool tensor holding 2.
  Fixture g;
  g.flags[1] = 2;
  auto bad_bool = EncodeOpInputs(g.inputs);
  ASSERT_TRUE(bad_bool.ok());
  EXPECT_FALSE(DecodeOpInputs(*bad_bool).ok());
  // Values that do not match the sizes cannot even be encoded.
  Fixture h;
  h.inputs.values[0].tensors[0].sizes = {3, 3};
  h.inputs.values[0].tensors[0].strides = {3, 1};
  EXPECT_FALSE(EncodeOpInputs(h.inputs).ok());
  // An opaque argument cannot be encoded.
  Fixture o;
  o.inputs.values[4].kind = ValueKind::kOpaque;
  o.inputs.values[4].text = "Object";
  EXPECT_FALSE(EncodeOpInputs(o.inputs).ok());
}

util::Writer BlobWithOneTensor(int64_t size, int64_t stride) {
  util::Writer w;
  w.Raw(ByteView(std::string_view("CAIRNOI1")));
  w.String("aten::add");
  w.String("Tensor");
  w.U32(1);
  w.U8(static_cast<uint8_t>(ValueKind::kTensor));
  w.Bool(true);
  w.Bool(false);
  w.U8(static_cast<uint8_t>(ScalarCode::kFloat32));
  w.U32(2);
  w.I64(size);
  w.I64(size);
  w.I64(stride);
  w.I64(1);
  return w;
}

TEST(OpInputs, HugeDeclaredTensorsAreRefusedBeforeAllocating) {
  // 2^62 elements claimed, 8 bytes present.
  util::Writer huge = BlobWithOneTensor(int64_t{1} << 31, int64_t{1} << 31);
  huge.U64(0);
  huge.Bool(false);
  auto decoded = DecodeOpInputs(huge.bytes());
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("larger than the bytes that remain"), std::string::npos)
      << decoded.status().message();
  // 4 elements present, but strides that would make a recompute allocate 2^42 bytes.
  util::Writer wide = BlobWithOneTensor(2, int64_t{1} << 40);
  wide.U64(0);
  wide.U64(0);
  wide.Bool(false);
  decoded = DecodeOpInputs(wide.bytes());
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("spanning more memory"), std::string::npos) << decoded.status().message();
  // The same with sane strides decodes.
  util::Writer fine = BlobWithOneTensor(2, 2);
  fine.U64(0);
  fine.U64(0);
  fine.Bool(false);
  EXPECT_TRUE(DecodeOpInputs(fine.bytes()).ok()) << DecodeOpInputs(fine.bytes()).status().ToString();
}

StepTrace SampleTrace(int records) {
  Fixture f;
  StepTrace trace;
  trace.step = 41;
  trace.state_before = crypto::TaggedHash("test", std::string_view("before"));
  trace.state_after = crypto::TaggedHash("test", std::string_view("after"));
  trace.step_inputs.push_back({"batch.features", f.Record().inputs[0].tensors[0]});
  for (int i = 0; i < records; ++i) {
    OpRecord r = f.Record();
    r.inputs[4] = DescribeValue(IntValue(i));
    if (i % 2) r.generator_state.reset();
    trace.records.push_back(r);
  }
  return trace;
}

TEST(StepTrace, RoundTripsAndRefusesEveryPrefix) {
  const StepTrace trace = SampleTrace(5);
  const Bytes bytes = EncodeStepTrace(trace);
  auto decoded = DecodeStepTrace(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(EncodeStepTrace(*decoded), bytes);
  EXPECT_EQ(decoded->records, trace.records);
  EXPECT_EQ(decoded->step_inputs, trace.step_inputs);
  for (size_t n = 0; n < bytes.size(); n += 7) EXPECT_FALSE(DecodeStepTrace(ByteView(bytes.data(), n)).ok());
  for (const OpRecord& r : trace.records) {
    auto one = DecodeOpRecord(EncodeOpRecord(r));
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(*one, r);
  }
}

TEST(StepTrace, ProvesEveryRecordAndNoOther) {
  for (int n : {1, 2, 3, 7, 8, 13}) {
    const StepTrace trace = SampleTrace(n);
    const Hash256 root = TraceRoot(trace);
    for (int j = 0; j < n; ++j) {
      auto proof = TraceProof(trace, j);
      EXPECT_TRUE(VerifyRecordProof(trace.records[j], j, n, proof, root)) << n << " " << j;
      if (n > 1) {
        EXPECT_FALSE(VerifyRecordProof(trace.records[(j + 1) % n], j, n, proof, root));
      }
      OpRecord changed = trace.records[j];
      changed.outputs[0].tensors[0].content.bytes[0] ^= 1;
      EXPECT_FALSE(VerifyRecordProof(changed, j, n, proof, root));
    }
  }
}

TEST(StepTrace, FirstDifferingRecord) {
  const StepTrace a = SampleTrace(6);
  StepTrace b = a;
  EXPECT_EQ(FirstDifferingRecord(a, b), std::nullopt);
  b.records[4].outputs[0].tensors[0].content.bytes[31] ^= 0x80;
  EXPECT_EQ(FirstDifferingRecord(a, b), 4u);
  EXPECT_NE(OutputHash(a.records[4]), OutputHash(b.records[4]));
  EXPECT_EQ(a.records[4].inputs, b.records[4].inputs);
  b = a;
  b.records.pop_back();
  EXPECT_EQ(FirstDifferingRecord(a, b), 5u);
}

TEST(StepTrace, CheckpointStepInputsDescribeEveryStateTensor) {
  Bytes weight = FloatBytes({1, 2, 3, 4, 5, 6});
  Bytes bias = FloatBytes({0.5f, -0.5f});
  Bytes counter(8, 0);
  counter[0] = 3;
  std::vector<TensorView> tensors = {
      {"fc.weight", TensorRole::kParameter, DType::kFloat32, {2, 3}, 6, ByteView(weight)},
      {"fc.bias", TensorRole::kParameter, DType::kFloat32, {2}, 2, ByteView(bias)},
      {"bn.count", TensorRole::kBuffer, DType::kInt64, {}, 1, ByteView(counter)},
  };
  Bytes model = EncodeModelState(tensors);
  Bytes momentum_w = FloatBytes({0, 0, 0, 0, 0, 1});
  Bytes momentum_b = FloatBytes({0, 2});
  Bytes checkpoint = EncodeCheckpoint(9, model, 1, 9, 1, {ByteView(momentum_w), ByteView(momentum_b)});
  auto inputs = CheckpointStepInputs(checkpoint);
  ASSERT_TRUE(inputs.ok()) << inputs.status().ToString();
  ASSERT_EQ(inputs->size(), 5u);
  EXPECT_EQ((*inputs)[0].name, "fc.weight");
  EXPECT_EQ((*inputs)[0].tensor.strides, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ((*inputs)[0].tensor.content, crypto::TaggedHash("cairn/op-tensor/v1", weight));
  EXPECT_EQ((*inputs)[2].tensor.dtype, static_cast<uint8_t>(ScalarCode::kInt64));
  EXPECT_TRUE((*inputs)[2].tensor.sizes.empty());
  EXPECT_EQ((*inputs)[3].name, "optimizer.fc.weight.0");
  EXPECT_EQ((*inputs)[4].name, "optimizer.fc.bias.0");
  EXPECT_EQ((*inputs)[4].tensor.content, crypto::TaggedHash("cairn/op-tensor/v1", momentum_b));
}

}  // namespace
}  // namespace cairn::proof
