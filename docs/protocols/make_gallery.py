"""Regenerate the protocol gallery: examples/protocol_*.json, docs/protocols/*.rst and *.png.

Run from the repository root: ``.venv/bin/python docs/protocols/make_gallery.py``.
Each page shows the theory the compiler derived (and proved, V1) for that protocol, a
figure of the prediction (``a2ad predict``'s code path) against the protocol simulator
(``a2ad simulate``'s code path), and what changes compared with the paper's protocol.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

from numerics.protocol import config, prediction  # noqa: E402
from theory.protocol import compiler as P, gallery as G, report  # noqa: E402

# Four fixed agents in d = 2 (geometry, target, scalar preconditioner); a protocol uses the first K.
AGENTS = [
    {"name": "A", "geometry": [[1.0, 0.0], [0.0, 0.3]], "target": [1.0, 0.0], "preconditioner": 0.8},
    {"name": "B", "geometry": [[0.4, 0.1], [0.1, 1.0]], "target": [0.0, 1.0], "preconditioner": 0.7},
    {"name": "C", "geometry": [[0.6, -0.2], [-0.2, 0.5]], "target": [-1.0, 0.5], "preconditioner": 1.0},
    {"name": "D", "geometry": [[0.2, 0.0], [0.0, 0.8]], "target": [0.5, -1.0], "preconditioner": 0.9},
]
OMEGA = 0.5  # the anchored example's weight on A's own last message (P4's omega)
# the anchored plateau curve (omega = 0 is C3)
OMEGAS = np.linspace(0.05, 0.95, 10)
ROUNDS = 60


def _weight(w, omega=OMEGA) -> float:
    w = sp.sympify(w).subs(G.omega, omega)  # our own SymPy weights (never user text)
    return float(w)


def config_for(e: G.Entry, omega: float = OMEGA) -> dict:
    K = len(e.spec.names)
    rounds = [{lst: {src: _weight(w, omega) for src, w in row} for lst, row in ph} for ph in e.spec.phases]
    return {"agents": AGENTS[:K], "initial_message": [0.0, 0.0], "protocol": {"rounds": rounds}}


def _mathtext(title: str) -> str:
    """A gallery title with its symbol (P4's weight, a word in the page's heading) as mathtext."""
    return re.sub(rf"\b{G.omega.name}\b", lambda _: f"${sp.latex(G.omega)}$", title)


def numbers_for(pred: dict) -> dict:
    """The example numbers a page prints: the rate per round and each agent's plateau (``a2ad predict``)."""
    return {"contraction_rate": pred["contraction_rate"],
            "agents": {n: {"residual_norm": a["residual_norm"]} for n, a in pred["agents"].items()}}


def figure(e: G.Entry, cfg: dict, path: Path) -> dict:
    system = config.parse(cfg)
    pred = prediction.predict(system)
    sim = prediction.simulate_doc(system, ROUNDS)
    panels = 2 if e.key == "anchored" else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.0 * panels, 3.6), squeeze=False)
    ax = axes[0][0]
    for k, (name, entry) in enumerate(pred["agents"].items()):
        col = f"C{k}"
        ax.semilogy(np.arange(1, ROUNDS + 1), sim["agents"][name]["residual_norms"], color=col,
                    label=f"{name}: simulated")
        ax.axhline(entry["residual_norm"], color=col, ls="--", lw=1, label=f"{name}: predicted plateau")
    ax.set_xlabel("round")
    ax.set_ylabel(r"$\|m_i - w_i^*\|$")
    ax.set_title(f"{_mathtext(e.title)}\n" + rf"$\rho = {pred['contraction_rate']:.3f}$ per round", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    out = numbers_for(pred)
    if e.key == "anchored":
        ax2 = axes[0][1]
        cp = P.compile_protocol(e.spec, noise=False)
        derived, simulated = [], []
        for a in OMEGAS:
            s = config.parse(config_for(e, float(a)))
            env = {ag.name: (ag.M, ag.w_star) for ag in s.agents}
            expr = cp.residual(0).subs(P.gap("B", "A"), P.w_star("B") - P.w_star("A"))
            derived.append(np.linalg.norm(P.evaluate(cp, expr, env, scalars={G.omega.name: float(a)})))
            simulated.append(prediction.simulate_doc(s, 2000)["agents"]["A"]["residual_norms"][-1])
        ax2.plot(OMEGAS, derived, "-", label=r"derived $e_A$ (compiler, evaluated)")
        ax2.plot(OMEGAS, simulated, "o", label="simulated, 2000 rounds")
        ax2.set_xlabel(r"$\omega$ (A's weight on its own last message)")
        ax2.set_ylabel(r"A's plateau $\|e_A\|$")
        ax2.legend(fontsize=7)
        out["omega_curve"] = {"omega": OMEGAS.tolist(), "derived": derived, "simulated": simulated}
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return out


def math_block(lhs: str, f: dict) -> str:
    return ".. math::\n\n   " + lhs + " = " + f["latex"] + "\n"


def page(e: G.Entry, example: str, doc: dict, numbers: dict) -> str:
    title = e.title
    lines = [title, "=" * len(title), "", f"**What changes compared with the paper's protocol.** {e.changes}", "",
             "The protocol (``examples/" + example + "``):", "",
             f".. literalinclude:: ../../examples/{example}", "   :language: json", "",
             "Derived by the compiler (every object below is proved by substituting it back, V1)::", "",
             f"   a2ad derive --protocol examples/{example} --format text", "",
             "Rate per round (live agents: " + ", ".join(doc["live_agents"]) + "):", "",
             ".. math::\n\n   " + doc["rate"]["latex"] + "\n"]
    if doc["inverses"]:
        lines.append("Pivots of the block elimination (formal inverses; each is a hypothesis: invertible):\n")
        for inv in doc["inverses"]:
            lines.append(math_block(inv["name"], {"latex": r"\Big(" + inv["latex"] + r"\Big)^{-1}"}))
    if doc["named_factors"]:
        lines.append("Named factors (a sum that stays in a coefficient, named once; theory.protocol.canonical):\n")
        for nf in doc["named_factors"]:
            lines.append(math_block(nf["name"], nf))
    lines.append("Residuals (plateaus) in canonical form: each agent's residual is a sum over the gaps "
                 "between targets, each coefficient a product of the transfers, the :math:`K_j = I - M_j`"
                 + (", the pivots and the named factors above" if doc["named_factors"] else " and the pivots above")
                 + " (proved equal to the compiler's elimination, V1):\n")
    for name, r in doc["residuals"].items():
        lines.append(math_block(f"e_{{{name}}}", r))
    if doc["typeset"]["delta"]:  # two agents: the same residuals in C3's notation
        lines.append(re.sub(r"\$([^$]*)\$", r":math:`\1`", doc["typeset"]["delta"]) + "\n")
    lines += ["Prediction against simulation for the example agents (``a2ad predict`` and "
              "``a2ad simulate`` on the config above):", "",
              f".. image:: {e.key}.png", "   :alt: prediction vs simulation", "",
              f"Example numbers: rate {numbers['contraction_rate']:.4f} per round; plateaus "
              + _plateaus(numbers) + ".", ""]
    return "\n".join(lines)


def _plateaus(row: dict) -> str:
    """Each agent's predicted residual norm (its plateau), as the pages print it."""
    return ", ".join(f"{n} {a['residual_norm']:.4f}" for n, a in row["agents"].items())


def current_page(e: G.Entry) -> str:
    """The page :func:`main` writes for ``e`` now, without drawing its figure (tests compare it with the
    committed page, so a page that no longer says what the compiler derives is caught)."""
    system = config.parse(config_for(e))
    return page(e, f"protocol_{e.key}.json", report.derived_theory(P.compile_protocol(e.spec)),
                numbers_for(prediction.predict(system)))


def main() -> list[dict]:
    rows, pages = [], []
    for e in G.entries():
        example = f"protocol_{e.key}.json"
        cfg = config_for(e)
        (ROOT / "examples" / example).write_text(json.dumps(cfg, indent=2) + "\n")
        cp = P.compile_protocol(e.spec)
        doc = report.derived_theory(cp)
        numbers = figure(e, cfg, HERE / f"{e.key}.png")
        (HERE / f"{e.key}.rst").write_text(page(e, example, doc, numbers))
        pages.append(e.key)
        rows.append({"key": e.key, "title": e.title, "contraction_rate_latex": doc["rate"]["latex"],
                     "contraction_rate_text": ", ".join(b["text"] for b in doc["rate"]["blocks"]) + (
                         f" ^(1/{doc['rate']['power']})" if doc["rate"]["power"] > 1 else ""),
                     **numbers})
    table = ["   * - protocol\n     - derived rate\n     - example rate\n     - example plateaus"]
    for r in rows:
        table.append(f"   * - :doc:`{r['key']}`\n     - :math:`{r['contraction_rate_latex']}`\n"
                     f"     - {r['contraction_rate']:.4f}\n     - " + _plateaus(r))
    index = ["Protocol gallery", "================", "",
             "Linear interaction protocols beyond the paper's round robin, each compiled by the protocol",
             "compiler: the round map of the joint state, the fixed point by block elimination in the free",
             "algebra, the residuals in the gaps between targets, and the rate reduced to a d x d product",
             "where the protocol allows. ``M_i`` is an agent's per-turn transfer and ``K_i = I - M_i``.", "",
             ".. list-table::", "   :header-rows: 1", "", *table, "", ".. toctree::", "   :maxdepth: 1", "",
             *[f"   {k}" for k in pages], "   random_index", ""]  # random_index: make_random_gallery.py
    (HERE / "index.rst").write_text("\n".join(index))
    (HERE / "gallery.json").write_text(json.dumps(rows, indent=2) + "\n")
    return rows


if __name__ == "__main__":
    for r in main():
        print(f"{r['key']:13s} rho = {r['contraction_rate_text']:45s} example rate {r['contraction_rate']:.4f}  "
              "plateaus " + _plateaus(r))
