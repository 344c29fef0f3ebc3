"""The LLM protocol: the in-context regression task as text, and the vector read back.

- :func:`format_prompt` writes the examples and the incoming message as a plain-text task.
- :func:`parse_vector` finds the answer vector in a free-form reply.
- :class:`TextAgent` turns any text-to-text callable (an LLM client, a local function)
  into an agent with ``respond(w)``; an unparseable reply is re-asked a bounded number
  of times, then raises :class:`ReplyError`.
- :func:`gd_text_agent` is a deterministic stand-in for an LLM: it reads the task from
  the prompt text, takes one GD step and writes the answer rounded, with optional noise.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import prompts, validate
from .errors import InputError

NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
BRACKETED = re.compile(r"\[([^\[\]]*)\]")
REASK = ("\n\nYour previous reply could not be read: {reason}. Reply with the weight vector only, "
         "exactly in the form w = [w1, w2, ...] with {d} numbers.")
DEFAULT_DECIMALS = 4
MAX_REASKS = 2


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
    """The last bracketed list of exactly d numbers in ``reply`` (else: exactly d numbers in all)."""
    if not isinstance(reply, str):
        raise ReplyError("reply", reply, "must be text")
    for group in reversed(BRACKETED.findall(reply)):
        nums = re.findall(NUMBER, group)
        if len(nums) == d and re.fullmatch(rf"\s*{NUMBER}(\s*[,;]?\s*{NUMBER})*\s*[,;]?\s*", group):
            return _finite(nums, reply)
    nums = re.findall(NUMBER, reply)
    if len(nums) == d:
        return _finite(nums, reply)
    raise ReplyError("reply", reply, f"holds no vector of {d} numbers (expected 'w = [w1, ..., w{d}]')")


def _finite(nums, reply) -> np.ndarray:
    v = np.array([float(s) for s in nums])
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
        validate.positive_int(f"{self.name}.decimals", self.decimals)
        validate.positive_int(f"{self.name}.max_reasks", self.max_reasks, minimum=0)

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


def gd_text_agent(step: float, decimals: int = DEFAULT_DECIMALS, noise: float = 0.0,
                  seed: int = 0) -> Callable[[str], str]:
    """A deterministic stand-in for an LLM: one GD step ``w - step X^T (X w - y) / N`` on the
    task it reads from the prompt, plus ``N(0, noise^2 I)``, written as text with ``decimals``."""
    rng = np.random.default_rng(seed)

    def complete(prompt: str) -> str:
        X, y, w = read_task(prompt)
        w_next = w - step * X.T @ (X @ w - y) / X.shape[0]
        if noise:
            w_next = w_next + noise * rng.standard_normal(w_next.shape)
        return f"Taking one gradient step, the updated weights are w = {_fmt(w_next, decimals)}."

    return complete
