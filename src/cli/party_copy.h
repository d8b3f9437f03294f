// What `cairn dispute open|answer` computes from: a party's copy of a job in
// a node data directory (the layout of docs/node.md), completed over the
// network the way the node's roles do it. The job's inputs come from
// DIR/blobs (missing ones fetched from --node, which holds every job's
// uploads when it is the ledger host); the solver's certificate and
// checkpoints from DIR/solver/, a challenger's from the solver's proof
// service into DIR/verifier/<job>/checkpoints.
#pragma once

#include <memory>
#include <string>

#include "net/clients.h"
#include "node/dispute_replay.h"

namespace cairn::cli {

class PartyCopy {
 public:
  // REQUIRES: `job` is committed (has a certificate).
  static Result<std::unique_ptr<PartyCopy>> Load(net::NodeQueries& node, const ledger::Job& job,
                                                 const std::string& data_dir, ledger::DisputeParty party);
  PartyCopy(const PartyCopy&) = delete;
  PartyCopy& operator=(const PartyCopy&) = delete;

  const proof::Certificate& certificate() const { return cert_; }
  const node::DisputeReplay& replay() const { return *replay_; }
  node::BlobStore& blobs() { return blobs_; }

 private:
  explicit PartyCopy(node::BlobStore blobs) : blobs_(std::move(blobs)) {}

  node::BlobStore blobs_;
  node::JobInputs inputs_;
  proof::Certificate cert_;
  std::unique_ptr<node::DisputeReplay> replay_;
};

// Every blob of job `job`'s manifest that `blobs` lacks, from `node`.
Status FetchJobBlobs(net::NodeQueries& node, const ledger::Job& job, node::BlobStore* blobs);

}  // namespace cairn::cli
