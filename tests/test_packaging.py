"""The package list in pyproject.toml covers every package in the tree (a normal install would drop others)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapped = {v: k for k, v in config.get("package-dir", {}).items()}  # "rtl" -> "hwsim.rtl"
    found = set()
    for init in ROOT.glob("*/**/__init__.py"):
        rel = init.parent.relative_to(ROOT)
        top = rel.parts[0]
        if top == "hwsim":
            found.add(".".join(rel.parts))
        elif top in mapped:
            found.add(".".join((mapped[top], *rel.parts[1:])))
    for init in ROOT.glob("*/__init__.py"):
        top = init.parent.name
        if top in mapped:
            found.add(mapped[top])
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
