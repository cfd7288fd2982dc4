"""``prongsai line …``: set up the LINE Official Account (docs/line.md)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.complaints.letters import require_base_url


@click.group()
def line():
    """The LINE Official Account channel."""


@line.command("richmenu")
@with_appcontext
@click.option("--image", "image_path", type=click.Path(exists=True, dir_okay=False),
              help="A designed menu image (PNG or JPEG, 2500 x 843, at most 1 MB); default: one drawn here.")
def richmenu(image_path):
    """Create the Thai rich menu (แจ้งเบาะแส, ติดตาม, วิธีใช้) and make it every user's default."""
    from portal.line import richmenu as menus

    require_base_url(current_app.config)
    data = open(image_path, "rb").read() if image_path else None
    menu_id = menus.create(current_app.config, str(current_app.config["PUBLIC_URL"]).rstrip("/"), data)
    click.echo(f"rich menu {menu_id} created and set as the default")
