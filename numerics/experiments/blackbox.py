"""The paper's black-box check (C15, C18), offline: two noisy text agents talk through the
full text protocol (prompt text -> reply text -> parsed vector), the transcript is fitted,
and the predicted plateau and spread are set against the observed tail.

The text agents are deterministic stand-ins for an LLM (one GD step on the task they read,
written with 4 decimals, plus seeded Gaussian noise); ``a2ad llm-run`` runs real models.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from numerics.agents import prompts
from numerics.experiments import common, plotting
from numerics.fit import fitting, output as fit_output
from numerics.io import outputs, transcripts
from numerics.llm import text_protocol
from numerics.protocol import simulate

NAME = "blackbox"
DESCRIPTION = "two noisy text agents through the text protocol; fitted maps predict the plateau and spread"
D, N = 3, 12
STEP, NOISE = 0.5, 0.02


def text_pair(rng: np.random.Generator, seed: int) -> list[text_protocol.TextAgent]:
    """Agents A and B on random prompts (N examples, misaligned targets), noisy text replies."""
    out = []
    for i, name in enumerate("AB"):
        X = np.round(rng.standard_normal((N, D)), text_protocol.DEFAULT_DECIMALS)  # as the prompt text shows it
        y = np.round(X @ rng.standard_normal(D), text_protocol.DEFAULT_DECIMALS)
        complete = text_protocol.gd_text_agent(STEP, noise=NOISE, seed=seed + i)
        out.append(text_protocol.TextAgent(name, prompts.from_prompt(X, y, name=name), complete))
    return out


def run(out_dir: Path, agents: str = "gd", seed: int = 0, quick: bool = False,
        figure_format: str = "png") -> list[Path]:
    common.check_agents(agents, supported=("gd",))  # the text agents take GD steps
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pair = text_pair(rng, seed)
    v0 = np.zeros(D)
    messages = simulate.run(pair, v0, 150 if quick else 600)
    tr = transcripts.from_run(pair, v0, messages, {"step": STEP, "noise": NOISE, "seed": seed})
    path_tr = tr.write(out_dir / "transcript.jsonl")
    report = fitting.fit_transcript(tr, bootstrap=100 if quick else 400, seed=seed)
    p = report.prediction
    if p.plateau is None or p.spread is None or report.plateau_interval is None:  # fixed seeds: never here
        raise RuntimeError(f"the fitted round rate {p.rate:.4g} >= 1: no plateau to tabulate")
    rows = []
    for k, name in enumerate(report.agents):
        for j in range(D):
            rows.append([name, j + 1, p.plateau[k][j], report.plateau_interval.low[k][j],
                         report.plateau_interval.high[k][j], report.observed_mean[k][j],
                         report.observed_mean_interval.low[k][j], report.observed_mean_interval.high[k][j],
                         np.sqrt(p.spread[k][j, j]), np.sqrt(report.observed_cov[k][j, j])])
    csv = plotting.write_csv(out_dir / "blackbox.csv",
                             ["agent", "coordinate", "fixed_point", "fixed_point_low", "fixed_point_high",
                              "observed_tail_mean", "observed_tail_mean_low", "observed_tail_mean_high",
                              "predicted_std", "observed_std"],
                             rows)
    figure = fit_output.fit_figure(report, tr, outputs.figure_path(out_dir / "blackbox.png", figure_format))
    return [path_tr, csv, figure]
