"""Flycast's DCNet front ends as a Twisted application: ``twistd -ny servers/dcnet.tac``.

PPP on TCP 7654 and 7656, Ethernet on TCP 7655, the UDP 7655 probe (``[dcnet]``), in
front of the ``[net]`` topology with the ``[dns]`` zones on it, as ``dcsim dcnet`` does.
Settings come from the file named by ``$DCSIM_CONFIG``, else the defaults (``dcsim config
defaults``).
"""

from dcsim.dcnet.command import make_server
from dcsim.service import application

application = application("dcnet", make_server)
