"""Write the generated pages of the docs: one theory page per claim (from the registry and a
quick verify run) and the experiments gallery (figures from ``a2ad experiment --quick``)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import sweep_gallery  # noqa: E402  (docs/, next to this file)
from numerics.experiments import all_experiments  # noqa: E402
from proofs_check.report import statements  # noqa: E402
from proofs_check.verification import registry, runner  # noqa: E402
from theory.core.formulas import all_formulas  # noqa: E402

OUT = HERE / "_generated"


def heading(text: str, ch: str) -> str:
    return f"{text}\n{ch * len(text)}\n"


def literal(text: str) -> str:
    return "::\n\n" + "\n".join("    " + line for line in text.splitlines()) + "\n"


def _provenance(claim) -> str:
    prov = claim.provenance
    return f"**Provenance:** *{prov.kind}*: {prov.citation}. {statements.to_rst(prov.justification)}\n"


def theory_body() -> str:
    """Model, notation and every claim (statement, hypotheses, provenance) as reStructuredText."""
    parts = []
    for head, paragraphs in statements.MODEL:
        parts.append(heading(head, "-"))
        parts += [statements.to_rst(par) + "\n" for par in paragraphs]
    parts.append(heading("Notation", "-"))
    parts.append(".. list-table::\n   :widths: 25 75\n\n" + "".join(
        f"   * - {statements.to_rst(sym)}\n     - {statements.to_rst(meaning)}\n"
        for sym, meaning in statements.NOTATION))
    parts.append(heading("Claims", "-"))
    for claim in registry.all_claims():
        st = statements.of(claim.id)
        parts.append(heading(f"{claim.id}: {claim.title}", "~"))
        parts.append(statements.to_rst(st.statement) + "\n")
        parts.append("**Hypotheses:**\n\n" + "".join(f"- {statements.to_rst(h)}\n" for h in st.hypotheses))
        parts.append(_provenance(claim))
        parts.append(f"Verified by {', '.join(claim.methods)}; details: :doc:`claims/claim_{claim.id}`.\n")
    return "\n".join(parts)


def claims_pages(report: dict) -> None:
    entries = {c["id"]: c for c in report["claims"]}
    formulas = all_formulas()
    names = []
    for claim in registry.all_claims():
        entry = entries[claim.id]
        st = statements.of(claim.id)
        rows = "\n".join(f"   * - {m['method']}\n     - {m['status']}\n     - {_num(m['worst_error'])}\n"
                         f"     - {_num(m['tolerance'])}\n     - {m['instances']}" for m in entry["methods"])
        eqs = "\n".join(f"``{fid}`` (fingerprint ``{formulas[fid].fingerprint}``): "
                        f"{statements.to_rst(formulas[fid].description)}\n\n"
                        f".. math::\n\n   {formulas[fid].latex()}\n" for fid in claim.formulas)
        page = (heading(f"{claim.id}: {claim.title}", "=") + "\n" + "**Statement.** " + statements.to_rst(st.statement)
                + "\n\n**Hypotheses.**\n\n" + "".join(f"- {statements.to_rst(h)}\n" for h in st.hypotheses) + "\n"
                + _provenance(claim) + "\n"
                + f"**Relation:** {claim.relation}. "
                + f"**Last verified status (quick profile):** {entry['status']}.\n\n"
                + ".. list-table::\n   :header-rows: 1\n\n   * - method\n     - status\n     - worst error\n"
                + "     - tolerance\n     - instances\n" + rows + "\n\n" + eqs)
        name = f"claim_{claim.id}"
        (OUT / "claims" / f"{name}.rst").write_text(page)
        names.append(name)
    index = heading("Claims", "=") + "\nOne page per registered claim, generated from the registry.\n\n" \
        + ".. toctree::\n   :maxdepth: 1\n\n" + "\n".join(f"   {n}" for n in names) + "\n"
    (OUT / "claims" / "index.rst").write_text(index)
    (OUT / "theory_body.rst").write_text(theory_body().replace(":doc:`claims/", ":doc:`/_generated/claims/"))


def _num(x) -> str:
    return "-" if x is None else f"{x:.3g}"


def gallery() -> None:
    parts = [heading("Experiments gallery", "="), "\nFigures written by ``a2ad experiment NAME --quick``.\n"]
    for name, module in sorted(all_experiments().items()):
        paths = module.run(OUT / "figures" / name, agents="gd", seed=0, quick=True)
        parts.append("\n" + heading(name, "-") + "\n" + literal(module.DESCRIPTION))
        for p in paths:
            if p.suffix == ".png":
                parts.append(f"\n.. image:: figures/{name}/{p.name}\n   :width: 100%\n")
    (OUT / "gallery.rst").write_text("".join(parts))


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "claims").mkdir(parents=True)
    from numerics.io import progress

    claims = registry.all_claims()
    with progress.bar(sum(len(c.methods) for c in claims), "docs: verify (quick)") as advance:
        rep = runner.run(claims, registry.Profile.named("quick"), workers=runner.default_workers(),
                         on_method=lambda c, m: advance(text=f"{c.id} {m['method']}"))
    claims_pages(rep)
    with progress.bar(2, "docs: experiments and sweeps galleries") as advance:
        gallery()
        advance()
        sweep_gallery.write(OUT / "sweeps")
        advance()
    return 0


if __name__ == "__main__":
    sys.exit(main())
