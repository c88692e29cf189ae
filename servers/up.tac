"""Everything ``dcsim up`` runs, as a Twisted application: ``twistd -ny servers/up.tac``.

The DCNet front ends and fake modems, the DNS, the licence server, the PSO login server
and the status page, on one reactor. (``twistd -n dcsim`` is the same, as a plugin.)
Settings come from the file named by ``$DCSIM_CONFIG``, else the defaults (``dcsim config
defaults``).
"""

from dcsim.service import application
from dcsim.up.command import make_server

application = application("up", make_server)
