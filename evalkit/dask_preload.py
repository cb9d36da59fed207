"""``dask worker tcp://SCHEDULER:8786 --preload evalkit.dask_preload``: a Dask worker that is ready for reports when
it starts, not at its first report.

Dask runs :func:`dask_setup` as the worker starts (``--preload``, documented in ``docs/cluster.md``).  It starts,
for each of the worker's threads, the Jupyter kernel with the report code imported and the headless Chromium, and
loads what the worker process needs for a report (:func:`evalkit.execute.preload_dask_worker`), in the background:
the worker joins the cluster at once, and a task that comes meanwhile waits for its thread to be ready.  Without
it the first report of each thread does all this.  Reports are the same either way: the first task gives a kernel
its client's settings and province.
"""

from __future__ import annotations

from typing import Any

__all__ = ["dask_setup"]


def dask_setup(worker: Any) -> None:
    """Called by Dask with the starting worker: get its threads ready for reports (in the background)."""
    from .execute import preload_dask_worker

    preload_dask_worker(worker.state.nthreads)
