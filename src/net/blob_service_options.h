// Who may upload to a node's blob service, and how much.
#pragma once

#include <functional>
#include <string>

#include "crypto/keys.h"
#include "node/blob_store.h"

namespace cairn::net {

struct BlobServiceOptions {
  std::string chain_id;  // Bound into upload signatures.
  uint64_t upload_bytes_max = node::kBlobBytesMax;
  // Whether `uploader` may store blobs here (the ledger host: an account with
  // funds). Null: uploads are refused.
  std::function<bool(const crypto::PublicKey& uploader)> may_upload;
};

// What an uploader signs: TaggedHash("cairn/blob-put/v1", chain_id || hash || u64 size).
Hash256 BlobPutDigest(const std::string& chain_id, const Hash256& hash, uint64_t size);

}  // namespace cairn::net
