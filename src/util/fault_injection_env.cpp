#include "util/fault_injection_env.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

namespace cairn::util {

// An inode. Directory entries share nodes, so a file renamed elsewhere is
// the same node under a new name, as on a real file system.
struct FaultInjectionEnv::Node {
  bool is_dir = false;
  Bytes data;                                                    // Files: what reads see now.
  Bytes durable_data;                                            // Files: the bytes as of the last Sync.
  std::map<std::string, std::shared_ptr<Node>> entries;          // Directories: names now.
  std::map<std::string, std::shared_ptr<Node>> durable_entries;  // As of the last SyncDir.
};

namespace {

using Node = FaultInjectionEnv::Node;

struct Location {
  std::shared_ptr<Node> parent;  // Null when the parent directory does not exist.
  std::string name;              // Empty for "/".
  std::shared_ptr<Node> node;    // Null when nothing is at the path.
};

// Components of an absolute path ("/a/./b//c/" -> {a, b, c}); ".." is resolved lexically.
Result<std::vector<std::string>> Components(const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return InvalidArgument("FaultInjectionEnv needs absolute paths, not '" + path + "'");
  }
  std::vector<std::string> out;
  for (const auto& part : std::filesystem::path(path).lexically_normal().relative_path()) {
    std::string name = part.string();
    if (name.empty() || name == ".") continue;
    if (name == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(std::move(name));
  }
  return out;
}

Result<Location> Locate(const std::shared_ptr<Node>& root, const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> parts, Components(path));
  Location at;
  if (parts.empty()) {
    at.node = root;
    return at;
  }
  std::shared_ptr<Node> dir = root;
  for (size_t i = 0; i + 1 < parts.size() && dir != nullptr; ++i) {
    auto it = dir->entries.find(parts[i]);
    dir = (it != dir->entries.end() && it->second->is_dir) ? it->second : nullptr;
  }
  at.parent = dir;
  at.name = parts.back();
  if (dir != nullptr) {
    auto it = dir->entries.find(at.name);
    if (it != dir->entries.end()) at.node = it->second;
  }
  return at;
}

void Revert(const std::shared_ptr<Node>& dir, std::set<const Node*>* seen) {
  if (!seen->insert(dir.get()).second) return;
  dir->entries = dir->durable_entries;
  for (const auto& [name, node] : dir->entries) {
    if (node->is_dir) {
      Revert(node, seen);
    } else {
      node->data = node->durable_data;
    }
  }
}

void CollectFiles(const Node& dir, const std::string& prefix, std::vector<std::string>* out) {
  for (const auto& [name, node] : dir.entries) {
    std::string path = prefix + "/" + name;
    if (node->is_dir) {
      CollectFiles(*node, path, out);
    } else {
      out->push_back(path);
    }
  }
}

Status NoSuchDirectory(const std::string& what, const std::string& path) {
  return IoError(what + " " + path + ": No such file or directory");
}

}  // namespace

const char* FileOpName(FileOp op) {
  switch (op) {
    case FileOp::kCreateFile:
      return "create";
    case FileOp::kAppend:
      return "write";
    case FileOp::kSyncFile:
      return "fsync";
    case FileOp::kCloseFile:
      return "close";
    case FileOp::kRename:
      return "rename";
    case FileOp::kRemove:
      return "remove";
    case FileOp::kCreateDir:
      return "create directory";
    case FileOp::kSyncDir:
      return "fsync directory";
    case FileOp::kRead:
      return "read";
  }
  return "?";
}

bool IsMutating(FileOp op) { return op != FileOp::kRead && op != FileOp::kCloseFile; }

// A handle on one node. Operations lock the env; a handle from before a power
// loss is dead. One thread at a time, like any WritableFile.
class FaultInjectionEnv::File final : public WritableFile {
 public:
  File(FaultInjectionEnv* env, std::shared_ptr<Node> node, std::string path, uint64_t generation)
      : env_(env), node_(std::move(node)), path_(std::move(path)), generation_(generation) {}

  Status Append(ByteView data) override {
    {
      std::lock_guard<std::mutex> lock(env_->mu_);
      CAIRN_RETURN_IF_ERROR(Check(FileOp::kAppend));
      node_->data.insert(node_->data.end(), data.data, data.data + data.size);
    }
    env_->Notify(FileOp::kAppend, path_);
    return Status::Ok();
  }

  Status Sync() override {
    {
      std::lock_guard<std::mutex> lock(env_->mu_);
      CAIRN_RETURN_IF_ERROR(Check(FileOp::kSyncFile));
      node_->durable_data = node_->data;
    }
    env_->Notify(FileOp::kSyncFile, path_);
    return Status::Ok();
  }

  Status Close() override {
    {
      std::lock_guard<std::mutex> lock(env_->mu_);
      CAIRN_RETURN_IF_ERROR(Check(FileOp::kCloseFile));
      closed_ = true;
    }
    env_->Notify(FileOp::kCloseFile, path_);
    return Status::Ok();
  }

 private:
  // REQUIRES: env_->mu_ held.
  Status Check(FileOp op) {
    CAIRN_ASSERT(!closed_);
    if (generation_ != env_->generation_) {
      return IoError("cannot " + std::string(FileOpName(op)) + " " + path_ + ": opened before a power loss");
    }
    return env_->Admit(op, path_);
  }

  FaultInjectionEnv* env_;
  std::shared_ptr<Node> node_;
  std::string path_;
  uint64_t generation_;
  bool closed_ = false;
};

// A lock held in the env's memory; one from before a power loss is gone already.
class FaultInjectionEnv::Lock final : public FileLockHandle {
 public:
  Lock(FaultInjectionEnv* env, std::string key, uint64_t generation)
      : env_(env), key_(std::move(key)), generation_(generation) {}
  ~Lock() override {
    std::lock_guard<std::mutex> lock(env_->mu_);
    if (generation_ == env_->generation_) env_->locked_.erase(key_);
  }

 private:
  FaultInjectionEnv* env_;
  std::string key_;
  uint64_t generation_;
};

FaultInjectionEnv::FaultInjectionEnv() : root_(std::make_shared<Node>()) { root_->is_dir = true; }

FaultInjectionEnv::~FaultInjectionEnv() = default;

Status FaultInjectionEnv::Admit(FileOp op, const std::string& path, const std::string& other_path) {
  if (IsMutating(op)) {
    mutating_operations_++;
    if (crash_armed_ && mutating_operations_ > crash_at_operation_) {
      crash_armed_ = false;
      crashed_ = true;
    }
  }
  if (crashed_) return IoError("cannot " + std::string(FileOpName(op)) + " " + path + ": simulated power loss");
  for (InjectedError& e : errors_) {
    if (e.op != op || !(e.matches(path) || (!other_path.empty() && e.matches(other_path)))) continue;
    if (e.skip > 0) {
      e.skip--;
      continue;
    }
    return e.error;
  }
  return Status::Ok();
}

void FaultInjectionEnv::Notify(FileOp op, const std::string& path) {
  std::function<void(FileOp, const std::string&)> observer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    observer = observer_;
  }
  if (observer) observer(op, path);
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(const std::string& path, unsigned mode) {
  std::unique_ptr<WritableFile> file;
  {
    std::lock_guard<std::mutex> lock(mu_);
    CAIRN_RETURN_IF_ERROR(Admit(FileOp::kCreateFile, path));
    CAIRN_ASSIGN_OR_RETURN(Location at, Locate(root_, path));
    if (at.parent == nullptr) return NoSuchDirectory("cannot create", path);
    if (at.node != nullptr && at.node->is_dir) return IoError("cannot create " + path + ": Is a directory");
    if (at.node == nullptr) {
      at.node = std::make_shared<Node>();
      at.parent->entries[at.name] = at.node;
    }
    at.node->data.clear();  // O_TRUNC; the durable bytes stay until the next Sync.
    file = std::make_unique<File>(this, at.node, path, generation_);
  }
  Notify(FileOp::kCreateFile, path);
  return file;
}

Result<Bytes> FaultInjectionEnv::ReadFile(const std::string& path, size_t bytes_max) {
  Bytes out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    CAIRN_RETURN_IF_ERROR(Admit(FileOp::kRead, path));
    CAIRN_ASSIGN_OR_RETURN(Location at, Locate(root_, path));
    if (at.node == nullptr) return NotFound("no such file: " + path);
    if (at.node->is_dir) return InvalidArgument(path + " is not a regular file");
    if (at.node->data.size() > bytes_max) {
      return ResourceExhausted(path + " is " + std::to_string(at.node->data.size()) +
                               " bytes, more than the limit of " + std::to_string(bytes_max));
    }
    out = at.node->data;
  }
  Notify(FileOp::kRead, path);
  return out;
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    CAIRN_RETURN_IF_ERROR(Admit(FileOp::kRename, from, to));
    CAIRN_ASSIGN_OR_RETURN(Location source, Locate(root_, from));
    CAIRN_ASSIGN_OR_RETURN(Location target, Locate(root_, to));
    if (source.node == nullptr) return IoError("cannot rename " + from + ": No such file or directory");
    if (source.node->is_dir) return InvalidArgument("FaultInjectionEnv does not model renaming directories");
    if (target.parent == nullptr) return NoSuchDirectory("cannot rename " + from + " to", to);
    if (target.node != nullptr && target.node->is_dir) return IoError("cannot rename to " + to + ": Is a directory");
    if (source.node != target.node) {
      target.parent->entries[target.name] = source.node;
      source.parent->entries.erase(source.name);
    }
  }
  Notify(FileOp::kRename, to);
  return Status::Ok();
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    CAIRN_RETURN_IF_ERROR(Admit(FileOp::kRemove, path));
    CAIRN_ASSIGN_OR_RETURN(Location at, Locate(root_, path));
    if (at.node == nullptr) return NotFound("no such file: " + path);
    if (at.node->is_dir) return IoError("cannot remove " + path + ": Is a directory");
    at.parent->entries.erase(at.name);
  }
  Notify(FileOp::kRemove, path);
  return Status::Ok();
}

Status FaultInjectionEnv::CreateDir(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    CAIRN_RETURN_IF_ERROR(Admit(FileOp::kCreateDir, path));
    CAIRN_ASSIGN_OR_RETURN(Location at, Locate(root_, path));
    if (at.node != nullptr) {
      if (at.node->is_dir) return AlreadyExists(path + " already exists");
      return IoError("cannot create directory " + path + ": a file is in the way");
    }
    if (at.parent == nullptr) return NoSuchDirectory("cannot create directory", path);
    auto dir = std::make_shared<Node>();
    dir->is_dir = true;
    at.parent->entries[at.name] = dir;
  }
  Notify(FileOp::kCreateDir, path);
  return Status::Ok();
}

Status FaultInjectionEnv::SyncDir(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    CAIRN_RETURN_IF_ERROR(Admit(FileOp::kSyncDir, path));
    CAIRN_ASSIGN_OR_RETURN(Location at, Locate(root_, path));
    if (at.node == nullptr) return NoSuchDirectory("cannot open directory", path);
    if (!at.node->is_dir) return IoError("cannot open directory " + path + ": Not a directory");
    at.node->durable_entries = at.node->entries;
  }
  Notify(FileOp::kSyncDir, path);
  return Status::Ok();
}

Result<std::vector<std::string>> FaultInjectionEnv::ListDir(const std::string& path) {
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mu_);
    CAIRN_RETURN_IF_ERROR(Admit(FileOp::kRead, path));
    CAIRN_ASSIGN_OR_RETURN(Location at, Locate(root_, path));
    if (at.node == nullptr) return NotFound("no such directory: " + path);
    if (!at.node->is_dir) return IoError("cannot open directory " + path + ": Not a directory");
    for (const auto& [name, node] : at.node->entries) names.push_back(name);  // std::map: sorted.
  }
  Notify(FileOp::kRead, path);
  return names;
}

bool FaultInjectionEnv::FileExists(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (crashed_) return false;  // A machine without power answers nothing.
  auto at = Locate(root_, path);
  return at.ok() && at->node != nullptr;
}

Result<std::unique_ptr<FileLockHandle>> FaultInjectionEnv::LockFile(const std::string& path) {
  std::unique_ptr<FileLockHandle> handle;
  bool created = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> parts, Components(path));
    std::string key;
    for (const std::string& part : parts) key += "/" + part;
    CAIRN_ASSIGN_OR_RETURN(Location at, Locate(root_, path));
    if (at.node == nullptr) {
      CAIRN_RETURN_IF_ERROR(Admit(FileOp::kCreateFile, path));
      if (at.parent == nullptr) return NoSuchDirectory("cannot open lock file", path);
      at.node = std::make_shared<Node>();
      at.parent->entries[at.name] = at.node;
      created = true;
    } else if (crashed_) {
      return IoError("cannot open lock file " + path + ": simulated power loss");
    }
    if (at.node->is_dir) return IoError("cannot open lock file " + path + ": Is a directory");
    if (!locked_.insert(key).second) return Unavailable(path + " is locked by another running process");
    handle = std::make_unique<Lock>(this, key, generation_);
  }
  if (created) Notify(FileOp::kCreateFile, path);
  return handle;
}

void FaultInjectionEnv::SimulatePowerLoss() {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<const Node*> seen;
  Revert(root_, &seen);
  locked_.clear();
  generation_++;
  crash_armed_ = false;
  crashed_ = false;
}

void FaultInjectionEnv::CrashAfter(uint64_t operations) {
  std::lock_guard<std::mutex> lock(mu_);
  crash_armed_ = true;
  crash_at_operation_ = mutating_operations_ + operations;
}

bool FaultInjectionEnv::crashed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return crashed_;
}

uint64_t FaultInjectionEnv::mutating_operations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mutating_operations_;
}

void FaultInjectionEnv::InjectError(FileOp op, std::function<bool(const std::string& path)> matches, Status error,
                                    uint64_t skip) {
  CAIRN_ASSERT(!error.ok());
  std::lock_guard<std::mutex> lock(mu_);
  errors_.push_back({op, std::move(matches), std::move(error), skip});
}

void FaultInjectionEnv::ClearInjectedErrors() {
  std::lock_guard<std::mutex> lock(mu_);
  errors_.clear();
}

void FaultInjectionEnv::SetObserver(std::function<void(FileOp op, const std::string& path)> observer) {
  std::lock_guard<std::mutex> lock(mu_);
  observer_ = std::move(observer);
}

std::vector<std::string> FaultInjectionEnv::AllFiles() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  CollectFiles(*root_, "", &out);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cairn::util
