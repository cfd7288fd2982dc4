"""Docs that tests keep honest: README's two commands come first and every command it names exists."""
import re

import click
from conftest import ROOT

from prongsai.cli import cli

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert commands == ["make run", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _resolve(words):
    command = cli
    ctx = click.Context(cli)
    for word in words:
        if not isinstance(command, click.Group):
            break
        sub = command.get_command(ctx, word)
        if sub is None:
            return None, word
        command = sub
    return command, None


def test_every_prongsai_command_in_the_docs_exists():
    texts = [README] + [p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md")]
    named = set()
    for text in texts:
        for match in re.finditer(r"prongsai ((?:[a-z][a-z0-9-]*)(?: [a-z][a-z0-9-]*)?)", text):
            named.add(tuple(match.group(1).split()))
    assert ("scrape", "datagoth") in named and ("export", "ocds") in named
    missing = []
    for words in sorted(named):
        command, bad = _resolve(words[:1])
        if command is None:
            missing.append(" ".join(words))
        elif isinstance(command, click.Group) and len(words) > 1:
            sub, bad = _resolve(words)
            if sub is None and words[1] not in ("list",):
                missing.append(" ".join(words))
    assert not missing, f"docs name commands that do not exist: {missing}"
