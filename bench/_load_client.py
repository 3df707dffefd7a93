"""A small asyncio HTTP client for the load benchmark and the crash check: staff who open cases and
work through their own inbox over the JSON API, each submission carrying a unique marker."""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from _load_common import Staff

MARK = "負荷試験"
MARKER = re.compile(MARK + r" (m[0-9a-z-]+)")
NO_RESPONSE = 0  # the connection broke after the request was sent: it may or may not have landed
REFUSED = -1  # nothing was sent (the server was down): it cannot have landed
REFILL = 10


def form_data(element: str, marker: str) -> dict[str, Any] | None:
    """Valid form data for the two tasks a window worker completes on a case it keeps."""
    if element == "first_assessment":
        return {"main_complaint": f"{MARK} {marker}", "urgency": "medium", "decision": "window"}
    if element == "window_support":
        return {
            "support_content": f"{MARK} {marker}",
            "window_outcome": "close",
            "closure_reason": "負荷試験の終結",
        }
    return None


def marker_of(data: dict[str, Any]) -> str | None:
    for value in data.values():
        if isinstance(value, str) and (found := MARKER.fullmatch(value)):
            return found.group(1)
    return None


async def call(
    port: int, method: str, path: str, token: str, body: Any = None, timeout: float = 60
) -> tuple[int, Any]:
    """One request on its own connection (gunicorn's sync workers close each one anyway)."""
    payload = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    except (OSError, TimeoutError):
        return REFUSED, None
    try:
        writer.write(head.encode() + payload)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    except (OSError, TimeoutError):
        return NO_RESPONSE, None
    finally:
        writer.close()
    head_bytes, _, content = raw.partition(b"\r\n\r\n")
    try:
        status = int(head_bytes.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return NO_RESPONSE, None
    try:
        return status, json.loads(content or b"null")
    except ValueError:
        return status, None


@dataclass
class Submission:
    """One completion request as the client saw it."""

    marker: str
    item_id: int
    status: int
    ms: float
    resubmit: bool  # a deliberate second submission of an item this user already completed
    at: float = 0.0  # when it was sent (time.perf_counter)


@dataclass
class Log:
    submissions: list[Submission] = field(default_factory=list)
    listings: list[float] = field(default_factory=list)
    other_errors: list[str] = field(default_factory=list)
    out_of_work: int = 0
    cases_opened: int = 0  # by users whose inbox ran empty during the load


async def open_cases(port: int, staff: list[Staff], per_user: int) -> tuple[int, list[str]]:
    """Each user opens ``per_user`` cases of their own over the API, all users at once."""
    errors: list[str] = []
    made = await asyncio.gather(*(_open(port, p, per_user, errors) for p in staff))
    return sum(made), errors


async def _open(port: int, person: Staff, count: int, errors: list[str]) -> int:
    intake = {"received_on": date.today().isoformat(), "concerns": ["care"]}
    made = 0
    for _ in range(count):
        body = {"title": f"【負荷試験】{person.username} のケース", "intake": intake}
        status, answer = await call(port, "POST", "/api/v1/cases", person.token, body)
        if status == 201:
            made += 1
        else:
            errors.append(f"POST /api/v1/cases {status} {answer}")
    return made


async def work(
    port: int,
    staff: list[Staff],
    seconds: float,
    *,
    run_id: str,
    resubmit_share: float = 0.02,
    seed: int = 7,
    pace: float = 0.0,
    ramp: float = 0.0,
) -> Log:
    """Every user works through the open items of their inbox until the time is up, starting a
    submission every ``pace`` seconds at most (a person who takes the next task when its time
    comes; 0: the next as soon as the server has answered). Users start at random moments over the
    first ``ramp`` seconds (as people come in: together they would read their inboxes at the same
    moment, and again each time they have worked through a page of it)."""
    log = Log()
    deadline = time.monotonic() + seconds

    async def one_user(person: Staff) -> None:
        rng = random.Random(seed * 1000 + person.index)
        queue: list[dict[str, Any]] = []
        seq = 0
        await asyncio.sleep(rng.random() * ramp)
        while time.monotonic() < deadline:
            if not queue:
                started = time.perf_counter()
                status, body = await call(
                    port, "GET", "/api/v1/work-items?per_page=100&sort=oldest", person.token
                )
                if status in (REFUSED, NO_RESPONSE):
                    await asyncio.sleep(0.2)  # the server is down (the crash check): try again
                    continue
                if status != 200:
                    log.other_errors.append(f"GET /api/v1/work-items {status} {body}")
                    await asyncio.sleep(0.2)
                    continue
                log.listings.append((time.perf_counter() - started) * 1000)
                queue = [i for i in body["items"] if form_data(i["element_id"], "") is not None]
                if not queue:
                    # Out of work: open a few more cases (counted apart from the completions).
                    opened = await _open(port, person, REFILL, log.other_errors)
                    log.cases_opened += opened
                    if not opened:
                        log.out_of_work += 1
                        return
                    continue
            item = queue.pop(0)
            seq += 1
            marker = f"m{run_id}-{person.index}-{seq}"
            due = time.monotonic() + pace
            ok = await _submit(port, person, item, marker, log, resubmit=False)
            if pace and due > time.monotonic():
                await asyncio.sleep(due - time.monotonic())
            if ok and rng.random() < resubmit_share:
                seq += 1
                again = f"m{run_id}-{person.index}-{seq}"
                await _submit(port, person, item, again, log, resubmit=True)
            elif not ok:
                queue = []  # read the inbox again: what happened to this item is the server's

    await asyncio.gather(*(one_user(p) for p in staff))
    return log


async def _submit(
    port: int, person: Staff, item: dict[str, Any], marker: str, log: Log, *, resubmit: bool
) -> bool:
    data = form_data(item["element_id"], marker)
    started = time.perf_counter()
    status, _ = await call(
        port, "POST", f"/api/v1/work-items/{item['id']}/complete", person.token, data
    )
    ms = (time.perf_counter() - started) * 1000
    log.submissions.append(Submission(marker, item["id"], status, ms, resubmit, started))
    if status == REFUSED:
        await asyncio.sleep(0.2)
    return 200 <= status < 300
