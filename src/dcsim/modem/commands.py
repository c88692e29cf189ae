"""A command line (the text after ``AT``) split into commands, V.250 §5.3-5.4.

Basic commands are a letter with an optional number (``E0``, ``X4``, ``H``); prefixed
ones add ``&``, ``\\`` or ``%`` (``&D2``, ``\\N3``, ``%C0``); S-registers are ``Sn=v`` and
``Sn?``; extended commands start with ``+`` and end at ``;`` or the end of the line
(``+MS=V34,1``, ``+FCLASS?``). ``D`` and ``&Z`` take the rest of the line. Spaces between
commands are ignored. Anything else becomes a command of its own name, which the engine
answers as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIXES = "&\\%"
DECIMAL = frozenset("0123456789")


class CommandError(ValueError):
    """The line cannot be split into commands; the modem answers ERROR."""


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # "E", "&D", "\\N", "S", "+MS", "D", "&Z"...
    number: int | None = None  # the numeric argument, or the register of S; None if omitted
    op: str = ""  # S and + commands: "=", "?" or "=?"
    text: str = ""  # D: the dial string; &Z: the number; +X=: the arguments


def tokenize(line: str) -> list[Command]:
    commands: list[Command] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i].upper()
        i += 1
        if c == " ":
            continue
        if c == "D":
            commands.append(Command("D", text=line[i:]))
            break
        if c in PREFIXES and i < n:
            name = c + line[i].upper()
            i += 1
            number, i = _number(line, i)
            if name == "&Z":
                if line[i : i + 1] != "=":
                    raise CommandError("&Z needs =number")
                commands.append(Command(name, number, "=", line[i + 1 :]))
                break
            commands.append(Command(name, number))
        elif c == "S":
            register, i = _number(line, i)
            if register is None:
                raise CommandError("S needs a register number")
            if line[i : i + 1] == "?":
                commands.append(Command("S", register, "?"))
                i += 1
            elif line[i : i + 1] == "=":
                value, i = _number(line, i + 1)
                commands.append(Command("S", register, "=", text=str(value or 0)))
            else:
                raise CommandError(f"S{register} needs = or ?")
        elif c == "+":
            j = i
            while j < n and line[j].isascii() and line[j].isalnum():
                j += 1
            name = "+" + line[i:j].upper()
            if j == i:
                raise CommandError("+ needs a command name")
            end = line.find(";", j)
            end = n if end < 0 else end
            rest = line[j:end]
            if rest.startswith("=?"):
                op, text = "=?", rest[2:]
            elif rest.startswith("?"):
                op, text = "?", rest[1:]
            elif rest.startswith("="):
                op, text = "=", rest[1:]
            else:
                op, text = "", rest
            commands.append(Command(name, None, op, text.strip()))
            i = end + 1
        else:
            number, i = _number(line, i) if c.isalpha() else (None, i)
            commands.append(Command(c, number))
    return commands


def _number(line: str, i: int) -> tuple[int | None, int]:
    j = i
    while j < len(line) and line[j] in DECIMAL and j - i < 6:
        j += 1
    return (int(line[i:j]) if j > i else None), j
