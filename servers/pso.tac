"""dcsim's PSO login server and ship as a Twisted application: ``twistd -ny servers/pso.tac``.

The login server on ``[pso] listen`` and dcsim's ship on ``[pso] ship_listen``, as
``dcsim pso`` does. Settings come from the file named by ``$DCSIM_CONFIG``, else the
defaults (``dcsim config defaults``).
"""

from dcsim.pso.cli import make_server
from dcsim.service import application

application = application("pso", make_server)
