"""dcsim's DNS server as a Twisted application: ``twistd -ny servers/dns.tac``.

Serves the ``[dns]`` zones on ``[dns] listen`` (authoritative only, never recursive), as
``dcsim dns`` does. Settings come from the file named by ``$DCSIM_CONFIG``, else the
defaults (``dcsim config defaults``).
"""

from dcsim.dns.command import make_server
from dcsim.service import application

application = application("dns", make_server)
