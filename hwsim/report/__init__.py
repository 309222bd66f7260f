"""Presentation, at the top of the library: format tables and plots, and the simulation `Report` (tables,
figures, CSV/JSON/Markdown written whole or not at all)."""

from ._formats import format_table, plot_levels
from ._simulation import Report

__all__ = [
    "Report",
    "format_table",
    "plot_levels",
]
