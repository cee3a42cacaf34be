"""Data-parallel training (DDP) in a few lines: one process per device, same model everywhere.

``torchrun --nproc_per_node=N -m groundup.train ...`` starts N copies of this program and
gives each one environment variables: ``RANK`` (0..N-1 over all machines), ``LOCAL_RANK``
(the device index on this machine) and ``WORLD_SIZE`` (N). Each process computes
gradients on its own micro-batches; ``DistributedDataParallel`` averages them with an
all-reduce during ``backward()``, so every process takes the same optimizer step.
Without those variables this is a single ordinary process.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job."""

    rank: int = 0  # global index of this process
    local_rank: int = 0  # index on this machine (= which GPU it drives)
    world_size: int = 1  # number of processes
    backend: str = ""  # "nccl" (GPUs), "gloo" (CPU) or "" when not distributed

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Only the main process prints, plots and writes checkpoints (all processes evaluate)."""
        return self.rank == 0


def setup(device: str) -> tuple[DistInfo, str]:
    """Join the process group when launched by torchrun; returns
    (info, this process's device).

    NCCL (NVIDIA's collective library) moves gradients GPU-to-GPU; gloo does it through
    CPU memory and is what works on a laptop."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), device
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if device.startswith("cuda"):
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank, local_rank, world, backend), device


def teardown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


@contextmanager
def process_group(device: str):
    """``with process_group("cuda") as (info, device):`` ... leaves the group even on errors."""
    info, device = setup(device)
    try:
        yield info, device
    finally:
        teardown(info)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def mean_across(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """The average of ``t`` over all processes (``t`` itself when alone)."""
    return sum_across(t, info) / info.world_size


def sum_across(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """The sum of ``t`` over all processes (``t`` itself when alone)."""
    if not info.enabled:
        return t
    t = t.clone()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t
