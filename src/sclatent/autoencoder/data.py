"""Training data: sparse on the host (or on the GPU), densified one minibatch at a time.

The CSR matrices stay sparse. On the CPU a minibatch is a scipy row slice made dense (fast C
code). When a GPU can hold the whole sparse matrix it is moved there once and minibatches are
gathered on the device with tensor ops that need no host synchronisation, so training is
bound by the network's arithmetic, not by data transfer. There is no per-cell Python code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from .device import device_memory_budget

log = logging.getLogger("sclatent.autoencoder")


class HostRows:
    """Rows of a CSR matrix in host memory, densified per minibatch and sent to `device`."""

    def __init__(self, matrix: sp.csr_matrix, device: torch.device) -> None:
        self.matrix = matrix
        self.device = device

    def dense(self, rows: np.ndarray) -> torch.Tensor:
        batch = torch.from_numpy(self.matrix[rows].toarray())
        return batch.to(self.device, non_blocking=True) if self.device.type != "cpu" else batch


class DeviceRows:
    """Rows of a CSR matrix held on the device, gathered into dense minibatches there.

    Each row's stored entries are read through a fixed-width window (the longest row), padded
    entries contribute zeros through scatter_add, so shapes never depend on the data and the
    result is deterministic.
    """

    def __init__(self, matrix: sp.csr_matrix, device: torch.device) -> None:
        self.n_cols = matrix.shape[1]
        self.indptr = torch.from_numpy(matrix.indptr.astype(np.int64)).to(device)
        self.indices = torch.from_numpy(matrix.indices.astype(np.int32, copy=False)).to(device)
        self.values = torch.from_numpy(matrix.data).to(device)
        if self.values.numel() == 0:  # keep position 0 valid for the padded gather
            self.indices = torch.zeros(1, dtype=torch.int32, device=device)
            self.values = torch.zeros(1, dtype=torch.float32, device=device)
        width = int(np.diff(matrix.indptr).max()) if matrix.shape[0] else 0
        self.window = torch.arange(max(width, 1), device=device)

    def dense(self, rows: torch.Tensor) -> torch.Tensor:
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        valid = self.window[None, :] < lengths[:, None]
        positions = torch.where(valid, starts[:, None] + self.window[None, :], 0)
        values = self.values[positions] * valid
        columns = self.indices[positions].long()
        out = torch.zeros(rows.shape[0], self.n_cols, dtype=values.dtype, device=rows.device)
        return out.scatter_add_(1, columns, values)


def even_batches(n_cells: int, batch_size: int) -> list[int]:
    """Sizes of ceil(n / batch_size) minibatches that differ by at most one cell."""
    n_batches = max(1, -(-n_cells // batch_size))
    return [n_cells // n_batches + (i < n_cells % n_batches) for i in range(n_batches)]


def fixed_batches(
    n_cells: int, batch_size: int, *, drop_last: bool = False, min_size: int = 1
) -> list[int]:
    """Sizes of minibatches of exactly `batch_size` cells, as a torch DataLoader cuts them: the
    last, smaller one is kept unless `drop_last` or it has fewer than `min_size` cells."""
    sizes = [batch_size] * (n_cells // batch_size)
    rest = n_cells % batch_size
    if rest and not drop_last and rest >= min_size:
        sizes.append(rest)
    return sizes


def digest(*matrices: sp.csr_matrix | None) -> str:
    """A cheap fingerprint of CSR matrices, so a checkpoint is never resumed on other data."""
    import hashlib

    hashed = hashlib.sha256()
    for matrix in matrices:
        if matrix is not None:
            for part in (matrix.indptr, matrix.indices, matrix.data):
                hashed.update(np.ascontiguousarray(part).view(np.uint8))
    return hashed.hexdigest()


@dataclass
class Batch:
    x: torch.Tensor
    target: torch.Tensor
    log_size_factor: torch.Tensor | None


def _nbytes(matrix: sp.csr_matrix) -> int:
    return matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.size * 8


class CellData:
    """Model input X, its target (X itself, or raw counts with size factors), on one device."""

    def __init__(
        self,
        x: sp.csr_matrix,
        device: torch.device,
        counts: sp.csr_matrix | None = None,
        size_factor: np.ndarray | None = None,
    ) -> None:
        self.n_cells, self.n_genes = x.shape
        self.device = device
        matrices = [x] if counts is None else [x, counts]
        needed = sum(_nbytes(m) for m in matrices)
        self.on_device = needed <= device_memory_budget(device)  # never on the CPU: budget 0
        if device.type != "cpu":
            where = (
                "on the device" if self.on_device else "in host memory (too large for the device)"
            )
            log.info("input matrices (%.1f MB sparse) kept %s", needed / 1e6, where)
        source = DeviceRows if self.on_device else HostRows
        self.x = source(x, device)
        self.counts = source(counts, device) if counts is not None else None
        self.log_size_factor = None
        if size_factor is not None:
            log_sf = torch.from_numpy(np.log(np.asarray(size_factor, dtype=np.float32)))
            self.log_size_factor = log_sf.to(device)

    def split(self, cells: torch.Tensor, sizes: list[int]) -> list:
        """The first sum(sizes) `cells` cut into minibatches of `sizes`, as row indices in the
        form the row source wants (device tensor or numpy)."""
        cells = cells[: sum(sizes)]
        if not sizes:
            return []
        if self.on_device:
            return list(torch.split(cells.to(self.device), sizes))
        return np.split(cells.numpy(), np.cumsum(sizes)[:-1])

    def batch(self, rows) -> Batch:
        x = self.x.dense(rows)
        if self.counts is None:
            return Batch(x, x, None)
        log_sf_rows = torch.as_tensor(rows, device=self.log_size_factor.device)
        return Batch(x, self.counts.dense(rows), self.log_size_factor[log_sf_rows])


@torch.no_grad()
def encode(network: torch.nn.Module, data: CellData, chunk: int = 4096) -> np.ndarray:
    """`network.encode` of every cell of `data` (cells x latent, float32, in order), in eval
    mode and a chunk of cells at a time, so no dense copy of the whole matrix is made."""
    network.eval()
    rows = data.split(torch.arange(data.n_cells), even_batches(data.n_cells, chunk))
    return torch.cat([network.encode(data.x.dense(r)).float().cpu() for r in rows]).numpy()
