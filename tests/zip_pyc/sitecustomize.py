"""Loaded by Python at start-up when this directory is on PYTHONPATH (the integration suite's
module runs): the bytecode cache for zip imports, see zip_pyc_cache.py."""

import zip_pyc_cache  # noqa: F401  pylint: disable=unused-import
