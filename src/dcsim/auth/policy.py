"""The licence decision and its one table of answers.

:func:`check_licence` turns the fields of a ``POST /cgi-bin/auth.cgi`` body into a
:class:`Verdict`; it does no I/O beyond asking the accounts database. The HTTP resource
(``dcsim.auth.service``) only translates the verdict into bytes.

What the console sends and expects is mostly unknown: the only documented fact is that a
bare ``200 OK`` with an empty body passes the check (patapancakes/dricaster, see
shared/research/pso_servers.md §1.5). The form's field names are therefore settings, and
refusals use dcsim's own small body format. The table:

=================  ==========  ==============================  ===============================
Outcome            HTTP        Cause (Sega's list)             body
=================  ==========  ==============================  ===============================
accepted, level 0  200 OK      none                            empty (what the console accepts)
accepted, level n  200 OK      none; the title shows warning n ``result=accepted``, ``level=n``
unknown-licence    403         6 AUTHENTICATION_FAILURE        ``result=...``, ``cause=6``
wrong-password     403         6 AUTHENTICATION_FAILURE        ``result=...``, ``cause=6``
wrong-console      403         6 AUTHENTICATION_FAILURE        ``result=...``, ``cause=6``
suspended          403         6 AUTHENTICATION_FAILURE        ``result=...``, ``cause=6``, level
billing-error      402         7 BILLING_AUTHENTICATION_ERROR  ``result=...``, ``cause=7``
malformed request  400         6 AUTHENTICATION_FAILURE        ``result=malformed``, ``cause=6``
=================  ==========  ==============================  ===============================

Bodies are ``key=value`` lines (CRLF), keys ``result``, ``cause`` (the number of
:class:`dcsim.causes.Cause`) and ``level`` (the bad-user level, when the account has one).
The ``revival`` policy (the default, like the community's servers) accepts every request
without looking at the accounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus

from dcsim.auth.accounts import Accounts, Decision, Outcome
from dcsim.causes import Cause


class Policy(Enum):
    REVIVAL = "revival"  # every request passes, as the community servers do
    ACCOUNTS = "accounts"  # decide from the accounts database


@dataclass(frozen=True, slots=True)
class Answer:
    status: HTTPStatus
    cause: Cause | None


#: The one table: outcome -> HTTP status and Sega's cause. ``None`` is a malformed request.
ANSWERS: Mapping[Outcome | None, Answer] = {
    Outcome.ACCEPTED: Answer(HTTPStatus.OK, None),
    Outcome.UNKNOWN_LICENCE: Answer(HTTPStatus.FORBIDDEN, Cause.AUTHENTICATION_FAILURE),
    Outcome.WRONG_PASSWORD: Answer(HTTPStatus.FORBIDDEN, Cause.AUTHENTICATION_FAILURE),
    Outcome.WRONG_CONSOLE: Answer(HTTPStatus.FORBIDDEN, Cause.AUTHENTICATION_FAILURE),
    Outcome.SUSPENDED: Answer(HTTPStatus.FORBIDDEN, Cause.AUTHENTICATION_FAILURE),
    Outcome.BILLING_ERROR: Answer(HTTPStatus.PAYMENT_REQUIRED, Cause.BILLING_AUTHENTICATION_ERROR),
    None: Answer(HTTPStatus.BAD_REQUEST, Cause.AUTHENTICATION_FAILURE),
}


@dataclass(frozen=True, slots=True)
class FormFields:
    """The names of the form fields carrying the licence ID, password and console ID
    (unknown for the real console [U]; settings)."""

    licence: str
    password: str
    console: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """A licence check's result: the decision (``None`` for a malformed request or the
    revival policy's blanket acceptance) and the answer from :data:`ANSWERS`."""

    decision: Decision | None
    answer: Answer
    malformed: str = ""  # what was missing, for the log

    @property
    def accepted(self) -> bool:
        return self.answer.status is HTTPStatus.OK

    @property
    def cause(self) -> Cause | None:
        return self.answer.cause

    @property
    def bad_user_level(self) -> int:
        return self.decision.bad_user_level if self.decision else 0

    @property
    def result(self) -> str:
        if self.decision is not None:
            return self.decision.outcome.value
        return "malformed" if self.malformed else Outcome.ACCEPTED.value

    def body(self) -> bytes:
        """The response body: empty for a plain acceptance, else ``key=value`` lines."""
        if self.accepted and not self.bad_user_level:
            return b""
        lines = [f"result={self.result}"]
        if self.cause is not None:
            lines.append(f"cause={int(self.cause)}")
        if self.bad_user_level:
            lines.append(f"level={self.bad_user_level}")
        return "".join(line + "\r\n" for line in lines).encode()


ACCEPT_ALL = Verdict(None, ANSWERS[Outcome.ACCEPTED])


def check_licence(
    form: Mapping[str, str], policy: Policy, fields: FormFields, accounts: Accounts | None
) -> Verdict:
    """Decide one licence check from the POSTed form."""
    if policy is Policy.REVIVAL:
        return ACCEPT_ALL
    if accounts is None:
        raise ValueError("the accounts policy needs an accounts database")
    missing = [name for name in (fields.licence, fields.password) if not form.get(name)]
    if missing:
        return Verdict(None, ANSWERS[None], "missing " + ", ".join(missing))
    decision = accounts.verify(
        form[fields.licence], form[fields.password], form.get(fields.console) or None
    )
    return Verdict(decision, ANSWERS[decision.outcome])
