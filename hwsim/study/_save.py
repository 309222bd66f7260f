"""What every study writes: its table as CSV, its markdown and its figures, each file whole."""

from __future__ import annotations


class SavedStudy:
    """A study with ``table`` (a DataFrame), ``markdown()`` and ``figures()`` ({file name: matplotlib Figure})."""

    def save(self, out_dir) -> None:
        """study.csv, study.md and the figures into ``out_dir``, each written whole."""
        from .._util import output_dir, write_text, write_with

        with output_dir(out_dir) as out:
            write_with(out / "study.csv", lambda tmp: self.table.to_csv(tmp, index=False))
            write_text(out / "study.md", self.markdown())
            for name, fig in self.figures().items():
                write_with(out / name, lambda tmp, fig=fig: fig.savefig(tmp, dpi=110, format="png"))
