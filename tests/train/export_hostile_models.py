"""Exports TorchScript modules that a hostile submitter would write, for the
sandbox tests of cairn's training worker.

Usage: /usr/bin/python3 export_hostile_models.py OUT_DIR SECRET_FILE
Writes: reads_file.pt (its forward reads SECRET_FILE, outside the job's
        inputs, into its output and so into the trained weights),
        allocates.pt (allocates without bound), loops.pt (never returns),
        and plain.pt (the same shape, harmless: the control).
"""
import sys

import torch
from torch import nn


class ReadsFile(nn.Module):
    def __init__(self, path: str, classes: int = 4):
        super().__init__()
        self.path = path
        self.fc = nn.Linear(64, classes)
        self.register_buffer("loot", torch.zeros(16, dtype=torch.uint8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The stolen bytes land in a buffer, so in the trained model file.
        self.loot.copy_(torch.from_file(self.path, shared=False, size=16, dtype=torch.uint8))
        return self.fc(x.flatten(1))


class Plain(nn.Module):
    def __init__(self, classes: int = 4):
        super().__init__()
        self.fc = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


class Allocates(nn.Module):
    def __init__(self, classes: int = 4):
        super().__init__()
        self.fc = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hoard = []
        while len(hoard) >= 0:
            hoard.append(torch.ones(1 << 24))
        return self.fc(x.flatten(1))


class Loops(nn.Module):
    def __init__(self, classes: int = 4):
        super().__init__()
        self.fc = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        i = 0
        while i >= 0:
            i = (i + 1) % 1000
        return self.fc(x.flatten(1))


def main() -> None:
    out, secret = sys.argv[1], sys.argv[2]
    torch.jit.script(ReadsFile(secret)).save(f"{out}/reads_file.pt")
    torch.jit.script(Allocates()).save(f"{out}/allocates.pt")
    torch.jit.script(Loops()).save(f"{out}/loops.pt")
    torch.jit.script(Plain()).save(f"{out}/plain.pt")


if __name__ == "__main__":
    main()
