// The audit finds a hand-edited byte: a ledger is built with the crash
// workload, copied, and each test edits one byte of the copy in a different
// place (a state record, a stored block, a table file on disk). The real
// `cairn ledger audit` must then fail (exit 1) and say what is wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "crash_workload.h"
#include "store/rocksdb_store.h"
#include "support/process.h"

#ifndef CAIRN_BINARY
#error "CAIRN_BINARY must be the path of the cairn executable"
#endif

namespace cairn::ledger::crash {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kBlocks = 40;
constexpr size_t kTxsPerBlock = 16;
constexpr uint64_t kWorkloadSeed = 7;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

class AuditTamper : public ::testing::Test {
 protected:
  // One ledger for the whole suite; each test edits its own copy.
  static void SetUpTestSuite() {
    pristine_ = new cairn::testing::TempDir();
    parties_ = new Parties();
    Genesis genesis = CrashGenesis(*parties_);
    {
      auto kv = store::RocksDbStore::Open(pristine_->path() + "/ledger", LedgerColumnFamilies());
      ASSERT_TRUE(kv.ok()) << kv.status().ToString();
      auto ledger = Ledger::Open(kv->get(), &genesis, LedgerOptions{store::SyncPolicy::kNoSync, 0});
      ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
      Sequencer sequencer(ledger->get(), &parties_->sequencer());
      Workload workload(ledger->get(), parties_, kWorkloadSeed);
      Status s = RunBlocks(&sequencer, ledger->get(), &workload, kBlocks, kTxsPerBlock, nullptr);
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    // Reopening replays the write-ahead log into table files (.sst), so that
    // the data also lives in files the last test can damage.
    auto reopened = store::RocksDbStore::Open(pristine_->path() + "/ledger", LedgerColumnFamilies());
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  }

  static void TearDownTestSuite() {
    delete pristine_;
    delete parties_;
  }

  void SetUp() override {
    ASSERT_NE(pristine_, nullptr);
    dir_ = std::make_unique<cairn::testing::TempDir>();
    fs::copy(pristine_->path(), dir_->path(), fs::copy_options::recursive);
  }

  std::unique_ptr<store::RocksDbStore> OpenStore() {
    auto kv = store::RocksDbStore::Open(dir_->path() + "/ledger", LedgerColumnFamilies());
    EXPECT_TRUE(kv.ok()) << kv.status().ToString();
    return kv.ok() ? std::move(kv).value() : nullptr;
  }

  // Runs the real audit; `output` is what it printed, stdout then stderr.
  struct AuditResult {
    int exit_code = -1;
    std::string output;
  };
  AuditResult Audit() {
    cairn::testing::ProcessResult run =
        cairn::testing::RunProcess({CAIRN_BINARY, "ledger", "audit", "--data", dir_->path()});
    AuditResult audit{run.exit_code, run.out + run.err};
    std::printf("cairn ledger audit exited %d:\n%s", audit.exit_code, audit.output.c_str());
    return audit;
  }

  // Rewrites the value of `key` in `column_family` with byte `offset` flipped.
  void FlipStoredByte(const char* column_family, const std::string& key, size_t offset) {
    auto kv = OpenStore();
    ASSERT_NE(kv, nullptr);
    auto value = kv->Get(column_family, key);
    ASSERT_TRUE(value.ok()) << value.status().ToString();
    ASSERT_LT(offset, value->size());
    (*value)[offset] = static_cast<char>((*value)[offset] ^ 0x01);
    store::WriteBatch batch;
    batch.Put(column_family, key, *value);
    ASSERT_TRUE(kv->Write(batch, store::SyncPolicy::kSync).ok());
  }

  static cairn::testing::TempDir* pristine_;
  static Parties* parties_;
  std::unique_ptr<cairn::testing::TempDir> dir_;
};

cairn::testing::TempDir* AuditTamper::pristine_ = nullptr;
Parties* AuditTamper::parties_ = nullptr;

// Without this, the tests below could pass with an audit that always fails.
TEST_F(AuditTamper, UntouchedLedgerPasses) {
  AuditResult audit = Audit();
  EXPECT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_NE(audit.output.find("ledger audit OK: " + std::to_string(kBlocks) + " blocks"), std::string::npos)
      << audit.output;
}

TEST_F(AuditTamper, EditedAccountRecordIsNamed) {
  const AccountId& id = parties_->user(3).public_key();
  // Byte 8 is the lowest byte of the balance (docs/encoding.md).
  FlipStoredByte(kStateColumnFamily, PhysicalStateKey(AccountKey(id)), 8);
  AuditResult audit = Audit();
  EXPECT_EQ(audit.exit_code, 1) << audit.output;
  EXPECT_NE(audit.output.find("account " + id.ToHex().substr(0, 16)), std::string::npos) << audit.output;
}

TEST_F(AuditTamper, EditedJobRecordIsNamed) {
  std::string job_key;
  {
    auto kv = OpenStore();
    ASSERT_NE(kv, nullptr);
    ASSERT_TRUE(kv->Scan(kStateColumnFamily, "", [&](std::string_view key, std::string_view) {
                    if (key.substr(2, 2) != "j/") return true;
                    job_key = std::string(key);
                    return false;
                  }).ok());
  }
  ASSERT_FALSE(job_key.empty()) << "the workload posted no job";
  // Byte 64 is the lowest byte of the job's fee (after its id and submitter).
  FlipStoredByte(kStateColumnFamily, job_key, 64);
  AuditResult audit = Audit();
  EXPECT_EQ(audit.exit_code, 1) << audit.output;
  std::string job_hex = ToHex(ByteView(std::string_view(job_key).substr(4))).substr(0, 16);
  EXPECT_NE(audit.output.find("job " + job_hex), std::string::npos) << audit.output;
}

TEST_F(AuditTamper, EditedAmountInStoredBlockIsCaught) {
  uint64_t height = 0;
  size_t offset = 0;
  {
    auto kv = OpenStore();
    ASSERT_NE(kv, nullptr);
    for (uint64_t h = 1; h <= kBlocks && height == 0; ++h) {
      auto raw = kv->Get(kBlocksColumnFamily, store::EncodeKeyU64(h));
      ASSERT_TRUE(raw.ok()) << raw.status().ToString();
      auto block = DecodeBlock(ByteView(*raw));
      ASSERT_TRUE(block.ok()) << block.status().ToString();
      for (const SignedTx& tx : block->txs) {
        if (!std::holds_alternative<TransferOp>(tx.body.op)) continue;
        size_t at = raw->find(std::string(ByteView(EncodeTx(tx)).AsStringView()));
        ASSERT_NE(at, std::string::npos);
        // version, chain id (u32 length + bytes), sender, nonce, op tag, recipient; then the amount.
        size_t amount_offset = 1 + 4 + tx.body.chain_id.size() + 32 + 8 + 1 + 32;
        offset = at + amount_offset;
        height = h;
        break;
      }
    }
  }
  ASSERT_NE(height, 0u) << "the workload made no transfer";
  FlipStoredByte(kBlocksColumnFamily, store::EncodeKeyU64(height), offset);
  AuditResult audit = Audit();
  EXPECT_EQ(audit.exit_code, 1) << audit.output;
  EXPECT_NE(audit.output.find("block " + std::to_string(height)), std::string::npos) << audit.output;
}

TEST_F(AuditTamper, FlippedByteInTableFileIsCaught) {
  fs::path largest;
  uintmax_t largest_bytes = 0;
  for (const auto& entry : fs::directory_iterator(dir_->path() + "/ledger")) {
    if (entry.path().extension() == ".sst" && entry.file_size() > largest_bytes) {
      largest = entry.path();
      largest_bytes = entry.file_size();
    }
  }
  ASSERT_FALSE(largest.empty()) << "no table file in " << dir_->path() << "/ledger";
  {
    // Table files start with their data blocks; a third of the way in is data.
    std::fstream file(largest, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(file.is_open());
    auto at = static_cast<std::streamoff>(largest_bytes / 3);
    file.seekg(at);
    char byte = 0;
    file.get(byte);
    file.seekp(at);
    file.put(static_cast<char>(byte ^ 0xff));
    ASSERT_TRUE(file.good());
  }
  AuditResult audit = Audit();
  EXPECT_EQ(audit.exit_code, 1) << audit.output;
  EXPECT_NE(Lower(audit.output).find("corruption"), std::string::npos) << audit.output;
}

}  // namespace
}  // namespace cairn::ledger::crash
