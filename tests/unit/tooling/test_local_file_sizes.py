"""A lasting rule for local/ (issue 14): no file grows past 600 lines, so each room stays one
job a reader can hold in mind."""

from pathlib import Path

LOCAL = Path(__file__).resolve().parents[3] / "local"
LIMIT = 600
# Build and cache folders are machine output, not code anyone reads.
IGNORED_DIRS = {"__pycache__", ".mypy_cache", ".ruff_cache"}


def oversized(root: Path, limit: int = LIMIT) -> dict[str, int]:
    """Every file under `root` longer than `limit` lines, with its line count."""
    found = {}
    for path in sorted(root.rglob("*")):
        parts = set(path.relative_to(root).parts)
        if (
            not path.is_file()
            or parts & IGNORED_DIRS
            or any(p.endswith(".egg-info") for p in parts)
        ):
            continue
        lines = len(path.read_bytes().splitlines())
        if lines > limit:
            found[str(path.relative_to(root))] = lines
    return found


def test_no_file_in_local_is_longer_than_600_lines() -> None:
    assert LOCAL.is_dir()
    assert oversized(LOCAL) == {}, "split these files into smaller modules"


def test_the_size_check_names_a_file_one_line_over_the_limit(tmp_path: Path) -> None:
    (tmp_path / "room").mkdir()
    (tmp_path / "room" / "long.py").write_text("x = 1\n" * 601)
    (tmp_path / "room" / "exact.py").write_text("x = 1\n" * 600)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "cached.pyc").write_bytes(b"\n" * 5000)
    assert oversized(tmp_path) == {"room/long.py": 601}
