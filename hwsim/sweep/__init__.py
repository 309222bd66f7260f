"""Design-space sweeps: many accelerator configurations and compressions of models, one command.

`load_sweep` reads and validates a sweep file (`hwsim.sweep._spec` describes it), `run_sweep` runs its points on
dask.distributed (a LocalCluster by default, or a scheduler by address) into a resumable Parquet dataset,
`read_results` reads it back (so does ``pandas.read_parquet(DIR)``) and `write_report` redraws its figures.
docs/sweeps.md has the file format, the row schema and the execution model.
"""

from ._report import sweep_figures, write_report
from ._run import SweepRun, run_sweep
from ._spec import Point, Sweep, load_sweep, sweep_from_dict
from ._store import read_results

__all__ = ["Point", "Sweep", "SweepRun", "load_sweep", "read_results", "run_sweep", "sweep_figures",
           "sweep_from_dict", "write_report"]
