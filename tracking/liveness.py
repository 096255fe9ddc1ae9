"""Identify the current process so runs left RUNNING by a dead process can be detected."""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    """This machine's host name."""
    return socket.gethostname()


def _stat_fields(pid: int) -> list[str]:
    """Fields of ``/proc/<pid>/stat`` after the command name (empty when unreadable)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode(errors="replace")
    except OSError:
        return []
    return stat[stat.rfind(")") + 2 :].split()


def process_start(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (Linux), to tell reused pids apart."""
    fields = _stat_fields(pid)
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _is_zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] in ("Z", "X")


def is_alive(pid: int, started: int | None) -> bool:
    """True when the process ``pid`` (started at ``started`` if known) still runs here."""
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if _is_zombie(pid):
        return False
    if started is not None:
        now = process_start(pid)
        if now is not None and now != started:
            return False
    return True


_owner: dict[int, dict[str, object]] = {}


def current_owner() -> dict[str, object]:
    """Columns recording who owns a run: host, pid and the pid's start time (cached per pid)."""
    pid = os.getpid()
    owner = _owner.get(pid)
    if owner is None:
        owner = _owner[pid] = {"host": hostname(), "pid": pid, "proc_start": process_start(pid)}
    return dict(owner)
