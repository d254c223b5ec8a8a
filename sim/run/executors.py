"""Where a batch's runs execute: a process pool (the default) or a dask.distributed cluster, behind
one ``concurrent.futures`` interface, with what it takes to stop them and to replace a broken pool."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import sys

from ..errors import ScenarioError


def limit_threads(threads: int) -> None:
    """One numba thread per run: workers are the parallelism, and results must not depend on threads."""
    try:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    except Exception:  # noqa: BLE001 - no numba threading layer: nothing to limit
        pass


def _worker_init(parent_pid: int) -> None:
    """Process-pool workers die with the batch (even on kill -9), so no orphan writes a run later."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:  # noqa: BLE001 - best effort
            pass
    if os.getppid() != parent_pid:  # the batch died before prctl took effect
        os._exit(1)


class Backend:
    """An executor, who owns it, and how to describe and close it."""

    def __init__(self, executor: cf.Executor, description: str, workers: int, *, owned: bool,
                 remake=None, close=None):
        self.executor = executor
        self.description = description
        self.workers = workers
        self.owned = owned
        self._remake = remake
        self._close = close

    def remake(self) -> bool:
        """A fresh executor after the old one broke (a worker process died); False if we cannot."""
        if self._remake is None:
            return False
        self.kill()
        self.executor = self._remake()
        return True

    def kill(self) -> None:
        """Stop now: cancel what is queued, end our worker processes."""
        if not self.owned:
            return
        try:
            self.executor.shutdown(wait=False, cancel_futures=True)
        except Exception:  # noqa: BLE001
            pass
        for proc in list((getattr(self.executor, "_processes", None) or {}).values()):
            try:
                proc.kill()
            except Exception:  # noqa: BLE001
                pass
        if self._close:
            self._close()

    def close(self) -> None:
        if not self.owned:
            return
        self.executor.shutdown(wait=True)
        if self._close:
            self._close()


def _process_backend(workers: int) -> Backend:
    def make():
        return cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_worker_init, initargs=(os.getpid(),))

    return Backend(make(), f"process pool, {workers} worker{'s' * (workers != 1)}", workers, owned=True,
                    remake=make)


def _dask_backend(address: str, workers: int | None) -> Backend:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ScenarioError("running on a dask scheduler needs the dask extra: "
                            "pip install 'protest-sim[dask]'") from None
    cluster = None
    try:
        if address == "local" or address.startswith("local:"):
            n = int(address.split(":", 1)[1]) if ":" in address else (workers or os.cpu_count() or 1)
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as err:
        if cluster is not None:
            cluster.close()
        reason = " ".join(str(err).split())  # one line, whatever dask's message spans
        raise ScenarioError(f"cannot reach the dask scheduler at {address}: {reason}") from None
    n_workers = len(client.scheduler_info().get("workers", {}))
    threads = sum(w.get("nthreads", 1) for w in client.scheduler_info().get("workers", {}).values())

    def close():
        client.close()
        if cluster is not None:
            cluster.close()

    return Backend(client.get_executor(pure=False), f"dask {client.scheduler.address} ({n_workers} workers, "
                    f"{threads} threads)", max(threads, 1), owned=True, close=close)


def make_backend(*, workers: int | None = None, scheduler: str | None = None) -> Backend:
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ScenarioError(f"workers must be a whole number >= 1, got {workers!r}")
    if scheduler and scheduler != "processes":
        return _dask_backend(scheduler, workers)
    return _process_backend(workers or os.cpu_count() or 1)


def local_scheduler(address: str) -> bool:
    """True for the schedulers that start workers on this machine only."""
    return address in ("processes", "local") or address.startswith("local:")
