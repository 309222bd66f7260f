"""The bottom layer every package may import: files written whole, the disk cache, and argument checks.

Nothing here knows about formats, hardware or reports; it imports only the standard library and numpy.
"""

from .cache import cache_dir, cache_path, read_cached, write_cached
from .checks import as_code_array, as_float_array, check_int
from .io import atomic_path, check_writable_dir, output_dir, write_text, write_with
from .progress import phase, timed_phases

__all__ = [
    "as_code_array",
    "as_float_array",
    "atomic_path",
    "cache_dir",
    "cache_path",
    "check_int",
    "check_writable_dir",
    "output_dir",
    "phase",
    "read_cached",
    "timed_phases",
    "write_cached",
    "write_text",
    "write_with",
]
