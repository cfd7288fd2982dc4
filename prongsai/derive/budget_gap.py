"""How far the national budget lines we hold are from each Budget Act's total, and why.

A gap is expected while documents of a bill are missing; what matters is that it is explained:
which documents are held, which of the published ones are not (named, with what each holds), and
which lines were refused on reading. A gap left once every document is loaded points at a parsing error.
"""
from __future__ import annotations

import dataclasses
import re
import sqlite3

from prongsai.core.budget_bills import BILL_DOCUMENTS, WITHOUT_CSV

#: Totals of the annual Budget Acts (พ.ร.บ.งบประมาณรายจ่ายประจำปี) as enacted, in baht, shown beside
#: the sum of the national budget lines we hold. Source: the Acts in the Royal Gazette (2565, 2567
#: and 2569 checked against press reports of the Gazette publication).
OFFICIAL_BUDGET_TOTALS = {
    2565: 3_100_000_000_000,
    2566: 3_185_000_000_000,
    2567: 3_480_000_000_000,
    2568: 3_752_700_000_000,
    2569: 3_780_600_000_000,
}
#: A gap this small (a share of the Act's total) is rounding in the documents, not missing lines.
CLOSED = 0.005


@dataclasses.dataclass(frozen=True)
class YearGap:
    fiscal_year: int
    held: float                 # sum of the national lines we hold
    official: int | None        # the Budget Act's total
    volumes: dict[str, float]   # REF_DOC (CE year.ฉบับ.เล่ม) -> baht held from it
    refused: dict[str, int]     # file -> lines refused on reading (quarantined)

    @property
    def gap(self) -> float | None:
        return None if self.official is None else self.official - self.held

    @property
    def closed(self) -> bool:
        return self.gap is not None and abs(self.gap) <= CLOSED * self.official

    @property
    def documents(self) -> dict[str, str] | None:
        """The bill's documents as published (REF_DOC -> what it holds), None when not known."""
        return BILL_DOCUMENTS.get(self.fiscal_year)

    @property
    def missing(self) -> list[str]:
        """The bill's documents not loaded, those published as CSV first."""
        absent = [doc for doc in self.documents or () if doc not in self.volumes]
        return sorted(absent, key=lambda doc: doc in WITHOUT_CSV)

    @property
    def explained(self) -> bool:
        """False only when every published document is loaded, none refused a line, and a gap is left."""
        return self.closed or bool(self.missing) or bool(self.refused) or self.documents is None

    def explanation(self) -> str:
        held = ", ".join(f"{doc} ({baht / 1e9:,.1f} bn)" for doc, baht in sorted(self.volumes.items(), key=_volume))
        of = f" of the {len(self.documents)} published" if self.documents else ""
        parts = [f"held {self.held:,.0f} baht from {len(self.volumes)}{of} document(s): {held or 'none'}"]
        if self.official is not None:
            parts.append(f"Budget Act {self.official:,.0f}, gap {self.gap:,.0f} ({self.gap / self.official:.1%})")
        if self.documents is None and not self.closed:
            parts.append("this year's bill documents are not listed, so not which are missing")
        loadable = [doc for doc in self.missing if doc not in WITHOUT_CSV]
        if loadable:
            parts.append(f"{len(loadable)} not loaded: " + ", ".join(f"{d} ({self.documents[d]})" for d in loadable))
        unpublished = [doc for doc in self.missing if doc in WITHOUT_CSV]
        if unpublished:
            parts.append(f"{len(unpublished)} listed without a CSV by the extraction, so not loadable: "
                         + ", ".join(f"{d} ({self.documents[d]})" for d in unpublished))
        if self.refused:
            parts.append("lines refused on reading: " + ", ".join(f"{f} {n:,}" for f, n in sorted(self.refused.items())))
        if not self.explained:
            parts.append("every published document is loaded: the gap points at a parsing error")
        return "; ".join(parts)


def _volume(item) -> tuple:
    """``2022.3.3(2)`` sorts after ``2022.3.3(1)`` and before ``2022.3.10``."""
    return tuple(int(n) for n in re.findall(r"\d+", item[0]))


def year_gaps(conn: sqlite3.Connection) -> list[YearGap]:
    """One :class:`YearGap` per fiscal year with national lines or an official total."""
    volumes: dict[int, dict[str, float]] = {}
    for fy, doc, amount in conn.execute(
            "SELECT fiscal_year, coalesce(source_doc, '-'), total(amount) FROM budget_items "
            "WHERE level = 'national' AND coalesce(scope, 'nation') = 'nation' AND coalesce(currency, 'THB') = 'THB' "
            "AND instalment_of_bill IS NULL "
            "GROUP BY 1, 2"):
        volumes.setdefault(fy, {})[doc] = amount
    refused: dict[int, dict[str, int]] = {}
    for location, n in conn.execute("SELECT location, count(*) FROM quarantine WHERE source = 'budget' GROUP BY 1"):
        m = re.search(r"(\d{4})-\d+-\d+(?:\(\d+\))?\.csv", location or "")
        fy = int(m.group(1)) + 543 if m else None  # KaoGeek names a volume by its fiscal year, CE
        name = location.rsplit("/", 1)[-1].split(":")[0]
        refused.setdefault(fy, {})
        refused[fy][name] = refused[fy].get(name, 0) + n
    years = sorted(set(volumes) | set(OFFICIAL_BUDGET_TOTALS))
    return [YearGap(fy, sum(volumes.get(fy, {}).values()), OFFICIAL_BUDGET_TOTALS.get(fy), volumes.get(fy, {}),
                    refused.get(fy, {})) for fy in years]
