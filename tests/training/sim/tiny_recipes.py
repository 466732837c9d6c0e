"""Tiny copies of the shipped recipes (12^3, two snapshots by 0.6 T, eager steps), for tests
that run recipe runs end to end in seconds."""

from training.sim.recipes import RECIPE_DIR

#: recipe keys replaced, and their tiny values (TOML text)
TINY = {"cells": "12", "end_turnovers": "0.6", "snapshot_turnovers": "[0.4, 0.6]",
        "compile": "false", "mach_control_start_turnovers": "0.5"}


def write_tiny_recipe(name, folder, **more):
    """``folder/<name>.toml``: recipe ``name`` with `TINY` (and ``more``: key -> TOML text)."""
    replaced = {**TINY, **more}
    lines = []
    for line in (RECIPE_DIR / f"{name}.toml").read_text().splitlines():
        key = line.split("=")[0].strip()
        lines.append(f"{key} = {replaced[key]}" if key in replaced and "=" in line else line)
    (folder / f"{name}.toml").write_text("\n".join(lines) + "\n")
