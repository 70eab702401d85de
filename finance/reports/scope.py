"""What a financial report covers: a fiscal year, a date range inside it (from a range of its
periods, or two dates), optionally a department (cost centre) and an account (with the
accounts under it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from finance.constants import AccountKind
from finance.models import Account, FiscalYear
from tenants.staff.models import Department

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ReportScope:
    fiscal_year: FiscalYear
    start: date
    end: date
    department: Department | None = None
    account: Account | None = None


@dataclass(frozen=True)
class AccountNode:
    id: int
    code: str
    name_ar: str
    name_en: str
    kind: str
    parent_id: int | None
    is_postable: bool

    @property
    def name(self) -> str:
        from django.utils.translation import get_language

        return self.name_en if get_language() == "en" else self.name_ar

    @property
    def debit_normal(self) -> bool:
        """Assets and expenses grow on the debit side; the others on the credit side."""
        return self.kind in (AccountKind.ASSET, AccountKind.EXPENSE)


class Chart:
    """The agency's chart of accounts, read in one query: the tree walked in memory (a chart
    has hundreds of accounts, never the ledger's hundreds of thousands of lines)."""

    def __init__(self, nodes: Iterable[AccountNode]):
        self.nodes = {node.id: node for node in nodes}
        self.children: dict[int | None, list[int]] = {}
        for node in sorted(self.nodes.values(), key=lambda n: n.code):
            self.children.setdefault(node.parent_id, []).append(node.id)

    @classmethod
    def load(cls) -> Chart:
        fields = ("id", "code", "name_ar", "name_en", "kind", "parent_id", "is_postable")
        return cls(AccountNode(*row) for row in Account.objects.values_list(*fields))

    def subtree(self, account_id: int) -> list[int]:
        """The account and every account under it."""
        found, stack = [], [account_id]
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(self.children.get(current, ()))
        return found

    def ancestors(self, account_id: int) -> list[int]:
        chain, seen = [], set()
        parent = self.nodes[account_id].parent_id
        while parent is not None and parent not in seen:
            seen.add(parent)
            chain.append(parent)
            parent = self.nodes[parent].parent_id
        return chain

    def depth(self, account_id: int) -> int:
        return len(self.ancestors(account_id))

    def in_tree_order(self) -> list[int]:
        """Every account, parents before their children, siblings by code."""
        order: list[int] = []
        roots = self.children.get(None, [])
        stack = list(reversed(roots))
        while stack:
            current = stack.pop()
            order.append(current)
            stack.extend(reversed(self.children.get(current, [])))
        # Accounts under a parent missing from the chart (never, with PROTECT) stay listed.
        return order + sorted(set(self.nodes) - set(order), key=lambda i: self.nodes[i].code)

    def ids_of_kinds(self, *kinds: str) -> list[int]:
        return [node.id for node in self.nodes.values() if node.kind in kinds]
