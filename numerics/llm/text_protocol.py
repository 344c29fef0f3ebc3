"""The LLM protocol: the in-context regression task as text, and the vector read back.

- :func:`format_prompt` writes the examples and the incoming message as a plain-text task.
- :func:`parse_vector` reads the answer vector from a reply in the documented answer format
  (the last bracketed list, which must hold exactly d finite numbers, or a JSON object
  ``{"w": [...]}``); loose numbers in prose are never read as a vector.
- :class:`TextAgent` turns any text-to-text callable (an LLM client, a local function)
  into an agent with ``respond(w)``; an unparseable reply is re-asked a bounded number
  of times, then raises :class:`ReplyError`.
- :func:`gd_text_agent` is a deterministic stand-in for an LLM: it reads the task from
  the prompt text, takes one GD step and writes the answer rounded, with optional noise.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from numerics.agents import prompts
from numerics.io import validate
from numerics.io.errors import InputError

# One way to match each number (no two quantifiers compete for the same digits), so a match or a
# failed match is linear in the text: a reply of hundreds of kB of digits is read in milliseconds.
NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
MAX_NUMBER_CHARS = 64  # a float64 needs at most 25 characters; longer answer entries are refused unread
BRACKETED = re.compile(r"\[([^\[\]]*)\]")
REASK = ("\n\nYour previous reply could not be read: {reason}. Reply with the weight vector only, "
         "exactly in the form w = [w1, w2, ...] with {d} numbers.")
DEFAULT_DECIMALS = 4
MAX_REASKS = 2
MAX_REASKS_LIMIT = 10  # re-asks per message: each one is a paid request
MAX_DECIMALS = 17  # beyond float64's digits the prompt only grows


class ReplyError(InputError):
    """A model reply that holds no readable d-vector (after the allowed re-asks)."""


def _fmt(v, decimals: int) -> str:
    return "[" + ", ".join(f"{x:.{decimals}f}" for x in np.atleast_1d(v)) + "]"


def format_prompt(X, y, incoming, decimals: int = DEFAULT_DECIMALS) -> str:
    """The task as text: examples ``x -> y``, the other agent's proposal, the answer format."""
    X = np.asarray(X, dtype=float)
    lines = [f"You are solving a linear regression task in {X.shape[1]} dimensions from examples.",
             "Examples (x -> y):"]
    lines += [f"x = {_fmt(x, decimals)} -> y = {yi:.{decimals}f}" for x, yi in zip(X, y)]
    lines += ["", f"Another agent proposes the weight vector w = {_fmt(incoming, decimals)}.",
              "Improve w with one gradient step on the mean squared error of the examples above.",
              f"Reply with the new weight vector only, in the form w = [w1, w2, ...] with {X.shape[1]} numbers."]
    return "\n".join(lines)


def parse_vector(reply: str, d: int) -> np.ndarray:
    """The answer vector of ``reply``, in the documented answer format only.

    - A reply that is a JSON object ``{"w": [w1, ..., wd]}`` gives that list.
    - Otherwise the *last* bracketed list ``[...]`` in the reply is the answer; it must be
      exactly d plain decimal numbers separated by commas (``w = [0.5, -1.2e-3]``).

    Numbers elsewhere in the prose are never read. NaN, infinity, a wrong count or a
    non-number in the answer make the reply unreadable (:class:`ReplyError`), which the
    :class:`TextAgent` re-asks.
    """
    if not isinstance(reply, str):
        raise ReplyError("reply", reply, "must be text")
    text = reply.strip()
    if text.startswith("{"):
        return _json_answer(text, reply, d)
    groups = BRACKETED.findall(reply)
    if not groups:
        raise ReplyError("reply", reply, f"holds no bracketed vector (expected 'w = [w1, ..., w{d}]')")
    items = [t.strip() for t in groups[-1].split(",")]
    if len(items) == 1 and items[0] == "":
        items = []
    long = [t for t in items if len(t) > MAX_NUMBER_CHARS]
    if long:
        raise ReplyError("reply", reply, f"has an answer entry of {len(long[0])} characters "
                         f"(at most {MAX_NUMBER_CHARS}: a float64 needs 25)")
    bad = [t for t in items if not re.fullmatch(NUMBER, t)]
    if bad:
        kind = "a non-finite" if any(re.fullmatch(r"[-+]?(nan|inf(inity)?)", t, re.I) for t in bad) else "a non-numeric"
        raise ReplyError("reply", reply, f"has {kind} entry {bad[0][:20]!r} in its answer [{groups[-1][:60]}]")
    if len(items) != d:
        raise ReplyError("reply", reply, f"answers with {len(items)} numbers; expected {d} ('w = [w1, ..., w{d}]')")
    return _finite(items, reply)


def _json_answer(text: str, reply: str, d: int) -> np.ndarray:
    def no_constants(token):
        raise ValueError(token)
    try:
        obj = json.loads(text, parse_constant=no_constants)
    except (ValueError, RecursionError):
        raise ReplyError("reply", reply, "starts with '{' but is not a JSON object {\"w\": [...]} ") from None
    w = obj.get("w") if isinstance(obj, dict) else None
    if not isinstance(w, list) or len(w) != d or \
            any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in w):
        raise ReplyError("reply", reply, f"must be {{\"w\": [w1, ..., w{d}]}} with {d} numbers")
    return _finite(w, reply)


def _finite(nums, reply) -> np.ndarray:
    try:
        v = np.array([float(s) for s in nums])
    except OverflowError:
        v = np.array([math.inf])
    if not np.all(np.isfinite(v)):
        raise ReplyError("reply", reply, "holds a non-finite number")
    return v


@dataclass
class TextAgent:
    """An agent whose map is whatever ``complete(prompt) -> reply`` does with the text task."""

    name: str
    geometry: prompts.Geometry  # from the prompt (X, y) the model sees
    complete: Callable[[str], str]
    decimals: int = DEFAULT_DECIMALS
    max_reasks: int = MAX_REASKS
    replies: list = field(default_factory=list, repr=False)  # the reply behind each message (for transcripts)
    reasks: int = field(default=0, repr=False)  # unreadable replies that were asked again

    def __post_init__(self):
        if self.geometry.X is None:
            raise InputError(f"{self.name}.prompt", None, "a text agent needs its examples X, y (a prompt)")
        validate.positive_int(f"{self.name}.decimals", self.decimals, maximum=MAX_DECIMALS)
        validate.positive_int(f"{self.name}.max_reasks", self.max_reasks, minimum=0, maximum=MAX_REASKS_LIMIT)

    @property
    def d(self) -> int:
        return self.geometry.d

    def respond(self, w: np.ndarray) -> np.ndarray:
        prompt = format_prompt(self.geometry.X, self.geometry.y, w, self.decimals)
        ask = prompt
        for attempt in range(self.max_reasks + 1):
            reply = self.complete(ask)
            try:
                w_next = parse_vector(reply, self.d)
            except ReplyError as exc:
                if attempt == self.max_reasks:
                    raise ReplyError(f"{self.name} reply", reply,
                                     f"unreadable after {attempt + 1} attempts ({exc.problem})") from None
                self.reasks += 1
                ask = prompt + REASK.format(reason=exc.problem, d=self.d)
                continue
            self.replies.append(reply)
            return w_next
        raise AssertionError("unreachable: the last attempt returns or raises")  # for the type checker


EXAMPLE = re.compile(rf"x = \[([^\]]*)\] -> y = ({NUMBER})")
PROPOSAL = re.compile(r"proposes the weight vector w = \[([^\]]*)\]")


def read_task(prompt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X, y, w)`` back from a :func:`format_prompt` text (what a model would read)."""
    rows = EXAMPLE.findall(prompt)
    proposal = PROPOSAL.search(prompt)
    if not rows or proposal is None:
        raise ReplyError("prompt", prompt[:80], "is not an a2a-dynamics regression task")
    X = np.array([[float(s) for s in re.findall(NUMBER, r[0])] for r in rows])
    y = np.array([float(r[1]) for r in rows])
    return X, y, np.array([float(s) for s in re.findall(NUMBER, proposal.group(1))])


class GDTextAgent:
    """A deterministic stand-in for an LLM: one GD step ``w - step X^T (X w - y) / N`` on the
    task it reads from the prompt, plus ``N(0, noise^2 I)``, written as text with ``decimals``.
    Called as ``complete(prompt) -> reply``; :meth:`skip` moves its noise past earlier answers."""

    def __init__(self, step: float, decimals: int = DEFAULT_DECIMALS, noise: float = 0.0, seed: int = 0):
        self.step, self.decimals, self.noise = step, decimals, noise
        self._rng = np.random.default_rng(seed)

    def __call__(self, prompt: str) -> str:
        X, y, w = read_task(prompt)
        w_next = w - self.step * X.T @ (X @ w - y) / X.shape[0]
        if self.noise:
            w_next = w_next + self.noise * self._rng.standard_normal(w_next.shape)
        return f"Taking one gradient step, the updated weights are w = {_fmt(w_next, self.decimals)}."

    def skip(self, answers: int, d: int) -> None:
        """Advance the noise stream past ``answers`` earlier answers of dimension ``d`` (a resumed run then
        draws what an uninterrupted one draws: the generator yields normals one at a time, whatever the shape)."""
        if self.noise and answers:
            self._rng.standard_normal(answers * d)


def gd_text_agent(step: float, decimals: int = DEFAULT_DECIMALS, noise: float = 0.0,
                  seed: int = 0) -> Callable[[str], str]:
    """A :class:`GDTextAgent` (one GD step on the task it reads, plus noise, written as text)."""
    return GDTextAgent(step, decimals, noise, seed)
