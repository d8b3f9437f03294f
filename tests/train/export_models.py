"""Exports TorchScript modules the way users write them, for cairn's tests.

Usage: /usr/bin/python3 export_models.py OUT_DIR
Writes: mlp.pt (a scripted nn.Module with a Sequential and a custom forward),
        no_params.pt (a module without parameters), wrong_output.pt (returns
        the wrong number of logits for 4 classes), and models with randomness
        and buffers: bn_dropout_cnn.pt, noisy_mlp.pt, lstm.pt,
        frozen_backbone.pt; counts_calls.pt keeps state in a plain attribute.
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


class BatchNormDropoutCnn(nn.Module):
    """A CNN as users write them: BatchNorm (running statistics and an int64
    counter as buffers) and Dropout (random masks while training)."""

    def __init__(self, classes: int = 4):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
            nn.Dropout2d(0.1), nn.Flatten(), nn.Linear(6 * 4 * 4, 24), nn.BatchNorm1d(24), nn.ReLU(),
            nn.Dropout(0.3))
        self.head = nn.Linear(24, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class NoisyMlp(nn.Module):
    """Adds Gaussian noise to its input while training (a regulariser)."""

    def __init__(self, classes: int = 4):
        super().__init__()
        self.fc = nn.Linear(64, 32)
        self.head = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        if self.training:
            x = x + 0.1 * torch.randn_like(x)
        return self.head(torch.relu(self.fc(x)))


class LstmClassifier(nn.Module):
    """Two-layer LSTM with dropout between the layers, one row per step."""

    def __init__(self, classes: int = 4):
        super().__init__()
        self.lstm = nn.LSTM(input_size=8, hidden_size=16, num_layers=2, dropout=0.2, batch_first=True)
        self.head = nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = x.reshape(x.size(0), 8, 8)
        out, _ = self.lstm(seq)
        return self.head(out[:, -1])


class FrozenBackbone(nn.Module):
    """Fine-tuning: a frozen backbone (requires_grad False) and a trained head."""

    def __init__(self, classes: int = 4):
        super().__init__()
        self.backbone = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.BatchNorm1d(32))
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.head = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class CountsCalls(nn.Module):
    """Keeps state outside parameters and buffers: cannot be checkpointed."""

    def __init__(self, classes: int = 4):
        super().__init__()
        self.fc = nn.Linear(64, classes)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.fc(x.flatten(1)) * (1.0 + 0.0 * self.calls)


class HiddenTensorState(nn.Module):
    """Mutates a tensor attribute that is not a registered buffer: its
    training step depends on state cairn cannot see or reproduce."""

    def __init__(self, classes: int = 4):
        super().__init__()
        self.fc = nn.Linear(64, classes)
        self.offset = torch.zeros(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.offset.add_(0.25)
        return self.fc(x.flatten(1)) + self.offset


def main() -> None:
    out = sys.argv[1]
    torch.manual_seed(0)
    torch.jit.script(QuadrantNet()).save(f"{out}/mlp.pt")
    torch.jit.script(NoParams()).save(f"{out}/no_params.pt")
    torch.jit.script(WrongOutput()).save(f"{out}/wrong_output.pt")
    torch.jit.script(BatchNormDropoutCnn()).save(f"{out}/bn_dropout_cnn.pt")
    torch.jit.script(NoisyMlp()).save(f"{out}/noisy_mlp.pt")
    torch.jit.script(LstmClassifier()).save(f"{out}/lstm.pt")
    torch.jit.script(FrozenBackbone()).save(f"{out}/frozen_backbone.pt")
    torch.jit.script(CountsCalls()).save(f"{out}/counts_calls.pt")
    torch.jit.script(HiddenTensorState()).save(f"{out}/hidden_state.pt")


if __name__ == "__main__":
    main()
