#!/usr/bin/python3
"""The Python client (clients/python/cairn_client.py) against a real `cairn node`.

Generates the message classes from the project's .proto with protoc, creates
keys with `cairn keys new`, writes a genesis and a node config, starts a
ledger host on 127.0.0.1 (any free port, found in DATA/node.addr), and reads
it through the client, as a library and from the command line. Run by ctest
(tests/python/CMakeLists.txt); by hand:

    /usr/bin/python3 tests/python/python_client_test.py --cairn build/bin/cairn \
        --proto-dir proto --client clients/python/cairn_client.py [-v] [unittest args]
"""

import argparse
import compileall
import contextlib
import importlib.util
import io
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import grpc

# Limits, in seconds: generous for a loaded 2-core machine, small enough that
# the whole suite stays well under its ctest TIMEOUT.
NODE_START_SECONDS_MAX = 20
NODE_STOP_SECONDS_MAX = 10
CLI_SECONDS_MAX = 20
HEAD_GROWTH_SECONDS_MAX = 10
CALL_TIMEOUT_SECONDS = 5.0

CHAIN_ID = "cairn-python-client-test"
ALLOCATED_BALANCE = 123456
ALLOCATED_STAKE = 789

ARGS = None         # The parsed command line (main).
CLIENT = None       # The imported client module.
MESSAGES = None     # Its generated cairn.v1.ledger_pb2.
WORK_DIR = None     # tempfile.TemporaryDirectory for everything this run writes.
PB_DIR = None       # Where protoc wrote the generated code.


def new_key(path):
    """Makes a key file with `cairn keys new` and returns its public key (64 hex)."""
    done = subprocess.run([ARGS.cairn, "keys", "new", "--out", path], capture_output=True, text=True,
                          timeout=CLI_SECONDS_MAX, check=False)
    if done.returncode != 0:
        raise AssertionError(f"cairn keys new --out {path} exited {done.returncode}: {done.stderr}")
    lines = done.stdout.split()
    if not lines or not re.fullmatch(r"[0-9a-f]{64}", lines[-1]):
        raise AssertionError(f"cairn keys new printed no public key: {done.stdout!r}")
    return lines[-1]


class Node:
    """One `cairn node` process with the ledger-host role, in its own directory under WORK_DIR.

    Its genesis gives `allocated` (a key file nobody runs) ALLOCATED_BALANCE and
    ALLOCATED_STAKE. stderr and stdout go to DIR/node.log, quoted on failures.
    """

    def __init__(self, name):
        self.dir = os.path.join(WORK_DIR.name, name)
        os.makedirs(self.dir)
        self.host_key = new_key(os.path.join(self.dir, "host.key"))
        self.referee_key = new_key(os.path.join(self.dir, "referee.key"))
        self.allocated = new_key(os.path.join(self.dir, "allocated.key"))
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "node.log")
        with open(os.path.join(self.dir, "genesis.toml"), "w", encoding="utf-8") as f:
            f.write(f'chain_id = "{CHAIN_ID}"\n'
                    f'sequencer = "{self.host_key}"\n'
                    f'referee = "{self.referee_key}"\n'
                    "\n[params]\n"
                    "faucet_amount_max = 100000\n"
                    "challenge_window_blocks = 5\n"
                    "unbonding_delay_blocks = 10\n"
                    "verifier_stake_min = 100\n"
                    "job_fee_min = 1\n"
                    "\n[[allocations]]\n"
                    f'account = "{self.allocated}"\n'
                    f"balance = {ALLOCATED_BALANCE}\n"
                    f"stake = {ALLOCATED_STAKE}\n")
        self.config_path = os.path.join(self.dir, "node.toml")
        with open(self.config_path, "w", encoding="utf-8") as f:
            # Relative paths resolve against the config file's directory.
            f.write('roles = ["ledger-host"]\n'
                    'key_file = "host.key"\n'
                    'data_dir = "data"\n'
                    'genesis = "genesis.toml"\n'
                    'listen = "127.0.0.1:0"\n'
                    "block_interval_ms = 100\n")
        self.process = None
        self.address = None

    def start(self):
        """Starts the node and waits for DATA/node.addr; returns its host:port."""
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([ARGS.cairn, "node", "--config", self.config_path],
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        addr_path = os.path.join(self.data_dir, "node.addr")
        deadline = time.monotonic() + NODE_START_SECONDS_MAX
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"cairn node exited {self.process.returncode} before listening:\n{self.log()}")
            if os.path.exists(addr_path):
                with open(addr_path, encoding="utf-8") as f:
                    text = f.read()
                if text.endswith("\n"):  # Written atomically, but be sure it is whole.
                    self.address = text.strip()
                    if not re.fullmatch(r"127\.0\.0\.1:[1-9][0-9]*", self.address):
                        raise AssertionError(f"node.addr holds {text!r}, not 127.0.0.1:PORT")
                    return self.address
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"no {addr_path} after {NODE_START_SECONDS_MAX} s:\n{self.log()}")

    def stop(self):
        """SIGTERM, then waits; returns the exit status (SIGKILLs and raises if it does not stop)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=NODE_STOP_SECONDS_MAX)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"cairn node still running {NODE_STOP_SECONDS_MAX} s after SIGTERM:\n"
                                 f"{self.log()}") from None

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self, chars_max=4000):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        return text[-chars_max:]


def run_cli(*args, pb_dir=True):
    """Runs cairn_client.py as a user would; returns (exit status, stdout, stderr)."""
    command = [sys.executable, ARGS.client, "--protoc", ARGS.protoc]
    command += ["--pb-dir", PB_DIR] if pb_dir else ["--proto-dir", ARGS.proto_dir]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("CAIRN_NODE", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(command + list(args), capture_output=True, text=True, env=env,
                          timeout=CLI_SECONDS_MAX, check=False)
    return done.returncode, done.stdout, done.stderr


def fields(stdout):
    """The `name  value` lines the CLI prints, as a dict."""
    return dict(line.split(None, 1) for line in stdout.splitlines() if line.strip())


def setUpModule():
    global CLIENT, MESSAGES, WORK_DIR, PB_DIR
    WORK_DIR = tempfile.TemporaryDirectory(prefix="cairn-python-client-")
    PB_DIR = os.path.join(WORK_DIR.name, "pb")
    os.makedirs(PB_DIR)
    protos = [os.path.join(ARGS.proto_dir, "cairn", "v1", name) for name in ("ledger.proto", "blob.proto", "proof.proto")]
    subprocess.run([ARGS.protoc, f"--proto_path={ARGS.proto_dir}", f"--python_out={PB_DIR}", *protos],
                   check=True, timeout=CLI_SECONDS_MAX)
    if not compileall.compile_dir(PB_DIR, quiet=1):
        raise AssertionError(f"the code protoc generated in {PB_DIR} does not compile")
    sys.dont_write_bytecode = True  # No __pycache__ in the source tree (clients/python).
    spec = importlib.util.spec_from_file_location("cairn_client", ARGS.client)
    CLIENT = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(CLIENT)
    MESSAGES = CLIENT.load_messages(pb_dir=PB_DIR)


def tearDownModule():
    WORK_DIR.cleanup()


class GeneratedCode(unittest.TestCase):
    def test_every_service_has_its_methods(self):
        # The stub is built from descriptors: check it sees what the .proto declares.
        channel = grpc.insecure_channel("127.0.0.1:1")
        try:
            ledger = CLIENT.Stub(channel, MESSAGES, "Ledger")
            for name in ("SubmitTx", "GetHead", "GetGenesis", "GetAccount", "GetJob", "ListJobs", "GetBlock",
                         "StreamBlocks"):
                self.assertTrue(callable(getattr(ledger, name)), name)
            blobs = CLIENT.Stub(channel, importlib.import_module("cairn.v1.blob_pb2"), "Blobs")
            self.assertTrue(callable(blobs.Get))
            proof = CLIENT.Stub(channel, importlib.import_module("cairn.v1.proof_pb2"), "Proof")
            self.assertTrue(callable(proof.GetCertificate))
        finally:
            channel.close()


    def test_jobs_print_as_a_table(self):
        jobs = [MESSAGES.Job(job_id=bytes([1]) * 32, status="open", fee=500, solver_stake=20, posted_height=7),
                MESSAGES.Job(job_id=bytes([2]) * 32, status="claimed", fee=5, posted_height=12, solver=bytes([3]) * 32)]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            CLIENT.print_jobs(jobs)
        rows = [line.split() for line in out.getvalue().splitlines()]
        self.assertEqual(rows, [["job_id", "status", "fee", "solver_stake", "posted", "solver"],
                                ["01" * 32, "open", "500", "20", "7", "-"],
                                ["02" * 32, "claimed", "5", "0", "12", "03" * 32]])


class LedgerHostQueries(unittest.TestCase):
    """One ledger host, queried through the library and the CLI."""

    @classmethod
    def setUpClass(cls):
        cls.node = Node("queries")
        cls.address = cls.node.start()
        cls.client = CLIENT.LedgerClient(cls.address, CALL_TIMEOUT_SECONDS, MESSAGES)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        try:
            cls.node.stop()
        finally:
            cls.node.kill()

    def test_reads_the_allocated_account(self):
        account = self.client.account(bytes.fromhex(self.node.allocated))
        self.assertEqual(account.balance, ALLOCATED_BALANCE)
        self.assertEqual(account.stake_free, ALLOCATED_STAKE)
        self.assertEqual(account.stake_bonded, 0)
        self.assertEqual(account.nonce, 0)
        self.assertEqual(account.next_nonce, 1)

    def test_an_account_the_ledger_never_saw_is_empty(self):
        account = self.client.account(bytes.fromhex(new_key(os.path.join(self.node.dir, "stranger.key"))))
        self.assertEqual((account.balance, account.stake_free, account.nonce), (0, 0, 0))

    def test_head_grows_with_blocks(self):
        first = self.client.head()
        self.assertEqual(first.chain_id, CHAIN_ID)
        self.assertTrue(first.sequencer)
        deadline = time.monotonic() + HEAD_GROWTH_SECONDS_MAX
        head = first
        while head.height < first.height + 3 and time.monotonic() < deadline:
            time.sleep(0.1)
            head = self.client.head()
        self.assertGreaterEqual(head.height, first.height + 3,
                                f"no 3 blocks in {HEAD_GROWTH_SECONDS_MAX} s at block_interval_ms = 100")
        self.assertEqual(len(head.block_hash), 32)
        self.assertNotEqual(head.block_hash, first.block_hash)
        self.assertGreaterEqual(head.time_ms, first.time_ms)

    def test_no_jobs_on_a_new_chain(self):
        self.assertEqual(self.client.list_jobs(), [])
        self.assertEqual(self.client.list_jobs(after_height=0, limit=1000), [])

    def test_a_malformed_key_is_refused_by_the_node(self):
        with self.assertRaises(CLIENT.NodeError) as caught:
            self.client.account(b"\x01" * 31)
        self.assertEqual(caught.exception.code.name, "INVALID_ARGUMENT")
        self.assertIn("account must be a 32-byte public key, got 31 bytes", str(caught.exception))

    def test_cli_account(self):
        status, out, err = run_cli("--node", self.address, "account", self.node.allocated)
        self.assertEqual(status, 0, err)
        printed = fields(out)
        self.assertEqual(printed["account"], self.node.allocated)
        self.assertEqual(printed["balance"], str(ALLOCATED_BALANCE))
        self.assertEqual(printed["stake_free"], str(ALLOCATED_STAKE))

    def test_cli_head_and_jobs(self):
        status, out, err = run_cli("--node", self.address, "head")
        self.assertEqual(status, 0, err)
        printed = fields(out)
        self.assertEqual(printed["chain_id"], CHAIN_ID)
        self.assertEqual(printed["sequencer"], "yes")
        self.assertGreater(int(printed["height"]), 0)
        status, out, err = run_cli("--node", self.address, "jobs")
        self.assertEqual((status, out), (0, "no jobs\n"), err)

    def test_cli_generates_its_messages_without_pb_dir(self):
        status, out, err = run_cli("--node", self.address, "head", pb_dir=False)
        self.assertEqual(status, 0, err)
        self.assertEqual(fields(out)["chain_id"], CHAIN_ID)

    def test_cli_rejects_an_invalid_account(self):
        for bad in ("xyz", self.node.allocated[:-1], self.node.allocated + "00", "g" * 64):
            status, out, err = run_cli("--node", self.address, "account", bad)
            self.assertEqual(status, 2, bad)
            self.assertIn("64 hex digits", err)
            self.assertNotIn("Traceback", err)
            self.assertEqual(out, "")

    def test_cli_prints_the_node_refusal(self):
        status, out, err = run_cli("--node", self.address, "jobs", "--limit", "5000")
        self.assertEqual(status, 1)
        self.assertEqual(out, "")
        self.assertIn("INVALID_ARGUMENT", err)
        self.assertIn("limit must be at most 1000", err)  # The node's own message.
        self.assertNotIn("Traceback", err)


class NodeShutdown(unittest.TestCase):
    def test_sigterm_stops_the_node_cleanly(self):
        node = Node("shutdown")
        try:
            address = node.start()
            with CLIENT.LedgerClient(address, CALL_TIMEOUT_SECONDS, MESSAGES) as client:
                self.assertEqual(client.head().chain_id, CHAIN_ID)
            self.assertEqual(node.stop(), 0, node.log())
        finally:
            node.kill()
        status, _, err = run_cli("--node", address, "head")
        self.assertEqual(status, 1)
        self.assertIn(f"no node answers at {address}", err)


class WithoutANode(unittest.TestCase):
    def test_a_silent_peer_hits_the_deadline(self):
        # Accepts TCP connections and never speaks HTTP/2.
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            address = f"127.0.0.1:{silent.getsockname()[1]}"
            started = time.monotonic()
            status, out, err = run_cli("--node", address, "--timeout", "0.5", "head")
            self.assertEqual(status, 1)
            self.assertEqual(out, "")
            self.assertIn(f"the node at {address} did not answer GetHead within 0.5 s", err)
            self.assertLess(time.monotonic() - started, CLI_SECONDS_MAX)

    def test_nobody_listening(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            address = f"127.0.0.1:{s.getsockname()[1]}"  # Bound, never listening: connections are refused.
            status, _, err = run_cli("--node", address, "account", "00" * 32)
        self.assertEqual(status, 1)
        self.assertIn(f"no node answers at {address}", err)
        self.assertNotIn("Traceback", err)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cairn", required=True, help="the cairn binary")
    parser.add_argument("--proto-dir", required=True, help="the project's proto/ folder")
    parser.add_argument("--client", required=True, help="clients/python/cairn_client.py")
    parser.add_argument("--protoc", default="protoc", help="protoc (3.21, matching python3-protobuf)")
    ARGS, rest = parser.parse_known_args()
    ARGS.cairn = os.path.abspath(ARGS.cairn)
    ARGS.proto_dir = os.path.abspath(ARGS.proto_dir)
    ARGS.client = os.path.abspath(ARGS.client)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
