// Writes the fuzzers' seed corpus: one valid, signed encoding of every
// transaction operation (and a few chain-id edge cases) under <dir>/tx, and
// blocks built from them under <dir>/block. Generated rather than checked in
// so that the seeds follow the wire format when it changes.
//
// Usage: make_seed_corpus <dir>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ledger/block.h"
#include "proof/certificate.h"
#include "proof/op_trace.h"
#include "proof/model_state.h"

namespace cairn::ledger {
namespace {

crypto::KeyPair Key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return crypto::KeyPair::FromSeed(seed);
}

Hash256 Filled(uint8_t n) {
  Hash256 h;
  h.bytes.fill(n);
  return h;
}

std::vector<Operation> EveryOperation(const AccountId& someone) {
  std::vector<Operation> ops = {
      TransferOp{someone, 250},
      FaucetOp{1000},
      StakeOp{5000},
      UnstakeOp{1},
      PostJobOp{Filled(1), 1000, 2000, 10, 20, Hash256{}},
      ClaimJobOp{Filled(1), Filled(2)},
      CommitCertificateOp{Filled(1), Filled(3), Filled(4), Filled(5), 3},
      VerdictOp{Filled(1), true, Filled(6)},
      VerdictOp{Filled(1), false, Filled(7)},
      RulingOp{Filled(1), true, 1, Filled(8), Filled(9), "aten::addmm"},
      DisputeOpenOp{Filled(1), Filled(7), 1, 8, 16, Filled(3), {Filled(4)}, Filled(5), {Filled(6)}, Filled(2)},
      PinpointMoveOp{Filled(1), 3, 5, Filled(2), 9, {Filled(3), Filled(4)}, Bytes{1, 2, 3}},
      SettleOp{Filled(1)},
  };
  return ops;
}

bool WriteFile(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

// Model files and checkpoints with every role and several dtypes, and a
// signed certificate, under <dir>/model, <dir>/checkpoint, <dir>/certificate.
bool WriteProofSeeds(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const char* sub : {"model", "checkpoint", "certificate"}) std::filesystem::create_directories(dir / sub, ec);
  if (ec) return false;
  std::vector<float> weights = {0.5f, -1.0f, 2.0f, 0.25f, 1e-3f, -7.0f};
  std::vector<int64_t> counter = {12};
  std::vector<uint16_t> half = {0x3c00, 0xbc00};
  auto view = [](const std::string& name, proof::TensorRole role, proof::DType dtype, std::vector<int64_t> dims,
                 const void* data, uint64_t numel) {
    proof::TensorView t;
    t.name = name;
    t.role = role;
    t.dtype = dtype;
    t.dims = std::move(dims);
    t.numel = numel;
    t.data = ByteView(static_cast<const uint8_t*>(data), numel * proof::DTypeBytes(dtype));
    return t;
  };
  std::vector<proof::TensorView> tensors = {
      view("fc.weight", proof::TensorRole::kParameter, proof::DType::kFloat32, {2, 3}, weights.data(), 6),
      view("backbone.bias", proof::TensorRole::kFrozenParameter, proof::DType::kFloat16, {2}, half.data(), 2),
      view("bn.num_batches_tracked", proof::TensorRole::kBuffer, proof::DType::kInt64, {}, counter.data(), 1),
  };
  Bytes model = proof::EncodeModelState(tensors);
  if (!WriteFile(dir / "model" / "three-tensors.bin", model)) return false;
  if (!WriteFile(dir / "model" / "empty.bin", proof::EncodeModelState({}))) return false;
  std::vector<float> momentum = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  Bytes ckpt = proof::EncodeCheckpoint(5, model, 1, 5, 1, {ByteView(reinterpret_cast<const uint8_t*>(momentum.data()), 24)});
  if (!WriteFile(dir / "checkpoint" / "sgd-momentum.bin", ckpt)) return false;
  if (!WriteFile(dir / "checkpoint" / "no-state.bin", proof::EncodeCheckpoint(0, model, 1, 0, 0, {}))) return false;

  proof::Certificate cert;
  cert.job_id = Filled(1);
  cert.total_steps = 10;
  cert.checkpoint_interval = 5;
  cert.environment.torch_version = "1.13.0";
  cert.checkpoint_hashes = {Filled(2), Filled(3), Filled(4)};
  cert.checkpoint_root = proof::CheckpointRoot(cert.checkpoint_hashes);
  cert.segments = {{0, 5, 1.5, 0.3, 0.7}, {5, 10, 1.1, 0.2, 0.4}};
  cert.final_model_hash = Filled(5);
  proof::SignCertificate(&cert, Key(4));
  return WriteFile(dir / "certificate" / "two-segments.bin", proof::EncodeCertificate(cert));
}

// An operator record, a step trace and an input blob under <dir>/op_trace,
// each behind the selector byte op_trace_decode_fuzz reads first.
bool WriteOpTraceSeeds(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir / "op_trace", ec);
  if (ec) return false;
  auto with = [](uint8_t selector, const Bytes& body) {
    Bytes out{selector};
    out.insert(out.end(), body.begin(), body.end());
    return out;
  };
  std::vector<float> a = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  proof::TensorData t;
  t.sizes = {2, 3};
  t.strides = {3, 1};
  t.values = ByteView(reinterpret_cast<const uint8_t*>(a.data()), a.size() * sizeof(float));
  proof::OpInputs in;
  in.op = "aten::add";
  in.overload = "Tensor";
  proof::OpValue tensor;
  tensor.kind = proof::ValueKind::kTensor;
  tensor.tensors = {t};
  proof::OpValue alpha;
  alpha.kind = proof::ValueKind::kDouble;
  alpha.real = 0.5;
  in.values = {tensor, tensor, alpha};
  auto blob = proof::EncodeOpInputs(in);
  if (!blob.ok()) return false;
  proof::OpRecord record;
  record.op = in.op;
  record.overload = in.overload;
  for (const proof::OpValue& v : in.values) record.inputs.push_back(proof::DescribeValue(v));
  record.outputs = {record.inputs[0]};
  proof::StepTrace trace;
  trace.step = 3;
  trace.state_before = Filled(1);
  trace.state_after = Filled(2);
  trace.step_inputs = {{"batch.features", record.inputs[0].tensors[0]}};
  trace.records = {record, record};
  return WriteFile(dir / "op_trace" / "record.bin", with(0, proof::EncodeOpRecord(record))) &&
         WriteFile(dir / "op_trace" / "trace.bin", with(1, proof::EncodeStepTrace(trace))) &&
         WriteFile(dir / "op_trace" / "inputs.bin", with(2, *blob));
}

int Run(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir / "tx", ec);
  std::filesystem::create_directories(dir / "block", ec);
  if (ec) {
    std::fprintf(stderr, "make_seed_corpus: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  crypto::KeyPair sender = Key(1);
  crypto::KeyPair sequencer = Key(2);
  std::vector<SignedTx> txs;
  uint64_t nonce = 1;
  for (const std::string& chain_id : {std::string("cairn-fuzz"), std::string(), std::string(kChainIdBytesMax, 'c')}) {
    for (const Operation& op : EveryOperation(Key(3).public_key())) {
      TxBody body{chain_id, sender.public_key(), nonce++, op};
      txs.push_back(SignTx(std::move(body), sender));
    }
  }
  for (size_t i = 0; i < txs.size(); ++i) {
    std::string name = std::to_string(i) + "-" + OperationName(txs[i].body.op) + ".bin";
    if (!WriteFile(dir / "tx" / name, EncodeTx(txs[i]))) return 1;
  }

  // Blocks of 0, 1, a few and all of the transactions above.
  std::vector<size_t> sizes = {0, 1, 4, txs.size()};
  for (size_t n : sizes) {
    Block block;
    block.txs.assign(txs.begin(), txs.begin() + static_cast<long>(n));
    block.header.chain_id = "cairn-fuzz";
    block.header.height = n + 1;
    block.header.prev_hash = Filled(9);
    block.header.time_ms = 1'700'000'000'000;
    block.header.tx_root = TxRoot(block.txs);
    block.header.tx_count = static_cast<uint32_t>(n);
    block.header.state_root = Filled(10);
    block.header.proposer = sequencer.public_key();
    Hash256 hash = BlockHash(block.header);
    block.signature = sequencer.Sign(ByteView(hash.bytes));
    if (!WriteFile(dir / "block" / ("txs-" + std::to_string(n) + ".bin"), EncodeBlock(block))) return 1;
  }
  if (!WriteProofSeeds(dir)) return 1;
  if (!WriteOpTraceSeeds(dir)) return 1;
  std::printf("make_seed_corpus: wrote %zu transactions, %zu blocks and proof artifacts under %s\n", txs.size(),
              sizes.size(), dir.c_str());
  return 0;
}

}  // namespace
}  // namespace cairn::ledger

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seed_corpus <dir>\n");
    return 2;
  }
  return cairn::ledger::Run(argv[1]);
}
