"""dcsim's licence server as a Twisted application: ``twistd -ny servers/auth.tac``.

HTTPS ``POST /cgi-bin/auth.cgi`` over SSL 3.0/TLS 1.0 on ``[auth] listen``, as ``dcsim
auth`` does. Its SSL is 1999's: keep it off the open internet. Settings come from the
file named by ``$DCSIM_CONFIG``, else the defaults (``dcsim config defaults``).
"""

from dcsim.auth.cli import make_server
from dcsim.service import application

application = application("auth", make_server)
