"""What the LINE bot says, in Thai (the chat is Thai; the web pages offer English).

Quick-reply labels are at most 20 characters (LINE's limit); the words a citizen may type are
the ``COMMANDS`` keys, so a tap on a quick reply and typing the same word do the same.
"""
from __future__ import annotations

from linebot.v3.messaging import MessageAction, QuickReply, QuickReplyItem, TextMessage

REPORT, SEND, CANCEL, FOLLOW, UNFOLLOW, HELP = "แจ้งเบาะแส", "ส่งรายงาน", "ยกเลิก", "ติดตาม", "เลิกติดตาม", "วิธีใช้"
FOLLOWING = "ติดตามอะไรอยู่"
EVERYTHING = "ทั้งหมด"           # "เลิกติดตาม ทั้งหมด"
MAX_QUICK = 13                   # LINE's limit of quick replies on a message
MAX_TEXT = 5000                  # LINE's limit for one text message


def message(text: str, *quick: str) -> TextMessage:
    """A text message with the given words as quick replies (each sends itself when tapped)."""
    reply = QuickReply(items=[QuickReplyItem(action=MessageAction(label=q[:20], text=q[:300])) for q in quick]) if quick \
        else None
    return TextMessage(text=text[:MAX_TEXT], quick_reply=reply)


def privacy(base: str, project_id: str | None = None) -> str:
    form = f"{base}/projects/{project_id}/report" if project_id else f"{base}/search"
    return ("โปรดทราบก่อนส่งข้อมูล: LINE อ่านข้อความและรูปในแชตนี้ได้ และรู้ว่าบัญชี LINE ใดเป็นผู้ส่ง "
            "โปร่งใสจำการสนทนานี้ด้วยรหัสแทนบัญชีเท่านั้น ไม่เก็บ LINE ID ไว้กับรายงาน และไม่ส่งต่อให้หน่วยงานใด\n"
            f"ถ้าต้องการแจ้งโดยไม่มีใครรู้ตัวตนเลย โปรดใช้แบบฟอร์มบนเว็บแทน: {form}")


def welcome(base: str) -> TextMessage:
    return message("สวัสดีครับ นี่คือโปร่งใส (Prongsai) ข้อมูลจัดซื้อจัดจ้างภาครัฐแบบเปิด\n"
                   f"• แจ้งเบาะแส: พิมพ์ \"{REPORT}\" แล้วส่งเลขโครงการหรือลิงก์หน้าโครงการจากโปร่งใส\n"
                   f"• ติดตาม: พิมพ์ \"{FOLLOW} ชื่อหน่วยงาน\" (หรือผู้ขาย จังหวัด รหัสธงแดง) "
                   "แล้วรับสรุปทาง LINE หลังข้อมูลอัปเดต\n\n" + privacy(base), REPORT, FOLLOW, HELP)


def ask_project(base: str) -> TextMessage:
    return message("ส่งเลขโครงการ (เช่น 68060000001) หรือลิงก์หน้าโครงการจากโปร่งใสมาได้เลย "
                   f"หาโครงการได้ที่ {base}/search\n\n" + privacy(base), CANCEL)


def project_chosen(base: str, project: dict) -> TextMessage:
    return message(f"โครงการ {project['project_id']}: {project.get('title') or ''}\n\n" + privacy(base, project[
        "project_id"]) + "\n\nเล่าสิ่งที่พบ (อย่างน้อย 20 ตัวอักษร) และส่งรูปได้สูงสุด 10 รูป "
        f"รูปจะถูกลบข้อมูลแฝง เช่น พิกัด GPS ก่อนเก็บ เสร็จแล้วกด \"{SEND}\"", SEND, CANCEL)


def no_project(text: str) -> TextMessage:
    return message(f"ไม่พบโครงการเลขที่ \"{text[:80]}\" ในโปร่งใส ลองตรวจเลขอีกครั้ง หรือส่งลิงก์หน้าโครงการ", CANCEL)


def noted(chars: int, files: int) -> TextMessage:
    return message(f"รับไว้แล้ว (ข้อความ {chars:,} ตัวอักษร รูป/ไฟล์ {files} ชิ้น) ส่งเพิ่มได้อีก "
                   f"หรือกด \"{SEND}\" เมื่อเสร็จ", SEND, CANCEL)


def refused_file(reason: str) -> TextMessage:
    return message(f"รับไฟล์นี้ไม่ได้: {reason} ไม่มีอะไรถูกเก็บจากไฟล์นี้", SEND, CANCEL)


def too_short(n: int) -> TextMessage:
    return message(f"ยังส่งไม่ได้: โปรดเล่าสิ่งที่พบอย่างน้อย {n} ตัวอักษร", CANCEL)


def too_long(n: int) -> TextMessage:
    return message(f"ข้อความยาวเกิน {n:,} ตัวอักษรต่อรายงาน ข้อความล่าสุดไม่ถูกเก็บ", SEND, CANCEL)


def received(base: str, code: str, case_files: int) -> TextMessage:
    return message(f"ได้รับรายงานแล้ว (รูป/ไฟล์ {case_files} ชิ้น) ผู้ตรวจสอบสองคนจะตรวจก่อนส่งต่อหน่วยงาน\n\n"
                   f"รหัสติดตาม: {code}\n\nเก็บรหัสนี้ไว้ให้ดี ใช้ดูความคืบหน้าและตอบผู้ตรวจสอบที่ {base}/track "
                   "(ไม่มีใครส่งรหัสนี้ให้อีกได้ และ LINE เห็นข้อความนี้ด้วย ลบแชตนี้ได้หลังจดรหัสแล้ว)", HELP)


def wait(seconds: int) -> TextMessage:
    return message(f"ส่งรายงานถี่เกินไป โปรดรอประมาณ {max(1, round(seconds / 60))} นาทีแล้วกด \"{SEND}\" อีกครั้ง "
                   "รายงานที่เขียนไว้ยังอยู่", SEND, CANCEL)


def cancelled() -> TextMessage:
    return message("ยกเลิกแล้ว ข้อความและรูปที่ส่งมาถูกลบ", REPORT, HELP)


def nothing_to_send() -> TextMessage:
    return message(f"ยังไม่มีรายงานที่กำลังเขียน พิมพ์ \"{REPORT}\" เพื่อเริ่ม", REPORT, HELP)


def photo_first(base: str) -> TextMessage:
    return message("รูปนี้ไม่ถูกเก็บ: โปรดเลือกโครงการก่อน ส่งเลขโครงการหรือลิงก์หน้าโครงการมา\n\n" + privacy(base),
                   REPORT)


def in_progress(project_id: str) -> TextMessage:
    return message(f"กำลังเขียนรายงานเรื่องโครงการ {project_id} อยู่ ส่งข้อความหรือรูปเพิ่มได้ กด \"{SEND}\" เมื่อเสร็จ "
                   f"หรือ \"{CANCEL}\" เพื่อเริ่มใหม่", SEND, CANCEL)


def unsupported() -> TextMessage:
    return message("รับได้เฉพาะข้อความ รูป ไฟล์ PDF และวิดีโอ", HELP)


def help_text(base: str) -> TextMessage:
    return message(f"• \"{REPORT}\": เริ่มแจ้งเบาะแสเกี่ยวกับโครงการ\n"
                   f"• \"{FOLLOW} กรมทางหลวง\" / \"{FOLLOW} จังหวัดน่าน\" / \"{FOLLOW} ผู้ขาย 0105551234567\" / "
                   f"\"{FOLLOW} ธง R018\": รับสรุปทาง LINE หลังข้อมูลอัปเดต\n"
                   f"• \"{UNFOLLOW} ...\": เลิกรับ • \"{FOLLOWING}\": ดูรายการที่ติดตาม\n"
                   f"วิธีใช้ฉบับเต็ม: {base}/learn", REPORT, FOLLOWING)


def cannot_send(reason: str) -> TextMessage:
    return message(f"ยังส่งไม่ได้: {reason}", CANCEL)


def followed(label: str) -> TextMessage:
    return message(f"ติดตาม \"{label}\" แล้ว จะส่งสรุปทาง LINE เมื่อข้อมูลอัปเดตแล้วมีเรื่องใหม่ "
                   f"(ไม่มีเรื่องใหม่ก็ไม่ส่ง) เลิกได้ด้วย \"{UNFOLLOW} {label}\"\n"
                   "การติดตามต้องเก็บ LINE ID ของคุณไว้แบบเข้ารหัสเพื่อส่งสรุป และลบทันทีเมื่อเลิกติดตามทั้งหมด "
                   "หรือบล็อกบัญชีนี้", FOLLOWING, HELP)


def unfollowed(label: str) -> TextMessage:
    return message(f"เลิกติดตาม \"{label}\" แล้ว", FOLLOWING)


def not_following(label: str) -> TextMessage:
    return message(f"ไม่ได้ติดตาม \"{label}\" อยู่", FOLLOWING)


def follow_problem(reason: str) -> TextMessage:
    return message(f"{reason}\nตัวอย่าง: \"{FOLLOW} กรมทางหลวง\", \"{FOLLOW} จังหวัดน่าน\", \"{FOLLOW} ธง R018\"", HELP)


def following(labels: list[str]) -> TextMessage:
    if not labels:
        return message(f"ยังไม่ได้ติดตามอะไร ลองพิมพ์ \"{FOLLOW} กรมทางหลวง\"", HELP)
    return message("กำลังติดตาม:\n" + "\n".join(f"• {label}" for label in labels[:50])
                   + f"\n\nเลิกติดตามได้ด้วยปุ่มด้านล่าง หรือพิมพ์ \"{UNFOLLOW} {EVERYTHING}\"",
                   *[f"{UNFOLLOW} {label}" for label in labels[:MAX_QUICK]])


def unfollowed_all(n: int) -> TextMessage:
    return message(f"เลิกติดตามทั้งหมดแล้ว ({n} รายการ) และลบ LINE ID ของคุณออกแล้ว" if n else
                   "ยังไม่ได้ติดตามอะไร", HELP)
