"""The folder a run writes (`--out`): checked before anything runs, emptied as the run starts.

Its previous contents are replaced (docs/scenarios.md), except where that would delete the
user's own work: the current folder or one that holds it, the home folder, a folder holding
a repository (`.git`) or scenario files (`*.yaml`) is refused when it holds anything a run
does not write (`--out .` beside the scenario, `--out ~`, `--out examples`), and nothing in
it is deleted.
"""

import shutil
from pathlib import Path

# Everything a run, its screenshots (`--screenshot`) and `tenure chaos run` write in it.
WRITTEN = frozenset(
    {
        "state.json",
        "metrics.json",
        "events.jsonl",
        "report.html",
        ".report.html.part",  # a report being written when the run was stopped
        "report.png",
        "outbox",
        "emails",
        "chaos.json",
        "comparison.json",
    }
)


class OutFolderError(ValueError):
    """The folder cannot take a run's outputs; the message says why, in the user's terms."""


def check_all(outs: list[Path]) -> None:
    """`check` for several runs' folders: each is looked at before any is created."""
    for out in outs:
        check(out, create=False)
    for out in outs:
        check(out)


def check(out: Path, create: bool = True) -> None:
    """Refuses a path that is not a folder, cannot be made one, or holds more than a run's
    outputs; creates it when missing (unless not `create`), so that nothing is run for
    outputs that cannot be written."""
    if out.exists() and not out.is_dir():
        raise OutFolderError(f"{out} is a file; expected a folder (new, empty or a run's own)")
    if out.is_dir():
        foreign = sorted(entry.name for entry in out.iterdir() if entry.name not in WRITTEN)
        if foreign and _holds_work(out, foreign):
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise OutFolderError(
                f"{out} holds files a run does not write ({shown}), which replacing its "
                f"contents would delete; expected a new or empty folder, or an earlier run's"
            )
        return
    if not create:
        return
    try:
        out.mkdir(parents=True)
    except OSError as exc:
        raise OutFolderError(f"cannot create {out}: {exc.strerror or exc}") from None


def _holds_work(out: Path, foreign: list[str]) -> bool:
    """Whether emptying `out` could delete the user's own work rather than a stale output."""
    here = out.resolve()
    cwd = Path.cwd().resolve()
    if here == cwd or here in cwd.parents or here == Path.home().resolve():
        return True
    return any(name == ".git" or name.endswith((".yaml", ".yml")) for name in foreign)


def empty(out: Path) -> None:
    """Removes an earlier run's outputs, keeping the folder itself (it may be `.`)."""
    out.mkdir(parents=True, exist_ok=True)
    for entry in out.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
