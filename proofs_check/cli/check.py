"""``a2ad check CLAIM CONFIG.json [--param NAME=VALUE ...] [--json]``: one claim on the user's instance.

Exit 0: the claim applies and holds; 3: it does not apply (a hypothesis fails or sits on its
boundary, the config has the wrong shape, or nothing applicable is checkable); 1: every
hypothesis holds and a conclusion fails (a counterexample); 2: bad input.
"""
from __future__ import annotations

import argparse
import json
import sys

USAGE_EPILOG = "exit status: 0 holds, 1 counterexample, 2 bad input, 3 the claim does not apply here"


def _claim_help(claim_id: str) -> str:
    """The claim's statement pieces and parameters, for ``a2ad check CLAIM --help``."""
    from proofs_check.check import PROPOSITIONS
    from proofs_check.statements import statements

    prop, st = PROPOSITIONS[claim_id], statements.of(claim_id)
    texts = st.texts()
    lines = [f"{claim_id} ({prop.shape} config)", "hypotheses:"]
    lines += [f"  {n}: {statements.to_text(texts[n])}" for n in prop.hypotheses]
    lines += ["conclusions:"] + [f"  {n}: {statements.to_text(texts[n])}" for n in prop.conclusions]
    lines += ["parameters (--param NAME=JSON):"] + (
        [f"  {n}: {p.doc} (default {json.dumps(p.default)})" for n, p in prop.params.items()] or ["  none"])
    return "\n".join(lines)


class _ClaimHelp(argparse.Action):
    """``--help`` after a claim ID prints that claim's hypotheses, conclusions and parameters."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from proofs_check.check import PROPOSITIONS

        claim = getattr(namespace, "claim", None)
        claim = claim if claim in PROPOSITIONS else next((a for a in sys.argv[1:] if a in PROPOSITIONS), None)
        text = parser.format_help()
        if claim is not None:
            text += "\n" + _claim_help(claim) + "\n"
        sys.stdout.write(text)
        parser.exit(0)


def register(sub) -> None:
    from proofs_check.check import PROPOSITIONS

    p = sub.add_parser("check", help="evaluate a claim's hypotheses and conclusions on a config (3: does not apply)",
                       add_help=False, epilog=USAGE_EPILOG,
                       description="Evaluate a claim's statement on CONFIG.json: each hypothesis and "
                                   "conclusion, holds or fails, with its number. `a2ad check CLAIM --help` "
                                   "lists the claim's parameters.")
    p.add_argument("-h", "--help", action=_ClaimHelp, help="show this help (with a CLAIM: its parameters)")
    p.add_argument("claim", choices=sorted(PROPOSITIONS), metavar="CLAIM", help="claim ID: " +
                   ", ".join(PROPOSITIONS))
    p.add_argument("config", help="CONFIG.json (as predict reads it)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a claim parameter, VALUE a JSON literal (e.g. alpha=0.2, s=[1,2,3])")
    p.add_argument("--json", action="store_true", help="print the JSON document")
    p.set_defaults(func=run)


def run(args) -> int:
    from proofs_check.check.run import check

    report = check(args.claim, args.config, args.param)
    if args.json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(format_text(report))
    return report.exit_status


def _mark(holds) -> str:
    return {True: "holds", False: "FAILS", None: "not checkable"}[holds]


def format_text(report) -> str:
    lines = [f"{report.claim}: " + ("applies" if report.applies else "does not apply") + f" ({report.reason})"]
    lines.append("hypotheses:")
    for h in report.hypotheses:
        edge = " (on its boundary)" if h.get("boundary") else ""
        lines.append(f"  {h['name']}: {_mark(h['holds'])}{edge}: {h['value']}")
    lines.append("conclusions:")
    for c in report.conclusions:
        tag = "" if c["applicable"] else " [its hypotheses fail]"
        lines.append(f"  {c['name']}: {_mark(c['holds'])}{tag}: {c['value']}")
    return "\n".join(lines) + "\n"

