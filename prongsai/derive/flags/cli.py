"""``prongsai flags explain CODE`` and ``prongsai export flags``."""
from __future__ import annotations

import click

from prongsai.core.cli_options import db_option
from prongsai.core.errors import UserError
from prongsai.derive.flags.definitions import FLAGS
from prongsai.derive.flags.explain import applicability_of, describe


@click.group()
def flags():
    """Red flags: what each one means and how it is computed (risk signals, not proof)."""


@flags.command("explain")
@click.argument("code")
@db_option
@click.option("--lang", type=click.Choice(["th", "en", "both"]), default="both", show_default=True)
@click.option("--evidence", default=None, help="Evidence JSON to fill the explanation with (as in red_flags).")
def explain_command(code, lang, evidence, db_path):
    """Explain flag CODE (R003 … R058, TH01 … TH15); `list` shows them all. With a built
    database (--db), also how many projects it could be tested on and how many it fired on."""
    import json

    if code.lower() == "list":
        for flag in FLAGS.values():
            click.echo(f"{flag.code}  {flag.severity:<6}  {flag.scope:<32}  {flag.title_en} / {flag.title_th}")
        return
    code = code.upper()
    if code not in FLAGS:
        raise UserError(f"unknown flag {code!r} (known: {', '.join(FLAGS)})")
    try:
        data = json.loads(evidence) if evidence else None
    except ValueError as e:
        raise UserError(f"--evidence is not valid JSON: {e}") from None
    checked = applicability_of(db_path, code)
    for language in (("th", "en") if lang == "both" else (lang,)):
        click.echo(describe(code, language, evidence=data, applicability=checked))
        click.echo()


@click.command("flags")
@db_option
@click.option("--format", "fmt", type=click.Choice(["cardinal"]), default="cardinal", show_default=True,
              help="cardinal: OCP Cardinal's JSON layout (OCID/Buyer/ProcuringEntity/Tenderer).")
@click.option("-o", "--output", default="-", show_default=True, help="Output file, or - for stdout.")
@click.option("--ocid-prefix", default=None, help="Prefix of the ocids of non-OCDS projects (as `export ocds`).")
def export_flags(db_path, fmt, output, ocid_prefix):
    """Write the R-flags in Cardinal's JSON layout (0.0 on a tenderer is a raised flag, as in Cardinal)."""
    from prongsai.derive.flags.export import export_file

    export_file(db_path, output, fmt=fmt, prefix=ocid_prefix)
    if output != "-":
        click.echo(f"flags written to {output}", err=True)
