"""The flags' docs and settings files say what the definitions say (regenerate with
``python -m prongsai.derive.flags.docs``)."""
from __future__ import annotations

import re

from prongsai.derive.flags.definitions import CARDINAL_CODES, FLAGS
from prongsai.derive.flags.docs import BEGIN, DOC, END, render_doc_sections, render_thai_ini
from prongsai.derive.flags.settings import CARDINAL_SCHEMA, DEFAULT_CARDINAL, DEFAULT_THAI, THAI_DEFAULTS, load_thai


def test_docs_flag_sections_match_the_definitions():
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    assert text[text.index(BEGIN):text.index(END) + len(END)] == render_doc_sections()


def test_thai_settings_file_is_rendered_from_the_definitions():
    assert DEFAULT_THAI.read_text(encoding="utf-8") == render_thai_ini()
    assert load_thai() == THAI_DEFAULTS


def test_every_flag_has_a_doc_paragraph_and_known_needs():
    from prongsai.derive.flags.applicability import FACTS
    from prongsai.derive.flags.build import DERIVED

    for flag in FLAGS.values():
        assert flag.doc and flag.needs, flag.code
        assert set(flag.needs) <= set(FACTS), flag.code
        for key in re.findall(r"`([a-z_]+)`", flag.doc):
            if flag.code.startswith("TH"):
                assert key in flag.defaults or key in DERIVED, (flag.code, key)


def test_cardinal_defaults_agree_with_settings_ini_and_its_schema():
    """settings.ini stays Cardinal's format; its commented defaults are the definitions' defaults."""
    section, commented = None, {}
    for line in DEFAULT_CARDINAL.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^\[(\w+)\]", line):
            section = m[1]
        elif section in CARDINAL_CODES and (m := re.match(r"^; (\w+) = ([\w.|]+)$", line)):
            commented.setdefault(section, {})[m[1]] = m[2]
    for code in CARDINAL_CODES:
        for key, value in FLAGS[code].defaults.items():
            assert CARDINAL_SCHEMA[code][key] is type(value), (code, key)
            if key in commented.get(code, {}):
                assert commented[code][key] == str(value), (code, key)
