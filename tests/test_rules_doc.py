"""docs/rules.md must speak of every rule id of the specification."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT.parent / "shared" / "spec" / "RULES.md"


@pytest.mark.skipif(not SPEC.exists(), reason="the specification lives in ../shared, beside the clone; absent here")
def test_every_rule_id_is_in_docs_rules():
    ids = set(re.findall(r"^- (R-[A-Z0-9]+-\d+)", SPEC.read_text(encoding="utf-8"), flags=re.M))
    assert len(ids) > 40
    documented = set(
        re.findall(r"^\| (R-[A-Z0-9]+-\d+) \|", (ROOT / "docs" / "rules.md").read_text(encoding="utf-8"), flags=re.M)
    )
    assert sorted(ids - documented) == []
