"""Endless shuffled minibatch indexes over the training set, saved and restored exactly."""

from __future__ import annotations

from typing import Any

import torch

from gan_cli.errors import GanError


class EpochSampler:
    """Endless minibatch indexes: a fresh permutation each epoch, last partial batch dropped.

    The permutation comes from its own CPU generator so the data order is independent of the
    model's random numbers and can be saved and restored exactly (see `state_dict`).
    """

    def __init__(self, num_examples: int, batch_size: int, seed: int, device: torch.device) -> None:
        if batch_size > num_examples:
            raise GanError(f"train.batch_size: {batch_size} is larger than the {num_examples} training examples")
        self.num_examples = num_examples
        self.batch_size = batch_size
        self.device = device
        self.generator = torch.Generator().manual_seed(seed)
        self.batches_per_epoch = num_examples // batch_size
        self.epoch = 0  # completed epochs
        self.position = 0  # batches served in the current epoch
        self.restarted = False  # set by load_state_dict when the saved order was cut in another batch size
        self._perm = self._new_permutation()

    def _new_permutation(self) -> torch.Tensor:
        perm = torch.randperm(self.num_examples, generator=self.generator)
        return (
            perm[: self.batches_per_epoch * self.batch_size]
            .view(self.batches_per_epoch, self.batch_size)
            .to(self.device)
        )

    def next(self) -> torch.Tensor:
        if self.position == self.batches_per_epoch:
            self.epoch += 1
            self.position = 0
            self._perm = self._new_permutation()
        idx = self._perm[self.position]
        self.position += 1
        return idx

    @property
    def fractional_epoch(self) -> float:
        return self.epoch + self.position / self.batches_per_epoch

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "position": self.position,
            "permutation": self._perm.cpu(),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the saved order; one cut into batches of another size (a run of another number of
        processes) ends the epoch in progress, and the next starts afresh (`restarted` says so)."""
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        self._perm = state["permutation"].to(self.device)
        self.generator.set_state(state["generator"])
        self.restarted = tuple(self._perm.shape) != (self.batches_per_epoch, self.batch_size)
        if self.restarted:
            if self.position == 0:  # nothing of this epoch served yet: draw its order in the new size
                self._perm = self._new_permutation()
            else:  # next() starts the next epoch, with a permutation from the restored generator
                self._perm, self.position = (
                    self._perm.new_zeros(self.batches_per_epoch, self.batch_size),
                    self.batches_per_epoch,
                )
