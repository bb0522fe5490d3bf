"""Hypothesis for every unit test: no per-example deadline (a loaded 2-core CI machine can stall any one
example for far longer than the default 200 ms; a slow example is not a failure)."""

from hypothesis import settings

settings.register_profile('pve-fleet', deadline=None)
settings.load_profile('pve-fleet')
