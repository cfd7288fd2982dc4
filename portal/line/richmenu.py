"""The rich menu: three large buttons under the chat, in Thai, made through LINE's API.

แจ้งเบาะแส (start a tip), ติดตาม (what one follows, and how to follow more), วิธีใช้ (/learn).
The image is drawn here from shapes alone (no font is needed, so nothing to install); an operator
with a designed one passes it instead (PNG or JPEG, 2500 x 843, at most 1 MB as LINE asks).
"""
from __future__ import annotations

import io

from linebot.v3.messaging import MessageAction, RichMenuArea, RichMenuBounds, RichMenuRequest, RichMenuSize, URIAction
from PIL import Image, ImageDraw

from portal.line import client, texts
from prongsai.core.errors import UserError

WIDTH, HEIGHT = 2500, 843
MAX_IMAGE_BYTES = 1024 * 1024
_COLOURS = ((176, 32, 40), (20, 90, 160), (40, 120, 70))


def menu(base: str) -> RichMenuRequest:
    third = WIDTH // 3
    bounds = [RichMenuBounds(x=i * third, y=0, width=third if i < 2 else WIDTH - 2 * third, height=HEIGHT)
              for i in range(3)]
    return RichMenuRequest(
        size=RichMenuSize(width=WIDTH, height=HEIGHT), selected=True, name="Prongsai", chat_bar_text="เมนูโปร่งใส",
        areas=[RichMenuArea(bounds=bounds[0], action=MessageAction(label=texts.REPORT, text=texts.REPORT)),
               RichMenuArea(bounds=bounds[1], action=MessageAction(label=texts.FOLLOW, text=texts.FOLLOWING)),
               RichMenuArea(bounds=bounds[2], action=URIAction(label=texts.HELP, uri=f"{base}/learn"))])


def image() -> bytes:
    """Three panels: an exclamation mark (tip), a bell (follow), an 'i' (how to)."""
    img = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(img)
    third = WIDTH // 3
    for i, colour in enumerate(_COLOURS):
        draw.rectangle([i * third + 12, 12, (i + 1) * third - 12, HEIGHT - 12], fill=colour)
    white = (255, 255, 255)
    cx, cy = third // 2, HEIGHT // 2
    draw.rounded_rectangle([cx - 45, cy - 260, cx + 45, cy + 90], radius=40, fill=white)     # !
    draw.ellipse([cx - 55, cy + 150, cx + 55, cy + 260], fill=white)
    cx += third
    draw.pieslice([cx - 200, cy - 250, cx + 200, cy + 150], 180, 360, fill=white)             # bell
    draw.rectangle([cx - 200, cy - 50, cx + 200, cy + 130], fill=white)
    draw.rectangle([cx - 250, cy + 130, cx + 250, cy + 180], fill=white)
    draw.ellipse([cx - 60, cy + 170, cx + 60, cy + 270], fill=white)
    cx += third
    draw.ellipse([cx - 55, cy - 270, cx + 55, cy - 160], fill=white)                          # i
    draw.rounded_rectangle([cx - 45, cy - 100, cx + 45, cy + 260], radius=40, fill=white)
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def check_image(data: bytes) -> str:
    """The image's MIME type, or UserError saying what LINE would refuse."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            kind, size = img.format, img.size
    except OSError:
        raise UserError("the rich menu image is not a PNG or JPEG") from None
    if kind not in ("PNG", "JPEG"):
        raise UserError(f"the rich menu image is {kind}: LINE takes PNG or JPEG")
    if size != (WIDTH, HEIGHT):
        raise UserError(f"the rich menu image is {size[0]} x {size[1]}: this menu needs {WIDTH} x {HEIGHT}")
    if len(data) > MAX_IMAGE_BYTES:
        raise UserError(f"the rich menu image is {len(data):,} bytes: LINE takes at most {MAX_IMAGE_BYTES:,}")
    return "image/png" if kind == "PNG" else "image/jpeg"


def create(config, base: str, data: bytes | None = None) -> str:
    """Create the menu, upload its image, make it every user's default; returns its id."""
    data = image() if data is None else data
    mime = check_image(data)
    with client.apis(config) as (api, blob):
        try:
            menu_id = api.create_rich_menu(menu(base), _request_timeout=client.TIMEOUT).rich_menu_id
            blob.set_rich_menu_image(menu_id, body=data, _headers={"Content-Type": mime},
                                     _request_timeout=client.TIMEOUT)
            api.set_default_rich_menu(menu_id, _request_timeout=client.TIMEOUT)
        except client.ApiException as exc:
            raise UserError(f"the rich menu was not made: {client.problem(exc)}") from None
    return menu_id
