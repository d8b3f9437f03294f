"""The protocol's overhead (issue 7): a job from `cairn job submit` to
settlement on a devnet of real `cairn node` processes, against the same
job trained alone by `cairn train` (which also trains in the sandboxed
worker, so the worker's start-up is on both sides).

Each repetition runs, one after the other:
  1. `cairn train JOB --data FRESH_DIR --key KEY`, timed from start to exit;
  2. `cairn devnet --job JOB --solvers 1 --verifiers 1 --challenge-window W`
     (a ledger host, a solver and a verifier as separate `cairn node`
     processes on 127.0.0.1: docs/node.md), whose timestamped log gives
     submit (the upload of the manifest and inputs, then post_job),
     claim, commitment, the verdict and settlement.
The ratio is (settled - submitting) / train alone. It includes the
challenge window W, a parameter of the chain during which verifiers replay
and settlement must wait, so it is also reported without it:
(committed - submitting) / train alone is what the protocol adds on the
solver's path (upload, claim, fetching the inputs, checkpoints and
certificate, the commitment). Prints a table and writes JSON.

Usage: /usr/bin/python3 bench/devnet_bench.py --cairn build/bin/cairn
       [--job configs/jobs/devnet.toml] [--challenge-window 10] [--repeats 1]
       [--json bench-results/devnet.json]
Run from the repository root (the devnet job names its datasets by
absolute path). Needs nothing but the cairn binary and Fashion-MNIST.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from bench_results import write_json

AIM = 1.2

# `cairn devnet` log lines: "[  12.3 s] what happened".
LINE = re.compile(r"^\[\s*([0-9.]+) s\] (.*)$")
EVENTS = {
    "submitting": re.compile(r"^submitting "),
    "posted": re.compile(r"^posted job "),
    "claimed": re.compile(r"^claimed by "),
    "committed": re.compile(r"^certificate \S+ committed"),
    "verdict": re.compile(r"^verdict ACCEPT"),
    "settled": re.compile(r"^job is settled"),
}


def run_train(cairn, job, key, data_dir):
    started = time.monotonic()
    done = subprocess.run([cairn, "train", job, "--data", data_dir, "--key", key],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"cairn train failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds


def run_devnet(cairn, job, window, timeout):
    done = subprocess.run([cairn, "devnet", "--job", job, "--solvers", "1", "--verifiers", "1",
                           "--challenge-window", str(window), "--timeout", str(timeout)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    times = {}
    for line in done.stdout.splitlines():
        m = LINE.match(line.strip("\r"))
        if not m:
            continue
        for name, pattern in EVENTS.items():
            if name not in times and pattern.search(m.group(2)):
                times[name] = float(m.group(1))
    missing = [n for n in ("submitting", "claimed", "committed", "settled") if n not in times]
    if done.returncode != 0 or missing:
        sys.exit(f"cairn devnet failed ({done.returncode}, missing {missing}):\n{done.stdout}\n{done.stderr}")
    return times


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cairn", required=True)
    p.add_argument("--job", default="configs/jobs/devnet.toml")
    p.add_argument("--challenge-window", type=float, default=10.0,
                   help="seconds; must outlast the verifier's fetch and replay for a verdict to count")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--timeout", type=float, default=1200)
    p.add_argument("--json", default="bench-results/devnet.json")
    args = p.parse_args()
    cairn = os.path.abspath(args.cairn)
    job = os.path.abspath(args.job)

    rows = []
    with tempfile.TemporaryDirectory(prefix="cairn-devnet-bench-") as tmp:
        key = os.path.join(tmp, "solver.key")
        subprocess.run([cairn, "keys", "new", "--out", key], check=True, stdout=subprocess.DEVNULL)
        for rep in range(args.repeats):
            train = run_train(cairn, job, key, os.path.join(tmp, f"train-{rep}"))
            t = run_devnet(cairn, job, args.challenge_window, args.timeout)
            submit = t["submitting"]
            row = {
                "train_alone_s": train,
                "submit_to_settled_s": t["settled"] - submit,
                "submit_to_claimed_s": t["claimed"] - submit,
                "claimed_to_committed_s": t["committed"] - t["claimed"],
                "committed_to_settled_s": t["settled"] - t["committed"],
                "committed_to_verdict_s": t["verdict"] - t["committed"] if "verdict" in t else None,
            }
            row["settled_over_train"] = row["submit_to_settled_s"] / train
            row["committed_over_train"] = (t["committed"] - submit) / train
            rows.append(row)
            print(f"repetition {rep + 1}: train alone {train:.1f} s; devnet submit->claim {row['submit_to_claimed_s']:.1f} s, "
                  f"claim->commit {row['claimed_to_committed_s']:.1f} s, commit->settle {row['committed_to_settled_s']:.1f} s"
                  + (f" (verdict after {row['committed_to_verdict_s']:.1f} s)" if row["committed_to_verdict_s"] is not None
                     else " (no verdict within the window)"), flush=True)

    settled = statistics.median(r["settled_over_train"] for r in rows)
    committed = statistics.median(r["committed_over_train"] for r in rows)
    print(f"job {args.job}, challenge window {args.challenge_window:g} s, {args.repeats} repetition(s), medians:")
    print(f"  submit -> settled / train alone   {settled:.2f}x (aim < {AIM}x; includes the challenge window)")
    print(f"  submit -> committed / train alone {committed:.2f}x (the protocol on the solver's path)")
    out = {
        "job": args.job,
        "challenge_window_s": args.challenge_window,
        "repeats": args.repeats,
        "settled_over_train": settled,
        "committed_over_train": committed,
        "aim": AIM,
        "repetitions": rows,
    }
    write_json(args.json, out)


if __name__ == "__main__":
    main()
