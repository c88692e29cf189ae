"""The timeline of a call attempt, worked out when the D command arrives.

Everything that decides a dial's course is known at that moment (the line, the phone
book, the registers), so the whole attempt is planned at once: how long going off-hook,
the dial-tone wait and each digit take, and when and with what result it ends. The engine
then sleeps until that time, which keeps a simulated dial to one timer; a character from
the console or a DTR drop cuts the plan short.

Timings: pulses at 10 or 20 pps (&P), digit N = N pulses and 0 = 10, with the line's
inter-digit pause between pulsed digits; DTMF tone and gap of S11 ms; ``,`` S8 s; ``!``
S29 x 10 ms; S6 before blind dialling or as the longest wait for dial tone; S7 from the
end of dialling to carrier (shared/research/modem_ppp.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass

from dcsim.modem.calllog import Hangup
from dcsim.modem.dialstring import Dial, Digit, Step
from dcsim.modem.line import DialledDigit, Exchange, FarEnd, LineProfile, Route
from dcsim.modem.registers import CARRIERS, PULSE_MODES, Config
from dcsim.modem.results import CONNECT_CODES, Result

RATES = frozenset(CONNECT_CODES) | {300, 16800}
QUIET_ANSWER = 5.0  # seconds of silence the @ modifier waits for (V.250 §6.3.1.9)
DETECTING_DIAL_TONE = frozenset({2, 4})  # X levels that wait for dial tone
DETECTING_BUSY = frozenset({3, 4})  # X levels that recognise busy tone


@dataclass(frozen=True, slots=True)
class Plan:
    dial_time: float  # seconds from the D command to the end of the last digit
    outcome_time: float  # seconds from the D command to the result
    result: Result  # CONNECT; OK after a dial ending in ;; or the failure
    hangup: Hangup | None  # why a failed attempt failed
    route: Route | None  # None when dialling never finished
    digits: tuple[DialledDigit, ...]  # every digit sent since going off-hook
    rate: int | None = None  # towards the console
    transmit_rate: int | None = None  # from the console


def pulses(char: str) -> int:
    return 10 if char == "0" else int(char)


def digit_time(digit: DialledDigit, cfg: Config) -> float:
    if digit.method == "tone":
        return cfg.sregs[11] / 1000
    return pulses(digit.char) / int(digit.method[5:])


def dialled(dial: Dial, cfg: Config) -> tuple[DialledDigit, ...]:
    """The digits of *dial* as the line would receive them under *cfg*."""
    ratio, pps = PULSE_MODES[cfg.pulse]
    return tuple(
        DialledDigit(s.char, "tone" if s.tone else f"pulse{pps}", ratio)
        for s in dial.steps
        if isinstance(s, Digit)
    )


def plan(
    dial: Dial,
    cfg: Config,
    line: LineProfile,
    exchange: Exchange,
    *,
    off_hook: bool,
    earlier: tuple[DialledDigit, ...] = (),
) -> Plan:
    """Plan *dial*; *off_hook* and *earlier* continue a dial that ended with ``;``."""
    s6, s8 = cfg.sregs[6], cfg.sregs[8]
    detect = cfg.xlevel in DETECTING_DIAL_TONE
    ratio, pps = PULSE_MODES[cfg.pulse]
    t = 0.0
    if not off_hook:
        if detect and not line.dial_tone:
            return Plan(s6, s6, Result.NO_DIALTONE, Hangup.NO_DIALTONE, None, earlier)
        t = min(line.dial_tone_detect, s6) if detect else s6
    digits = list(earlier)
    routed: Route | None = None  # set by @, which routes on the digits before it
    previous: DialledDigit | None = digits[-1] if digits else None
    for step in dial.steps:
        if isinstance(step, Digit):
            digit = DialledDigit(step.char, "tone" if step.tone else f"pulse{pps}", ratio)
            if previous is not None:
                t += cfg.sregs[11] / 1000 if previous.method == "tone" else line.interdigit_pause
            t += digit_time(digit, cfg)
            if routed is None:
                digits.append(digit)
            previous = digit
            continue
        previous = None
        if step is Step.PAUSE:
            t += s8
        elif step is Step.FLASH:
            t += cfg.sregs[29] / 100
        elif step is Step.WAIT_DIAL_TONE:
            if not detect:
                t += s6
            elif line.dial_tone:
                t += line.dial_tone_detect
            else:
                return Plan(
                    t + s6, t + s6, Result.NO_DIALTONE, Hangup.NO_DIALTONE, None, tuple(digits)
                )
        elif step is Step.QUIET_ANSWER and routed is None:
            routed = exchange.route(digits)
            early = _ringing(routed, cfg, line, t, tuple(digits), quiet=True)
            if early is not None:
                return early
            t += _answer_delay(routed, line) + QUIET_ANSWER
    if dial.stay_in_command:
        return Plan(t, t, Result.OK, None, routed, tuple(digits))
    route = routed or exchange.route(digits)
    failed = _ringing(route, cfg, line, t, tuple(digits), quiet=False)
    return failed or _connect(route, cfg, line, t, tuple(digits), answered=routed is not None)


def _answer_delay(route: Route, line: LineProfile) -> float:
    if route.entry is not None and route.entry.answer_delay is not None:
        return route.entry.answer_delay
    return line.answer_delay


def _ringing(
    route: Route,
    cfg: Config,
    line: LineProfile,
    t: float,
    digits: tuple[DialledDigit, ...],
    *,
    quiet: bool,
) -> Plan | None:
    """The failure of a call that nobody with a modem answers, or None if one does."""
    s7 = cfg.sregs[7]
    if route.far_end is FarEnd.BUSY:
        if cfg.xlevel in DETECTING_BUSY and line.busy_detect <= s7:
            return Plan(t, t + line.busy_detect, Result.BUSY, Hangup.BUSY, route, digits)
        return Plan(t, t + s7, Result.NO_CARRIER, Hangup.NO_ANSWER, route, digits)
    if route.far_end in (FarEnd.NO_ANSWER, FarEnd.NOWHERE):
        result = Result.NO_ANSWER if quiet else Result.NO_CARRIER
        return Plan(t, t + s7, result, Hangup.NO_ANSWER, route, digits)
    if route.far_end is FarEnd.VOICE and not quiet:
        return Plan(t, t + s7, Result.NO_CARRIER, Hangup.NO_CARRIER, route, digits)
    return None


def _connect(
    route: Route,
    cfg: Config,
    line: LineProfile,
    t: float,
    digits: tuple[DialledDigit, ...],
    *,
    answered: bool,
) -> Plan:
    s7 = cfg.sregs[7]
    wait = (0.0 if answered else _answer_delay(route, line)) + line.training
    if wait > s7:
        return Plan(t, t + s7, Result.NO_CARRIER, Hangup.NO_ANSWER, route, digits)
    rate = negotiate(cfg, line.rate)
    if rate is None:
        return Plan(t, t + wait, Result.NO_CARRIER, Hangup.NO_CARRIER, route, digits)
    transmit = min(rate, line.transmit_rate)
    return Plan(t, t + wait, Result.CONNECT, None, route, digits, rate, transmit)


def negotiate(cfg: Config, line_rate: int) -> int | None:
    """The receive rate: the best rate the line, the +MS carrier and its limits allow."""
    ceiling = min(line_rate, CARRIERS[cfg.carrier], cfg.max_rx)
    candidates = [r for r in RATES if cfg.min_rx <= r <= ceiling]
    if not candidates:
        return None
    return max(candidates)
