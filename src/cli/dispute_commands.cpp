// `cairn dispute list|status|show`: the pinpoint game as the ledger records
// it (docs/protocol.md, "Disputes"). Nodes play the game themselves (the
// disputant role); these commands let anyone follow and audit it, and
// `open|answer` (dispute_play.cpp) let an operator play it by hand.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "cli/app.h"
#include "cli/client.h"
#include "cli/dispute_play.h"
#include "ledger/dispute.h"

namespace cairn::cli {
namespace {

struct DisputeArgs : ClientArgs {
  std::string job;
  int64_t index = -1;  // -1: the job's latest dispute.
};

const char* PartyName(ledger::DisputeParty p) { return p == ledger::DisputeParty::kSolver ? "solver" : "challenger"; }

const char* TaskName(ledger::RefereeTask t) {
  switch (t) {
    case ledger::RefereeTask::kOperator: return "recompute one operator";
    case ledger::RefereeTask::kStep: return "recompute one step";
    case ledger::RefereeTask::kSegment: return "replay one segment and its claims";
    case ledger::RefereeTask::kForcedCheck: return "replay the segment of a revealed forced error";
    case ledger::RefereeTask::kNone: break;
  }
  return "-";
}

void PrintDispute(const ledger::Dispute& d, bool transcript) {
  std::printf("dispute    %u of job %s\n", d.index, d.job_id.ToHex().c_str());
  std::printf("challenger %s (bond %llu), opened at height %llu on segment %llu\n",
              d.challenger.ToHex().substr(0, 16).c_str(), static_cast<unsigned long long>(d.bond),
              static_cast<unsigned long long>(d.opened_height), static_cast<unsigned long long>(d.segment));
  std::printf("phase      %s", ledger::DisputePhaseName(d.phase));
  if (d.phase != ledger::DisputePhase::kReferee && d.phase != ledger::DisputePhase::kResolved) {
    std::printf(" at %llu (moves due by height %llu; solver %s, challenger %s)",
                static_cast<unsigned long long>(d.position), static_cast<unsigned long long>(d.deadline_height),
                d.solver.moved ? "moved" : "to move", d.challenger_claim.moved ? "moved" : "to move");
  }
  std::printf("\n");
  std::printf("steps      agreed after step %llu, disputed after step %llu\n",
              static_cast<unsigned long long>(d.lo_step), static_cast<unsigned long long>(d.hi_step));
  if (d.task == ledger::RefereeTask::kOperator) {
    std::printf("operators  records before %llu agree; record %llu differs\n", static_cast<unsigned long long>(d.op_lo),
                static_cast<unsigned long long>(d.op_lo));
  }
  if (d.task != ledger::RefereeTask::kNone) std::printf("referee    %s\n", TaskName(d.task));
  if (d.phase == ledger::DisputePhase::kResolved && d.task == ledger::RefereeTask::kForcedCheck) {
    std::printf("outcome    at height %llu: %s\n", static_cast<unsigned long long>(d.resolved_height), d.resolution.c_str());
  } else if (d.phase == ledger::DisputePhase::kResolved) {
    std::printf("outcome    the %s lost at height %llu: %s\n", d.solver_at_fault ? "solver" : "challenger",
                static_cast<unsigned long long>(d.resolved_height), d.resolution.c_str());
  }
  if (!transcript) return;
  std::printf("\n%-8s  %-10s  %-34s  %-10s  %s\n", "height", "party", "round", "position", "posted");
  for (const ledger::DisputeMove& m : d.moves) {
    std::string posted = m.hash.ToHex().substr(0, 16);
    if (m.phase == ledger::DisputePhase::kTraceRoots) posted += " (" + std::to_string(m.count) + " records)";
    std::printf("%-8llu  %-10s  %-34s  %-10llu  %s\n", static_cast<unsigned long long>(m.height), PartyName(m.party),
                ledger::DisputePhaseName(m.phase), static_cast<unsigned long long>(m.position), posted.c_str());
  }
}

Result<ledger::Dispute> FetchDispute(net::NodeQueries& q, const DisputeArgs& args, const Hash256& id) {
  uint32_t index = 0;
  if (args.index >= 0) {
    index = static_cast<uint32_t>(args.index);
  } else {
    CAIRN_ASSIGN_OR_RETURN(ledger::Job job, q.GetJob(id));
    if (job.disputes == 0) return NotFound("job " + id.ToHex().substr(0, 16) + " has never been disputed");
    index = job.disputes - 1;
  }
  return q.GetDispute(id, index);
}

int DisputeShow(const DisputeArgs& args, bool transcript) {
  auto node = ResolveNode(args);
  if (!node.ok()) return ReportInputError(node.status());
  auto id = ParseJobId(args.job);
  if (!id.ok()) return ReportInputError(id.status());
  net::NodeQueries q(*node);
  auto d = FetchDispute(q, args, *id);
  if (!d.ok()) return ReportError(d.status());
  PrintDispute(*d, transcript);
  return kExitOk;
}

int DisputeList(const ClientArgs& args) {
  auto node = ResolveNode(args);
  if (!node.ok()) return ReportInputError(node.status());
  net::NodeQueries q(*node);
  auto jobs = q.ListJobs();
  if (!jobs.ok()) return ReportError(jobs.status());
  int shown = 0;
  for (const ledger::Job& j : *jobs) {
    for (uint32_t i = 0; i < j.disputes; ++i) {
      auto d = q.GetDispute(j.job_id, i);
      if (!d.ok()) return ReportError(d.status());
      if (shown++ == 0) std::printf("%-64s  %5s  %-32s  %s\n", "job", "index", "phase", "outcome");
      std::string outcome = d->phase == ledger::DisputePhase::kResolved
                                ? std::string(d->solver_at_fault ? "solver at fault" : "challenger at fault")
                                : "-";
      std::printf("%-64s  %5u  %-32s  %s\n", j.job_id.ToHex().c_str(), i, ledger::DisputePhaseName(d->phase),
                  outcome.c_str());
    }
  }
  if (shown == 0) std::printf("no disputes on this ledger\n");
  return kExitOk;
}

}  // namespace

void RegisterDisputeCommands(CLI::App* app, Command* command) {
  CLI::App* dispute = app->add_subcommand("dispute", "Disputes: the pinpoint game between a solver and a challenger");
  dispute->require_subcommand(1);
  RegisterDisputePlayCommands(dispute, command);

  auto list = std::make_shared<ClientArgs>();
  CLI::App* ls = dispute->add_subcommand("list", "Every dispute on the ledger with its phase and outcome");
  AddNodeOption(ls, list.get());
  ls->callback([command, list] { command->action = [list] { return DisputeList(*list); }; });

  for (bool transcript : {false, true}) {
    auto args = std::make_shared<DisputeArgs>();
    CLI::App* c = dispute->add_subcommand(transcript ? "show" : "status",
                                          transcript ? "A dispute with the transcript of every move"
                                                     : "Where a job's dispute stands: round, deadline, outcome");
    c->add_option("job", args->job, "Job id (64 hex)")->required();
    c->add_option("--index", args->index, "Which of the job's disputes (0 = the first; default: the latest)");
    AddNodeOption(c, args.get());
    c->callback([command, args, transcript] {
      command->action = [args, transcript] { return DisputeShow(*args, transcript); };
    });
  }
}

}  // namespace cairn::cli
