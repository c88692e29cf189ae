"""The fake Hayes modem and the telephone line behind it.

- :mod:`~dcsim.modem.engine`: the sans-IO AT engine (command line, modes, results).
- :mod:`~dcsim.modem.commands`, :mod:`~dcsim.modem.dialstring`: parsing.
- :mod:`~dcsim.modem.dialling`: the timeline of a dial (pulse, DTMF, waits, S7).
- :mod:`~dcsim.modem.line`: line profiles, phone books and the exchange's routing.
- :mod:`~dcsim.modem.redial`: the Japanese redial restriction.
- :mod:`~dcsim.modem.pacer`: the line rate in each direction.
- :mod:`~dcsim.modem.calllog`: the call log (JSON lines, read by ``dcsim check``).
- :mod:`~dcsim.modem.protocol`, :mod:`~dcsim.modem.answerers`,
  :mod:`~dcsim.modem.transports`: the Twisted edge (console transports, answerers).
- :mod:`~dcsim.modem.command`: ``dcsim modem``.
"""
