"""Reports: pandas tables, matplotlib figures, CSV/JSON/Markdown output (written whole or not at all)."""

from ._formats import format_table, plot_levels
from ._io import atomic_path, check_writable_dir, write_text, write_with
from ._simulation import ENERGY_COMPONENTS, Report

__all__ = [
    "ENERGY_COMPONENTS",
    "Report",
    "atomic_path",
    "check_writable_dir",
    "format_table",
    "plot_levels",
    "write_text",
    "write_with",
]
