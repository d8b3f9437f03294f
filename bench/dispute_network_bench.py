"""Dispute cost on real nodes (issue 8): a cheating solver (solver.cheat =
fake-segment, segment 1 trained at 4x the learning rate) against an honest
verifier in challenge mode, on a devnet of real `cairn node` processes over
loopback gRPC, for jobs of 1k, 10k (and, with --steps, more) steps.

For each job size it writes a job file like configs/jobs/devnet.toml with
`steps` set and about 12 segments, runs `cairn devnet --cheat --keep`, and
reads from the devnet's timestamped log and the nodes' logs:
  - rounds over steps (against ceil(log2 segment steps) + 1) and over the
    operator trace (the devnet's summary of the dispute);
  - wall time from the dispute's opening to the job's end (the whole game:
    both parties' replays, every block, the referee's recomputation);
  - the referee's compute: from the last party move sent to its ruling.
bench/dispute_bench.cpp measures the ledger's side alone for 1k..100k-step
segments; this is the same game with everything around it.

Usage: /usr/bin/python3 bench/dispute_network_bench.py --cairn build/bin/cairn
       [--steps 1000,10000] [--json bench-results/dispute_network.json]
Run from the repository root (the job names its datasets by absolute path).
"""
import argparse
import datetime
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

from bench_results import write_json

AIM_SECONDS_10K = 5.0

LINE = re.compile(r"^\[\s*([0-9.]+) s\] (.*)$")
SUMMARY = re.compile(r"dispute 0 on segment (\d+): (\d+) rounds over steps pinned step (\d+), (\d+) over its operator trace")
NODE_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+) ")
DATA_DIR = re.compile(r"data in (\S+)")


def job_file(template, steps, path):
    interval = max(1, steps // 12)
    text = open(template).read()
    text = re.sub(r"^steps = \d+.*$", f"steps = {steps}", text, flags=re.M)
    text = re.sub(r"^checkpoint_interval = \d+.*$", f"checkpoint_interval = {interval}", text, flags=re.M)
    text = re.sub(r"^warmup_steps = \d+.*$", f"warmup_steps = {min(100, steps // 10)}", text, flags=re.M)
    text = re.sub(r"^name = .*$", f'name = "dispute bench {steps} steps"', text, flags=re.M)
    with open(path, "w") as f:
        f.write(text)
    return interval


def node_times(log_path, pattern):
    out = []
    with open(log_path, errors="replace") as f:
        for line in f:
            if re.search(pattern, line):
                m = NODE_TIME.match(line)
                if m:
                    out.append(datetime.datetime.fromisoformat(m.group(1)).timestamp())
    return out


def run(cairn, template, steps, timeout, tmp):
    path = os.path.join(tmp, f"job-{steps}.toml")
    interval = job_file(template, steps, path)
    window = max(30, steps // 100)  # Seconds: the verifier's replay must fit in it.
    done = subprocess.run([cairn, "devnet", "--cheat", "--keep", "--job", path, "--solvers", "1", "--verifiers", "1",
                           "--challenge-window", str(window), "--timeout", str(timeout)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    times, summary, data = {}, None, None
    for line in done.stdout.splitlines():
        if data is None and DATA_DIR.search(line):
            data = DATA_DIR.search(line).group(1)
        m = LINE.match(line.strip("\r"))
        if m:
            what = m.group(2)
            if "opened a dispute" in what and "open" not in times:
                times["open"] = float(m.group(1))
            if what.startswith("job is "):
                times["end"] = float(m.group(1))
        s = SUMMARY.search(line)
        if s:
            summary = s
    if done.returncode != 0 or summary is None or "open" not in times or "end" not in times:
        sys.exit(f"cairn devnet --cheat failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    # The referee: from the last move either party sent to the ruling it logged.
    moves = []
    for node in ("solver-1", "verifier-1"):
        log = os.path.join(data, node, "node.log")
        if os.path.exists(log):
            moves += node_times(log, r"sent pinpoint_move")
    ruled = node_times(os.path.join(data, "host", "node.log"), r"referee ruled on dispute")
    referee_s = (ruled[0] - max(m for m in moves if m <= ruled[0])) if ruled and moves else None
    step_rounds, op_rounds = int(summary.group(2)), int(summary.group(4))
    shutil.rmtree(data, ignore_errors=True)
    return {
        "steps": steps,
        "segment_steps": interval,
        "segment": int(summary.group(1)),
        "pinned_step": int(summary.group(3)),
        "step_rounds": step_rounds,
        "op_rounds": op_rounds,
        "rounds": step_rounds + op_rounds,
        "step_bound": math.ceil(math.log2(interval)) + 1,
        "dispute_wall_s": times["end"] - times["open"],
        "referee_s": referee_s,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cairn", required=True)
    p.add_argument("--job", default="configs/jobs/devnet.toml", help="template job file")
    p.add_argument("--steps", default="1000,10000", help="comma-separated job sizes")
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--json", default="bench-results/dispute_network.json")
    args = p.parse_args()
    cairn = os.path.abspath(args.cairn)
    rows = []
    with tempfile.TemporaryDirectory(prefix="cairn-dispute-bench-") as tmp:
        for steps in (int(s) for s in args.steps.split(",")):
            r = run(cairn, os.path.abspath(args.job), steps, args.timeout, tmp)
            rows.append(r)
            print(f"{steps:>7} steps (segments of {r['segment_steps']}): {r['step_rounds']} step rounds "
                  f"(bound {r['step_bound']}) + {r['op_rounds']} operator rounds, dispute open -> ruled "
                  f"{r['dispute_wall_s']:.1f} s, referee {r['referee_s'] if r['referee_s'] is None else round(r['referee_s'], 2)} s",
                  flush=True)
    out = {"aim_seconds_10k_steps": AIM_SECONDS_10K, "runs": rows}
    write_json(args.json, out)


if __name__ == "__main__":
    main()
