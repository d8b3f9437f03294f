// `cairn dispute open|answer`: the pinpoint game played by hand, for an
// operator whose node does not play it (a verifier with challenge = false,
// or a party whose node is down). The computations are the node's own
// (node/dispute_replay.h): the same replay in the same sandboxed worker, the
// same Merkle proofs and moves, so a move made here is the move the
// disputant role would have made.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "cli/app.h"
#include "cli/client.h"
#include "cli/dispute_play.h"
#include "cli/party_copy.h"
#include "node/report.h"

namespace cairn::cli {
namespace {

struct PlayArgs : ClientArgs {
  std::string job;
  std::string data;
  int64_t segment = -1;
};

const char* PartyName(ledger::DisputeParty p) { return p == ledger::DisputeParty::kSolver ? "solver" : "challenger"; }

Result<ledger::Job> JobOnLedger(net::NodeQueries& q, const Hash256& id) {
  auto job = q.GetJob(id);
  if (!job.ok() && job.status().code() == StatusCode::kNotFound) {
    return NotFound("no job " + id.ToHex() + " on the ledger of " + q.endpoint() + " (cairn job list shows them)");
  }
  return job;
}

Status OpenDispute(const PlayArgs& args, const std::string& node_address, const crypto::KeyPair& key) {
  CAIRN_ASSIGN_OR_RETURN(Hash256 id, ParseJobId(args.job));
  net::NodeQueries q(node_address);
  CAIRN_ASSIGN_OR_RETURN(ledger::Job job, JobOnLedger(q, id));
  if (job.status == ledger::JobStatus::kDisputed) {
    return FailedPrecondition("job " + ShortHex(id) + " already has an open dispute (cairn dispute status " + args.job +
                              ")");
  }
  if (job.status != ledger::JobStatus::kCommitted) {
    return FailedPrecondition("job " + ShortHex(id) + " is " + ledger::JobStatusName(job.status) +
                              ": only a committed job can be disputed, during its challenge window");
  }
  CAIRN_ASSIGN_OR_RETURN(net::HeadInfo head, q.GetHead());
  if (head.height > job.challenge_end_height) {
    return FailedPrecondition("job " + ShortHex(id) + "'s challenge window closed at height " +
                              std::to_string(job.challenge_end_height) + " (now " + std::to_string(head.height) + ")");
  }
  CAIRN_ASSIGN_OR_RETURN(auto copy, PartyCopy::Load(q, job, args.data, ledger::DisputeParty::kChallenger));
  const proof::Certificate& cert = copy->certificate();
  if (args.segment < 0 || static_cast<uint64_t>(args.segment) + 1 >= cert.checkpoint_hashes.size()) {
    return InvalidArgument("--segment must be 0.." + std::to_string(cert.checkpoint_hashes.size() - 2) +
                           ": the certificate of job " + ShortHex(id) + " has " + std::to_string(cert.segments.size()) +
                           " segments");
  }
  const auto segment = static_cast<uint32_t>(args.segment);
  std::printf("replaying segment %u of job %s (steps %llu..%llu) in the sandboxed worker\n", segment,
              ShortHex(id).c_str(), static_cast<unsigned long long>(cert.segments[segment].start_step),
              static_cast<unsigned long long>(cert.segments[segment].end_step));
  CAIRN_ASSIGN_OR_RETURN(train::VerifyReport verified, copy->replay().VerifySegment(segment, key, job.solver));
  bool segment_failed = false;
  node::VerifierReport report;
  report.job_id = id;
  report.certificate_hash = job.certificate_hash;
  report.verifier = key.public_key();
  report.accept = verified.accepted;
  report.reason = verified.reason.substr(0, node::kReportReasonBytesMax);
  report.sampled = verified.sampled;
  report.steps_replayed = verified.steps_replayed;
  for (const train::SegmentCheck& c : verified.checks) {
    if (!c.passed) report.failed.push_back(c.segment);
    if (!c.passed && c.segment == segment) segment_failed = true;
  }
  if (!segment_failed) {
    std::string others;
    for (uint32_t s : report.failed) others += (others.empty() ? "" : ", ") + std::to_string(s);
    return FailedPrecondition(
        "segment " + std::to_string(segment) +
        " replays to the committed checkpoint and its claims check: a dispute on it would lose your bond; "
        "nothing was sent" +
        (verified.accepted ? std::string() : " (the certificate fails elsewhere: " + verified.reason +
                                                 (others.empty() ? "" : "; failed segments: " + others) + ")"));
  }
  // The report goes where the referee reads it, and its hash on the ledger.
  const Bytes report_bytes = node::EncodeReport(report);
  CAIRN_ASSIGN_OR_RETURN(Hash256 report_hash, copy->blobs().Put(report_bytes));
  CAIRN_RETURN_IF_ERROR(q.PutBlob(report_bytes, head.chain_id, key).WithContext("uploading the report"));
  CAIRN_ASSIGN_OR_RETURN(auto op, node::PrepareDisputeOpen(id, copy->replay(), segment, report_hash));
  if (!op) return FailedPrecondition("segment " + std::to_string(segment) + " has no committed end to dispute");
  const Hash256 ours = op->challenger_end_hash, committed = op->end_hash;
  CAIRN_RETURN_IF_ERROR(SendAndWait(q, key, std::move(*op)));
  std::printf("opened a dispute on segment %u of job %s: %s\n", segment, id.ToHex().c_str(), verified.reason.c_str());
  std::printf("  your replay ends at %s, the certificate commits %s\n", ShortHex(ours).c_str(),
              ShortHex(committed).c_str());
  std::printf("answer each round before its deadline: cairn dispute answer %s --data %s --node %s --key FILE\n",
              id.ToHex().c_str(), args.data.c_str(), node_address.c_str());
  return Status::Ok();
}

Status AnswerDispute(const PlayArgs& args, const std::string& node_address, const crypto::KeyPair& key) {
  CAIRN_ASSIGN_OR_RETURN(Hash256 id, ParseJobId(args.job));
  net::NodeQueries q(node_address);
  CAIRN_ASSIGN_OR_RETURN(ledger::Job job, JobOnLedger(q, id));
  if (job.disputes == 0) return FailedPrecondition("job " + ShortHex(id) + " has no dispute to answer");
  CAIRN_ASSIGN_OR_RETURN(ledger::Dispute d, q.GetDispute(id, job.disputes - 1));
  if (d.phase == ledger::DisputePhase::kResolved) {
    return FailedPrecondition("job " + ShortHex(id) + " has no open dispute: dispute " + std::to_string(d.index) +
                              " was resolved at height " + std::to_string(d.resolved_height) + " (" + d.resolution +
                              ")");
  }
  if (d.phase == ledger::DisputePhase::kReferee) {
    return FailedPrecondition("job " + ShortHex(id) + "'s game has ended: it waits for the referee's ruling");
  }
  ledger::DisputeParty party;
  if (key.public_key() == job.solver) {
    party = ledger::DisputeParty::kSolver;
  } else if (key.public_key() == d.challenger) {
    party = ledger::DisputeParty::kChallenger;
  } else {
    return PermissionDenied("key " + key.public_key().ToHex().substr(0, 16) + " is not a party to job " +
                            ShortHex(id) + "'s dispute (solver " + job.solver.ToHex().substr(0, 16) + ", challenger " +
                            d.challenger.ToHex().substr(0, 16) + ")");
  }
  const ledger::DisputeClaim& mine = party == ledger::DisputeParty::kSolver ? d.solver : d.challenger_claim;
  if (mine.moved) {
    return FailedPrecondition("not your turn: you (the " + std::string(PartyName(party)) + ") already moved in round " +
                              ledger::DisputePhaseName(d.phase) + " at " + std::to_string(d.position) +
                              "; the other party has until height " + std::to_string(d.deadline_height));
  }
  CAIRN_ASSIGN_OR_RETURN(net::HeadInfo head, q.GetHead());
  if (head.height > d.deadline_height) {
    return FailedPrecondition("round " + std::string(ledger::DisputePhaseName(d.phase)) + " at " +
                              std::to_string(d.position) + " was due by height " + std::to_string(d.deadline_height) +
                              " (now " + std::to_string(head.height) +
                              "): a party that did not move loses when the dispute is settled");
  }
  CAIRN_ASSIGN_OR_RETURN(auto copy, PartyCopy::Load(q, job, args.data, party));
  node::UploadForReferee upload = [&](const Bytes& blob) -> Result<Hash256> {
    CAIRN_ASSIGN_OR_RETURN(Hash256 hash, copy->blobs().Put(blob));
    CAIRN_RETURN_IF_ERROR(q.PutBlob(blob, head.chain_id, key).WithContext("uploading the operator's inputs"));
    return hash;
  };
  CAIRN_ASSIGN_OR_RETURN(ledger::PinpointMoveOp move, node::ComputePinpointMove(d, copy->replay(), upload));
  const Hash256 posted = move.hash;
  CAIRN_RETURN_IF_ERROR(SendAndWait(q, key, std::move(move)));
  std::printf("answered round %s at %llu of job %s's dispute as the %s: posted %s\n", ledger::DisputePhaseName(d.phase),
              static_cast<unsigned long long>(d.position), ShortHex(id).c_str(), PartyName(party),
              ShortHex(posted).c_str());
  return Status::Ok();
}

int RunPlay(const PlayArgs& args, Status (*play)(const PlayArgs&, const std::string&, const crypto::KeyPair&)) {
  auto node = ResolveNode(args);
  if (!node.ok()) return ReportInputError(node.status());
  auto key = ResolveKey(args);
  if (!key.ok()) return ReportInputError(key.status());
  if (auto id = ParseJobId(args.job); !id.ok()) return ReportInputError(id.status());
  Status s = play(args, *node, *key);
  return s.ok() ? kExitOk : ReportError(s);
}

}  // namespace

void RegisterDisputePlayCommands(CLI::App* dispute, Command* command) {
  auto open = std::make_shared<PlayArgs>();
  CLI::App* o = dispute->add_subcommand(
      "open", "Replay one segment of a committed job and, if it disagrees, open a dispute on it (bonds your stake)");
  o->add_option("job", open->job, "Job id (64 hex)")->required();
  o->add_option("--segment", open->segment, "The segment to replay and dispute (0 = the first)")->required();
  o->add_option("--data", open->data, "Your data directory: the job's inputs and the fetched checkpoints go here")
      ->required();
  AddNodeOption(o, open.get());
  AddKeyOption(o, open.get());
  o->callback([command, open] { command->action = [open] { return RunPlay(*open, OpenDispute); }; });

  auto answer = std::make_shared<PlayArgs>();
  CLI::App* a = dispute->add_subcommand(
      "answer", "Compute and post your move in a job's open dispute (as its solver or its challenger)");
  a->add_option("job", answer->job, "Job id (64 hex)")->required();
  a->add_option("--data", answer->data,
                "The party's node data directory (the solver's checkpoints, or where `dispute open` fetched them)")
      ->required();
  AddNodeOption(a, answer.get());
  AddKeyOption(a, answer.get());
  a->callback([command, answer] { command->action = [answer] { return RunPlay(*answer, AnswerDispute); }; });
}

}  // namespace cairn::cli
