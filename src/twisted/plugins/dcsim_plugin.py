"""The twistd plugins: ``twistd -n dcsim [--config FILE]`` runs what ``dcsim up`` runs,
and ``twistd --reactor dcsim-epoll ...`` runs any of them on the reactor the ``dcsim``
commands use (:mod:`dcsim.reactor`).

This directory (and ``src/twisted``) must have no ``__init__.py``: Twisted finds plugin
modules in every ``twisted/plugins`` directory on ``sys.path``.
"""

from twisted.application.reactors import Reactor

from dcsim.up.service import service_maker

dcsim_epoll = Reactor(
    "dcsim-epoll",
    "dcsim.reactor",
    "epoll without the legacy log context per event (what the dcsim command uses)",
)

__all__ = ["dcsim_epoll", "service_maker"]
