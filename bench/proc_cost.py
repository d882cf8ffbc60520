"""CPU time and wake-ups of each process of a benchmark, from /proc (Linux).

The end-to-end and hop benchmarks use it to attribute what OpenPCC adds: for each process (by
role: `openpcc node`, `openpcc gateway`, ..., `llama-server`, the load generator excluded) the CPU
time it used and how often its threads blocked and were woken (voluntary context switches) or were
preempted (involuntary), between two snapshots. Divided by the requests or output tokens of the run,
these name the costs: on a machine whose cores the engine already uses, every wake-up of another
process per token takes a core from the engine.

  before = Snapshot.take(match)        # match(argv) -> role name or None
  ... run the load ...
  cost = Snapshot.take(match).minus(before)   # {role: Cost}
"""
import os
from dataclasses import dataclass

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass
class Cost:
    cpu_ms: float = 0.0
    wakeups: int = 0      # voluntary context switches, summed over threads
    preempted: int = 0    # involuntary context switches

    def add(self, other):
        self.cpu_ms += other.cpu_ms
        self.wakeups += other.wakeups
        self.preempted += other.preempted

    def per(self, n):
        return Cost(self.cpu_ms / n, self.wakeups / n, self.preempted / n) if n else Cost()


def _read_cost(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime include the threads that already exited; the switch counts are per thread.
    cpu_ms = (int(fields[11]) + int(fields[12])) * 1000.0 / _TICKS_PER_SECOND
    wakeups = preempted = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        wakeups += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        preempted += int(line.split()[1])
        except FileNotFoundError:
            pass  # the thread ended between listing and reading
    return Cost(cpu_ms, wakeups, preempted)


class Snapshot:
    def __init__(self, by_pid):
        self.by_pid = by_pid  # pid -> (role, Cost)

    @staticmethod
    def take(match):
        by_pid = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
                role = match(argv) if argv else None
                if role:
                    by_pid[pid] = (role, _read_cost(pid))
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        return Snapshot(by_pid)

    def minus(self, earlier):
        """Per role, what the processes present in both snapshots used in between."""
        out = {}
        for pid, (role, now) in self.by_pid.items():
            if pid not in earlier.by_pid:
                continue
            then = earlier.by_pid[pid][1]
            out.setdefault(role, Cost()).add(
                Cost(now.cpu_ms - then.cpu_ms, now.wakeups - then.wakeups, now.preempted - then.preempted))
        return out


def openpcc_role(tag):
    """A matcher: `openpcc ROLE ...` processes whose arguments mention `tag` (their state directory),
    and llama-server."""
    def match(argv):
        exe = os.path.basename(argv[0])
        if exe == "llama-server":
            return "llama-server"
        if exe == "openpcc" and len(argv) > 1 and argv[1] != "up" and any(tag in a for a in argv):
            return argv[1]
        return None
    return match
