"""No two modules import each other (a two-file import circle): each such pair was cut by
moving what both need into a module of its own (reference engine/reader -> active.py,
local/local_peers -> local_service.py; services names the user's backend by a Protocol).
A package importing its own submodules (an __init__ that re-exports) is not a circle."""

from __future__ import annotations

from pathlib import Path

from tests.test_wings import imported

ROOT = Path(__file__).resolve().parents[1]


def modules() -> dict[str, Path]:
    found = {}
    for path in [*ROOT.glob("infra/**/*.py"), *ROOT.glob("steps/*.py"), *ROOT.glob("videos/*.py")]:
        if "node_modules" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def circles(known: dict[str, Path]) -> list[tuple[str, str]]:
    """Pairs of modules that import each other, a package and its own submodules aside."""
    edges = {name: {target for _, dotted in imported(path) for target in (dotted, dotted.rpartition(".")[0])
                    if target in known and target != name}
             for name, path in known.items()}
    return sorted({tuple(sorted((a, b))) for a, targets in edges.items() for b in targets
                   if a in edges.get(b, ()) and not (b.startswith(a + ".") or a.startswith(b + "."))})


def test_no_two_modules_import_each_other():
    assert circles(modules()) == [], "modules that import each other"


def test_the_check_sees_a_circle_even_behind_type_checking(tmp_path):
    (tmp_path / "a.py").write_text("from pkg.b import B\n")
    (tmp_path / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import A\n")
    (tmp_path / "c.py").write_text("import pkg.a\n")
    known = {"pkg.a": tmp_path / "a.py", "pkg.b": tmp_path / "b.py", "pkg.c": tmp_path / "c.py"}
    assert circles(known) == [("pkg.a", "pkg.b")]
