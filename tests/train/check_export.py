"""Loads what `cairn export` wrote, as a PyTorch user would, and scores it.

Usage: /usr/bin/python3 check_export.py EXPORT_DIR EVAL_FILE BATCH THREADS
       /usr/bin/python3 check_export.py EXPORT_DIR --idx IMAGES LABELS BATCH THREADS

EXPORT_DIR holds model.pt (loaded with torch.jit.load) and state_dict.pt
(loaded with torch.load(..., weights_only=True)). EVAL_FILE is the evaluation
set as export_test.cpp writes it, little-endian:
    u32 rank, i64 dims[rank] (per example), u64 count,
    f32 features[count * prod(dims)], i64 labels[count]
or, with --idx, IDX images and labels files (gzipped or not; pixels become
x / 255 as in cairn). The set is run through model.pt in batches of BATCH examples in index order
on THREADS threads, as cairn's EvaluateModelFile does: each example's
cross-entropy is widened to a Python float and summed in index order.
Prints, one per line:
    training <bool>              model.pt's mode as loaded
    examples <n>
    correct <n>
    loss <float.hex()>           mean cross-entropy, exact bits
    state_matches_module <bool>  state_dict.pt equals model.pt's own state
    tensor <name> <dtype> <d0,d1,...>   one line per state_dict.pt entry
"""
import gzip
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


def read_eval_set(path):
    with open(path, "rb") as f:
        raw = f.read()
    (rank,) = struct.unpack_from("<I", raw, 0)
    offset = 4
    dims = list(struct.unpack_from("<%dq" % rank, raw, offset))
    offset += 8 * rank
    (count,) = struct.unpack_from("<Q", raw, offset)
    offset += 8
    per_example = int(np.prod(dims))
    features = np.frombuffer(raw, dtype="<f4", count=count * per_example, offset=offset)
    offset += 4 * count * per_example
    labels = np.frombuffer(raw, dtype="<i8", count=count, offset=offset)
    x = torch.from_numpy(features.copy()).reshape([count] + dims)
    y = torch.from_numpy(labels.copy())
    return x, y


def read_idx(images_path, labels_path):
    def read(path):
        with open(path, "rb") as f:
            raw = f.read()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw

    images, labels = read(images_path), read(labels_path)
    count, rows, cols = struct.unpack_from(">III", images, 4)
    pixels = np.frombuffer(images, dtype=np.uint8, count=count * rows * cols, offset=16)
    # One correctly rounded float32 division per pixel, as cairn's loader does.
    x = torch.from_numpy(pixels.astype(np.float32) / np.float32(255)).reshape(count, 1, rows, cols)
    y = torch.from_numpy(np.frombuffer(labels, dtype=np.uint8, count=count, offset=8).astype(np.int64))
    return x, y


def main():
    args = sys.argv[1:]
    export_dir = args.pop(0)
    if args[0] == "--idx":
        x, y = read_idx(args[1], args[2])
        args = args[3:]
    else:
        x, y = read_eval_set(args.pop(0))
    batch, threads = int(args[0]), int(args[1])
    # The job's execution profile, as cairn applied it: its thread count,
    # oneDNN off (cairn's default; oneDNN convolutions round differently) and
    # deterministic algorithms. ATEN_CPU_CAPABILITY comes from the environment.
    torch.set_num_threads(threads)
    torch.backends.mkldnn.enabled = False
    torch.use_deterministic_algorithms(True)
    model = torch.jit.load(export_dir + "/model.pt")
    print("training", model.training)
    state = torch.load(export_dir + "/state_dict.pt", weights_only=True)

    correct = 0
    loss_sum = 0.0
    with torch.no_grad():
        for begin in range(0, len(y), batch):
            logits = model(x[begin:begin + batch])
            labels = y[begin:begin + batch]
            correct += int((logits.argmax(1) == labels).sum())
            for value in F.cross_entropy(logits, labels, reduction="none").double().tolist():
                loss_sum += value
    print("examples", len(y))
    print("correct", correct)
    print("loss", (loss_sum / len(y)).hex())

    own = model.state_dict()
    matches = set(own) == set(state) and all(
        own[k].dtype == state[k].dtype and own[k].shape == state[k].shape and torch.equal(own[k], state[k])
        for k in own)
    print("state_matches_module", matches)
    for name, tensor in state.items():
        print("tensor", name, str(tensor.dtype).replace("torch.", ""), ",".join(str(d) for d in tensor.shape))


if __name__ == "__main__":
    main()
