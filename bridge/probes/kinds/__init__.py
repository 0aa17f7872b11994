"""The built-in probe kinds, one module each (see :mod:`bridge.probes.contract`)."""
