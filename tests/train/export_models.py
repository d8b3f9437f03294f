"""Exports TorchScript modules the way users write them, for cairn's tests.

Usage: /usr/bin/python3 export_models.py OUT_DIR
Writes: mlp.pt (a scripted nn.Module with a Sequential and a custom forward),
        no_params.pt (a module without parameters), wrong_output.pt (returns
        the wrong number of logits for 4 classes).
"""
import sys

import torch
from torch import nn


class QuadrantNet(nn.Module):
    def __init__(self, classes: int = 4):
        super().__init__()
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(64, 24), nn.ReLU())
        self.norm = nn.LayerNorm(24)
        self.head = nn.Linear(24, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        return self.head(torch.tanh(self.norm(h)))


class NoParams(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :4] * 2.0


class WrongOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


def main() -> None:
    out = sys.argv[1]
    torch.manual_seed(0)
    torch.jit.script(QuadrantNet()).save(f"{out}/mlp.pt")
    torch.jit.script(NoParams()).save(f"{out}/no_params.pt")
    torch.jit.script(WrongOutput()).save(f"{out}/wrong_output.pt")


if __name__ == "__main__":
    main()
