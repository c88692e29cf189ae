"""dcsim's fake Hayes modems as a Twisted application: ``twistd -ny servers/modem.tac``.

The ``[modem]`` section's modems (TCP listeners, a pty, a serial port), as ``dcsim
modem`` does; when it names none, one listens where ``dcsim up``'s does (``[dcnet]
modem``, tcp:127.0.0.1:2323). Settings come from the file named by ``$DCSIM_CONFIG``,
else the defaults (``dcsim config defaults``).
"""

from dcsim.modem.command import make_server
from dcsim.service import application

application = application("modem", make_server)
