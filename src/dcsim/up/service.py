"""``twistd -n dcsim``: everything ``dcsim up`` runs, as a twistd plugin.

The plugin module (``src/twisted/plugins/dcsim_plugin.py``) only imports
:data:`service_maker`. twistd imports every plugin module whenever it lists them, so this
module stays light: the system is imported when the service is made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.application.service import IServiceMaker
from twisted.plugin import IPlugin
from twisted.python import usage
from zope.interface import implementer


class Options(usage.Options):
    synopsis = (
        "[--config FILE] [--pty] [--serial DEVICE[:BAUD]] [--call-log FILE] [--session-log FILE]"
    )
    longdesc = (
        "Run dcsim's revival world, as `dcsim up` does: Flycast's DCNet front ends and "
        "fake Hayes modems put consoles on dcsim's virtual internet, with its DNS, "
        "licence server and PSO login server; the same services listen on this machine, "
        "and a status page shows every session. Settings come from --config, else from "
        "$DCSIM_CONFIG, else the defaults (`dcsim config defaults` lists them)."
    )
    optFlags = [
        ["pty", None, "also offer a fake modem on a new pseudo-terminal"],
    ]
    optParameters = [
        ["config", "c", None, "settings file (TOML)"],
        ["serial", None, None, "also drive a real serial port as a fake modem (DEVICE[:BAUD])"],
        ["call-log", None, None, "append every modem call to this file (JSON lines)"],
        ["session-log", None, None, "append every DCNet session to this file (JSON lines)"],
    ]


@implementer(IServiceMaker, IPlugin)
class ServiceMaker:
    tapname = "dcsim"
    description = "A Dreamcast network in a box (what `dcsim up` runs)."
    options = Options

    def makeService(self, options: Options) -> Any:
        """The service; a settings or database mistake is one line on standard error and
        exit status 2 or 1, before twistd writes its pid file or starts logging."""
        from twisted.internet import reactor  # twistd's reactor: the plugin is an edge

        from dcsim.config import load
        from dcsim.service import ServerService, or_exit, settings_from_environment
        from dcsim.settings import Settings
        from dcsim.up.command import UpServer, with_options

        def make() -> UpServer:
            if options["config"]:
                settings = load(Path(options["config"]), Settings)
            else:
                settings = settings_from_environment()
            call_log, session_log = options["call-log"], options["session-log"]
            settings = with_options(
                settings,
                pty=bool(options["pty"]),
                serial=options["serial"],
                call_log=Path(call_log) if call_log else None,
                session_log=Path(session_log) if session_log else None,
            )
            return UpServer(settings, reactor)

        return ServerService("dcsim", or_exit(make))


service_maker = ServiceMaker()
