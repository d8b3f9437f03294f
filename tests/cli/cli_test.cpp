// The `cairn` binary as a user at a terminal meets it: help, version, key
// files, ledger init and audit, and usage errors with exit code 2.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/process.h"

namespace cairn::testing {
namespace {

const std::string kCairn = CAIRN_BINARY;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Cli, HelpListsTheCommands) {
  ProcessResult r = RunProcess({kCairn, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.out, "keys"));
  EXPECT_TRUE(Contains(r.out, "ledger"));
}

TEST(Cli, VersionPrintsTheVersion) {
  ProcessResult r = RunProcess({kCairn, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.out, "cairn 0."));
}

TEST(Cli, UsageErrorsExitWithTwoAndSayWhatWasWrong) {
  ProcessResult none = RunProcess({kCairn});
  EXPECT_EQ(none.exit_code, 2);
  ProcessResult missing = RunProcess({kCairn, "ledger", "audit"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(Contains(missing.err, "--data is required")) << missing.err;
  ProcessResult flag = RunProcess({kCairn, "keys", "new", "--out", "/tmp/x", "--bogus"});
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_TRUE(Contains(flag.err, "--bogus")) << flag.err;
  ProcessResult level = RunProcess({kCairn, "--log-level", "loud", "keys", "show", "/nonexistent"});
  EXPECT_EQ(level.exit_code, 2);
  EXPECT_TRUE(Contains(level.err, "unknown log level 'loud'")) << level.err;
}

TEST(Cli, KeysNewWritesAPrivateFileAndShowReadsIt) {
  TempDir dir;
  ProcessResult made = RunProcess({kCairn, "keys", "new", "--out", dir / "id.key"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  ASSERT_EQ(made.out.size(), 65u);  // 64 hex digits and a newline.
  struct stat st {};
  ASSERT_EQ(::stat((dir / "id.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ProcessResult shown = RunProcess({kCairn, "keys", "show", dir / "id.key"});
  EXPECT_EQ(shown.exit_code, 0);
  EXPECT_EQ(shown.out, made.out);
  // Never overwritten by accident.
  ProcessResult again = RunProcess({kCairn, "keys", "new", "--out", dir / "id.key"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_TRUE(Contains(again.err, "--force")) << again.err;
  EXPECT_EQ(RunProcess({kCairn, "keys", "show", dir / "id.key"}).out, made.out);
}

TEST(Cli, KeysShowRefusesAWorldReadableKey) {
  TempDir dir;
  ASSERT_EQ(RunProcess({kCairn, "keys", "new", "--out", dir / "id.key"}).exit_code, 0);
  ::chmod((dir / "id.key").c_str(), 0644);
  ProcessResult r = RunProcess({kCairn, "keys", "show", dir / "id.key"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "chmod 600")) << r.err;
}

TEST(Cli, LedgerInitFromTheExampleGenesisThenAuditPasses) {
  TempDir dir;
  const std::string genesis = std::string(CAIRN_SOURCE_DIR) + "/configs/genesis.toml";
  ProcessResult init = RunProcess({kCairn, "ledger", "init", "--genesis", genesis, "--data", dir.path()});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_TRUE(Contains(init.out, "height 0"));
  ProcessResult audit = RunProcess({kCairn, "ledger", "audit", "--data", dir.path()});
  EXPECT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_TRUE(Contains(audit.out, "ledger audit OK"));
  // Initialising again is harmless; with another genesis it is refused.
  EXPECT_EQ(RunProcess({kCairn, "ledger", "init", "--genesis", genesis, "--data", dir.path()}).exit_code, 0);
  FILE* f = std::fopen((dir / "other.toml").c_str(), "w");
  std::fputs("chain_id = \"other\"\nsequencer = \"1f1e7c0e5ba1b6a3c7e4b0b1d2f2f6a0e3f1b1c2d3e4f5a6b7c8d9e0f1a2b3c4\"\n"
             "referee = \"1f1e7c0e5ba1b6a3c7e4b0b1d2f2f6a0e3f1b1c2d3e4f5a6b7c8d9e0f1a2b3c4\"\n", f);
  std::fclose(f);
  ProcessResult other = RunProcess({kCairn, "ledger", "init", "--genesis", dir / "other.toml", "--data", dir.path()});
  EXPECT_NE(other.exit_code, 0);
  EXPECT_TRUE(Contains(other.err, "another data directory")) << other.err;
}

TEST(Cli, LedgerInitRefusesAMalformedGenesisNamingTheKey) {
  TempDir dir;
  FILE* f = std::fopen((dir / "genesis.toml").c_str(), "w");
  std::fputs("chain_id = \"x\"\nsequencer = \"zz\"\n", f);
  std::fclose(f);
  ProcessResult r = RunProcess({kCairn, "ledger", "init", "--genesis", dir / "genesis.toml", "--data", dir / "data"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "key 'sequencer'")) << r.err;
}

TEST(Cli, AuditOfAMissingDirectoryIsAnInputError) {
  ProcessResult r = RunProcess({kCairn, "ledger", "audit", "--data", "/nonexistent/cairn"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "/nonexistent/cairn")) << r.err;
}

}  // namespace
}  // namespace cairn::testing
