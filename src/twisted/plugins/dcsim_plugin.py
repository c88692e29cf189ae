"""The twistd plugin: ``twistd -n dcsim [--config FILE]`` runs what ``dcsim up`` runs.

This directory (and ``src/twisted``) must have no ``__init__.py``: Twisted finds plugin
modules in every ``twisted/plugins`` directory on ``sys.path``.
"""

from dcsim.up.service import service_maker

__all__ = ["service_maker"]
