"""The LINE Official Account channel: tips in (``/line/webhook``), follows by chat, digests pushed.

Off until ``PRONGSAI_LINE_CHANNEL_SECRET`` and ``PRONGSAI_LINE_ACCESS_TOKEN`` are set (docs/line.md).
The webhook is signed by LINE, not sent by a browser, so it is exempt from CSRF; the body limit
of ``portal.security`` covers it like any other route.
"""
from __future__ import annotations


def init_app(app) -> None:
    from portal.complaints import notify
    from portal.line import chat, push, webhook
    from portal.security import csrf

    notify.CHANNELS["line"] = (push.Pusher, push.forget)
    if chat.leftovers not in notify.TICKS:
        notify.TICKS.append(chat.leftovers)

    app.register_blueprint(webhook.bp)
    csrf.exempt(webhook.bp)
