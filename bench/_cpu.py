"""CPU time of processes, read from ``/proc`` (Linux): what the benchmark scripts measure besides wall time.

:func:`processes` reads every process's parent and own CPU seconds once; :class:`CpuMeter` (``bench/batch.py``)
gives a phase's CPU time of this process tree against the machine's; :class:`GroupMeter` (``bench/scale.py``)
gives the CPU seconds of named groups of processes (a client, a scheduler, each worker and its kernels and
browsers) between two snapshots.  Both poll five times a second, so each process's last fifth of a second
before it exits may be missed.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable

CLK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
LINUX = sys.platform.startswith("linux")


def processes() -> dict[int, tuple[int, float, int]]:
    """Every process now: pid -> (parent pid, own CPU seconds (user + system), start time in ticks since boot)."""
    out: dict[int, tuple[int, float, int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", encoding="ascii", errors="replace") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                out[int(d)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK, int(fields[19]))
            except (OSError, ValueError, IndexError):
                pass
    return out


def cmdline(pid: int) -> str:
    """The command line of ``pid`` (empty when it is gone or has none)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


class _Poller:
    """Calls ``poll`` five times a second in a daemon thread, from the first ``start_polling`` on."""

    _thread: threading.Thread | None = None

    def poll(self) -> None:
        raise NotImplementedError

    def start_polling(self) -> None:
        if LINUX and self._thread is None:
            self._polling = threading.Event()

            def loop() -> None:
                while not self._polling.wait(0.2):
                    self.poll()

            self._thread = threading.Thread(target=loop, daemon=True)
            self._thread.start()

    def stop_polling(self) -> None:
        if self._thread is not None:
            self._polling.set()
            self._thread.join()
            self._thread = None


class CpuMeter(_Poller):
    """CPU time of the whole machine and of this process tree, between ``start`` and ``stop`` of each phase.

    The machine's busy time comes from ``/proc/stat``.  This run's is the larger of two lower bounds:
    ``os.times()`` (this process plus every child it waited for, and their waited-for children), and
    this process plus every descendant seen by polling ``/proc`` five times a second (each one's own
    CPU, the last value seen).  The second counts what the first cannot: processes nobody here waits
    for, such as the workers ``evalkit batch`` forks from its fork server, and Chromium's; it misses
    at most the last fifth of a second of each process.  The difference between the machine's and
    this run's time is what other processes used meanwhile: on a shared machine it says how
    contended each phase was.
    """

    def __init__(self) -> None:
        self.phases: dict[str, dict[str, float]] = {}
        self._seen: dict[int, float] = {}  # descendant pid -> its own CPU seconds, last seen

    @staticmethod
    def _busy() -> float:
        try:
            with open("/proc/stat", encoding="ascii") as f:
                v = [int(x) for x in f.readline().split()[1:9]]
            return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK  # user nice system irq softirq steal
        except (OSError, ValueError, IndexError):
            return float("nan")

    @staticmethod
    def _own() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    @staticmethod
    def _self() -> float:
        t = os.times()
        return t.user + t.system

    def poll(self) -> None:
        """Record the own CPU of every process below this one (and of every process seen before)."""
        me = os.getpid()
        procs = processes()
        parent = {pid: v[0] for pid, v in procs.items()}
        for pid, (_, c, _) in procs.items():
            if pid == me:  # counted by _self()
                continue
            up, hops = pid, 0
            while up not in (me, 0, 1) and up in parent and hops < 64 and up not in self._seen:
                up, hops = parent[up], hops + 1
            if pid in self._seen or up == me or up in self._seen:
                self._seen[pid] = max(c, self._seen.get(pid, 0.0))

    def _descendants(self) -> float:
        return sum(self._seen.values())

    def start(self, name: str) -> None:
        self.start_polling()
        if LINUX:
            self.poll()
        self.phases[name] = {"wall": time.perf_counter(), "busy": self._busy(), "own": self._own(),
                             "tree": self._self() + self._descendants()}

    def stop(self, name: str) -> None:
        if LINUX:
            self.poll()
        p = self.phases[name]
        p["wall"] = time.perf_counter() - p["wall"]
        p["busy"] = self._busy() - p["busy"]
        tree = self._self() + self._descendants() - p["tree"]
        p["own"] = max(self._own() - p["own"], tree)
        p["others"] = max(0.0, p["busy"] - p["own"])

    def text(self, name: str, cores: int) -> str:
        p = self.phases.get(name)
        if not p or "others" not in p or p["others"] != p["others"]:
            return f"{name}: n/a"
        return (f"{name}: this run {p['own']:.0f} CPU-s ({p['own'] / p['wall']:.2f} cores busy on average), "
                f"other processes {p['others']:.0f} CPU-s ({p['others'] / p['wall']:.2f} cores, "
                f"{p['others'] / (p['wall'] * cores):.0%} of the machine) over {p['wall']:.0f} s")


class GroupMeter(_Poller):
    """CPU seconds of groups of processes: each process below a named root, grouped by ``kind``.

    ``add_root(pid, name)`` names a process (and so everything it starts); each process below it is put in the
    group ``name`` + ``kind(its command line and its ancestors' up to the root)`` when first seen (a process that
    ``kind`` maps to ``""`` belongs to the root's own group).  :meth:`snapshot` returns each process's CPU seconds
    so far (the last value seen for processes that have exited); :meth:`groups` the difference between two
    snapshots, summed by group.  Processes are told apart by pid and start time, so a reused pid is a new one.
    """

    def __init__(self, kind: Callable[[list[str]], str], split: Callable[[str], bool] = lambda group: False) -> None:
        self.kind = kind
        #: Which groups' processes are also measured thread by thread (:meth:`threads`).
        self.split = split
        self._threads: dict[tuple[int, int], dict[int, float]] = {}  # (pid, start) -> thread id -> own CPU seconds
        self.roots: dict[int, str] = {}
        self._group: dict[tuple[int, int], str] = {}  # (pid, start) -> group
        self._cpu: dict[tuple[int, int], float] = {}  # (pid, start) -> own CPU seconds, last seen
        self._lock = threading.Lock()

    def add_root(self, pid: int, name: str) -> None:
        with self._lock:
            self.roots[pid] = name
        self.poll()

    def poll(self) -> None:
        procs = processes()
        with self._lock:
            for pid, (_, c, start) in procs.items():
                key = (pid, start)
                if key not in self._group:
                    chain, up, hops = [], pid, 0
                    while up in procs and up not in self.roots and hops < 64:
                        chain.append(up)
                        up, hops = procs[up][0], hops + 1
                    if up not in self.roots:
                        continue
                    kind = self.kind([cmdline(p) for p in chain])  # the process first, then its ancestors
                    self._group[key] = self.roots[up] + (f" {kind}" if kind else "")
                self._cpu[key] = max(c, self._cpu.get(key, 0.0))
                if self.split(self._group[key]):
                    seen = self._threads.setdefault(key, {})
                    for tid, tc in _threads(pid).items():
                        seen[tid] = max(tc, seen.get(tid, 0.0))

    def group_of(self, pid: int) -> str | None:
        """The group of the process ``pid`` (the latest one of that pid)."""
        with self._lock:
            found = [(start, g) for (p, start), g in self._group.items() if p == pid]
        return max(found)[1] if found else None

    def snapshot(self) -> dict[tuple[int, int], float]:
        """Each process's CPU seconds so far; its threads' under the key ``(pid, start, thread id)`` where split."""
        self.poll()
        with self._lock:
            return {**self._cpu, **{(*key, tid): c for key, ts in self._threads.items() for tid, c in ts.items()}}

    def groups(self, before: dict[tuple[int, int], float], after: dict[tuple[int, int], float]) -> dict[str, float]:
        """CPU seconds of each group between two :meth:`snapshot` s."""
        out: dict[str, float] = {}
        for key, c in after.items():
            if len(key) == 2:
                group = self._group[key]
                out[group] = out.get(group, 0.0) + c - before.get(key, 0.0)
        return out

    def threads(self, before: dict[tuple, float], after: dict[tuple, float]) -> dict[int, dict[int, float]]:
        """CPU seconds of each thread (pid -> thread id -> seconds) of the split groups' processes between two
        :meth:`snapshot` s."""
        out: dict[int, dict[int, float]] = {}
        for key, c in after.items():
            if len(key) == 3:
                out.setdefault(key[0], {})[key[2]] = c - before.get(key, 0.0)
        return out


def _threads(pid: int) -> dict[int, float]:
    """Each thread of ``pid``: thread id -> its own CPU seconds."""
    out: dict[int, float] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[int(tid)] = (int(fields[11]) + int(fields[12])) / CLK
        except (OSError, ValueError, IndexError):
            pass
    return out
