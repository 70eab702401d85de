"""The secret ballot against someone who reads the whole database and the logs (R-33).

A secret poll of 30 voters with known choices. Then every table of the agency's schema and of
the public schema is read (``SELECT *, xmin, ctid, cmin, cmax``; the tables listed from
information_schema), once after the last vote while the poll is still open and once after the
close, and the test plays the attacker:

1. Direct: every row that names a voter (a column referencing a participant or a user, or an
   ``actor_id``) gives that voter features (each column and system column). No such row may
   name an option, and no feature may group the voters by their choice better than the same
   grouping does for random reassignments of the same choices (a permutation test).
2. Join by equality: a voter's row shares its transaction id (``xmin``) or a timestamp with
   other rows; if those rows point at exactly one option, that voter's choice is out. No voter
   may be so revealed.
3. Join by order: voter rows ranked by ``xmin``, ``ctid`` or id, paired with the rows of any
   table that has one row per voter and points at options, ranked the same way: the pairing
   may not guess the choices.
4. The tally rows of the poll carry one and the same ``xmin`` and ``cmin``.
5. The logs (every logger at DEBUG, Django's SQL log included) and the live pushes: nothing
   that differs with the choice, and a secret poll pushes only how many have voted.

Out of scope (README): reading raw pages, dead row versions or the WAL (a superuser with file
access), the database server's own statement log, and watching the tallies continuously while
the poll is open (who voted when is visible during the poll; what they chose is not).

The test fails on a naive design: with a per-ballot table (option, time) next to the voter
list, check 2 (same ``xmin`` and ``created_at``) and check 3 (id order) reveal every choice; with
a tally that updates only the chosen option, check 2 and check 4 fail.
"""

import logging
import random
from collections import Counter, defaultdict

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from meetings.models_voting import PollOption
from meetings.services import voting
from tests.meetings.voting_helpers import board, open_poll

pytestmark = pytest.mark.django_db

N_VOTERS = 30


def SCHEMAS() -> list[str]:  # noqa: N802 - the agency's, public, and this session's temporary one
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()")
        temporary = [row[0] for row in cursor.fetchall()]
    return [connection.schema_name, "public", *temporary]


def _tables() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_type IN ('BASE TABLE', 'LOCAL TEMPORARY')"
            " AND table_schema = ANY(%s) ORDER BY 1, 2",
            [SCHEMAS()],
        )
        return cursor.fetchall()


def _references() -> dict[tuple[str, str], dict[str, str]]:
    """(schema, table) -> {column: referenced table} for the foreign keys (from pg_catalog:
    information_schema shows constraints only to the tables' owner)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ns.nspname, cl.relname, att.attname, ref.relname"
            " FROM pg_constraint con"
            " JOIN pg_class cl ON cl.oid = con.conrelid"
            " JOIN pg_namespace ns ON ns.oid = cl.relnamespace"
            " JOIN pg_class ref ON ref.oid = con.confrelid"
            " JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]"
            " WHERE con.contype = 'f' AND ns.nspname = ANY(%s)",
            [SCHEMAS()],
        )
        refs: dict = defaultdict(dict)
        for schema, table, column, target in cursor.fetchall():
            refs[(schema, table)][column] = target
        return refs


def dump() -> dict[tuple[str, str], list[dict[str, str]]]:
    """Every row of every table, every value as text, with the system columns."""
    rows = {}
    with connection.cursor() as cursor:
        for schema, table in _tables():
            cursor.execute(
                f'SELECT t.*, t.xmin::text AS "@xmin", t.ctid::text AS "@ctid",'
                f' t.cmin::text AS "@cmin", t.cmax::text AS "@cmax" FROM "{schema}"."{table}" t'
            )
            names = [
                c.name.lstrip("@") if c.name.startswith("@") else c.name for c in cursor.description
            ]
            # a table's own column named like a system column would be shadowed: keep both apart
            rows[(schema, table)] = [
                {
                    (f"sys:{name}" if i >= len(names) - 4 else name): (
                        None if value is None else str(value)
                    )
                    for i, (name, value) in enumerate(zip(names, row, strict=True))
                }
                for row in cursor.fetchall()
            ]
    return rows


class Attacker:
    def __init__(self, data, *, voters, choice_of, options):
        self.data = data
        self.refs = _references()
        self.voters = voters  # participants
        self.choice_of = choice_of  # participant pk -> option code
        self.option_by_pk = {str(o.pk): o.code for o in options}
        self.options = options
        self.by_participant = {str(p.pk): p.pk for p in voters}
        self.by_user = {str(p.user_id): p.pk for p in voters}

    # --- which rows name a voter, which name an option ---------------------------------------

    def voters_named(self, key, row) -> set[int]:
        named = set()
        for column, target in self.refs.get(key, {}).items():
            value = row.get(column)
            if target == "meetings_participant" and value in self.by_participant:
                named.add(self.by_participant[value])
            if target == "accounts_user" and value in self.by_user:
                named.add(self.by_user[value])
        if row.get("actor_id") in self.by_user:
            named.add(self.by_user[row["actor_id"]])
        return named

    def options_named(self, key, row) -> set[str]:
        named = set()
        if key[1] == "meetings_polloption" and row.get("id") in self.option_by_pk:
            named.add(self.option_by_pk[row["id"]])
        for column, target in self.refs.get(key, {}).items():
            if target == "meetings_polloption" and row.get(column) in self.option_by_pk:
                named.add(self.option_by_pk[row[column]])
        # ...or quotes an option's code or label (in a JSON or text value)
        text = " ".join(str(v) for v in row.values() if v is not None)
        for option in self.options:
            if any(f'"{token}"' in text for token in (option.code, option.label)):
                named.add(option.code)
        return named

    def voter_rows(self):
        for key, rows in self.data.items():
            for row in rows:
                for voter in self.voters_named(key, row):
                    yield key, row, voter

    # --- the checks ----------------------------------------------------------------------------

    def direct(self) -> list[str]:
        leaks = []
        features: dict = defaultdict(dict)  # (table, column) -> voter -> values
        for key, row, voter in self.voter_rows():
            if self.options_named(key, row):
                leaks.append(f"{key} names a voter and an option: {row}")
            for column, value in row.items():
                features[(key, column)].setdefault(voter, []).append(value)
        choices = [self.choice_of[p.pk] for p in self.voters]
        rng = random.Random(7)
        for feature, by_voter in features.items():
            values = [tuple(sorted(by_voter.get(p.pk, ["-"]), key=str)) for p in self.voters]
            observed = _purity(values, choices)
            if observed is None:
                continue
            permuted = []
            for _ in range(200):
                shuffled = choices[:]
                rng.shuffle(shuffled)
                permuted.append(_purity(values, shuffled))
            permuted.sort()
            if observed > permuted[int(len(permuted) * 0.99) - 1]:
                leaks.append(f"{feature} groups voters by choice ({observed:.2f} vs chance)")
        return leaks

    def join_by_equality(self) -> list[str]:
        # values of xmin and of timestamp-like columns -> the options the rows holding them name
        options_at: dict = defaultdict(set)
        for key, rows in self.data.items():
            for row in rows:
                if self.voters_named(key, row):
                    continue
                named = self.options_named(key, row)
                for column, value in row.items():
                    if value and (column == "sys:xmin" or column.endswith("_at")):
                        options_at[(column, value)] |= named
        revealed = []
        for key, row, voter in self.voter_rows():
            for column, value in row.items():
                if value and (column == "sys:xmin" or column.endswith("_at")):
                    linked = options_at.get((column, value), set())
                    if len(linked) == 1:
                        revealed.append(
                            f"{key}.{column} links voter {voter} to {linked} "
                            f"(chose {self.choice_of[voter]})"
                        )
        return revealed

    def join_by_order(self) -> list[str]:
        leaks = []
        voter_tables = defaultdict(list)
        for key, row, voter in self.voter_rows():
            voter_tables[key].append((row, voter))
        option_tables = {}
        for key, rows in self.data.items():
            pointing = [
                r for r in rows if self.options_named(key, r) and not self.voters_named(key, r)
            ]
            if len(pointing) == N_VOTERS:
                option_tables[key] = pointing
        for vkey, pairs in voter_tables.items():
            if len({v for _row, v in pairs}) != N_VOTERS:
                continue
            for okey, orows in option_tables.items():
                for column in ("sys:xmin", "sys:ctid", "id", "created_at"):
                    if column not in orows[0] or column not in pairs[0][0]:
                        continue
                    ranked_voters = [
                        v for _r, v in sorted(pairs, key=lambda p: _order(p[0][column]))
                    ]
                    ranked_options = [
                        next(iter(self.options_named(okey, r)))
                        for r in sorted(orows, key=lambda r: _order(r[column]))
                    ]
                    hits = sum(
                        self.choice_of[v] == o
                        for v, o in zip(ranked_voters, ranked_options, strict=True)
                    )
                    if hits > N_VOTERS * 0.7:
                        leaks.append(f"{vkey} and {okey} ranked by {column}: {hits} of 30")
        return leaks


def _order(value):
    if value is None:
        return (0,)
    if value.startswith("("):  # ctid (page,item)
        page, item = value.strip("()").split(",")
        return (int(page), int(item))
    try:
        return (int(value),)
    except ValueError:
        return (value,)


def _purity(values, choices):
    """The share of voters whose choice is the commonest of their group, counting only groups
    of two or more voters (a value unique to one voter says nothing without a key)."""
    groups = defaultdict(list)
    for value, choice in zip(values, choices, strict=True):
        groups[value].append(choice)
    shared = [g for g in groups.values() if len(g) > 1]
    if len(groups) < 2 or not shared:
        return None
    counted = sum(len(g) for g in shared)
    return sum(Counter(g).most_common(1)[0][1] for g in shared) / counted


@pytest.fixture
def alpha(agency_a):
    with schema_context(agency_a.schema_name):
        yield agency_a


def test_nobody_reading_the_whole_database_and_logs_can_tell_a_secret_vote(
    alpha, caplog, monkeypatch
):
    meeting, chair, members = board(N_VOTERS - 1)
    voters = [chair, *members]
    poll = open_poll(meeting, chair, secret=True, majority="simple")
    options = list(PollOption.objects.filter(poll=poll))
    by_code = {o.code: o for o in options}
    plan = ["yes"] * 13 + ["no"] * 10 + ["abstain"] * 7
    random.Random(13).shuffle(plan)
    choice_of = {p.pk: code for p, code in zip(voters, plan, strict=True)}

    pushes = []
    monkeypatch.setattr(
        voting, "meeting_publish", lambda meeting_id, event, **data: pushes.append((event, data))
    )
    caplog.set_level(logging.DEBUG)
    connection.force_debug_cursor = True  # Django's SQL log on, as with DEBUG=True
    shapes = []
    try:
        for participant in voters:
            start = len(caplog.records)
            voting.poll_vote(
                actor=participant.user,
                poll=poll,
                voter_id=participant.pk,
                choices=[by_code[choice_of[participant.pk]].position],
            )
            shapes.append(
                [(r.name, r.levelno, _shape(r.getMessage())) for r in caplog.records[start:]]
            )
    finally:
        connection.force_debug_cursor = False

    # 5. logs and pushes: the same for every vote, and nothing with a choice in it
    assert all(shape == shapes[0] for shape in shapes), "the logs differ with the vote"
    for record in caplog.records:
        message = record.getMessage()
        for token in ("'yes'", "'no'", "'abstain'", "ARRAY[", "= ANY"):
            assert token not in message, message
    assert [event for event, _data in pushes] == ["poll_count"] * N_VOTERS
    assert all(set(data) == {"poll_id", "voted"} for _event, data in pushes)

    def attack(stage):
        attacker = Attacker(dump(), voters=voters, choice_of=choice_of, options=options)
        leaks = attacker.direct() + attacker.join_by_equality() + attacker.join_by_order()
        assert not leaks, f"{stage}: " + "\n".join(leaks)
        tally = [
            r
            for r in attacker.data[(connection.schema_name, "meetings_polloption")]
            if r["poll_id"] == str(poll.pk)
        ]
        assert len(tally) == 3
        assert len({r["sys:xmin"] for r in tally}) == 1, f"{stage}: tally xmin differ"
        assert len({r["sys:cmin"] for r in tally}) == 1, f"{stage}: tally cmin differ"
        return attacker

    attack("open, after every vote")
    result = voting.poll_close(actor=chair.user, poll=poll)
    after = attack("closed")
    assert {o["code"]: o["count"] for o in result.numbers["options"]} == {
        "yes": 13,
        "no": 10,
        "abstain": 7,
    }
    # After the close the voter rows carry one transaction id and an order unrelated to voting.
    schema = connection.schema_name
    voter_rows = [
        r for r in after.data[(schema, "meetings_pollvoter")] if r["poll_id"] == str(poll.pk)
    ]
    assert len(voter_rows) == N_VOTERS and len({r["sys:xmin"] for r in voter_rows}) == 1
    assert all(r["choices"] is None for r in voter_rows)


def _shape(message: str) -> str:
    """A log line with its numbers, quoted strings and hex taken out (ids differ per voter)."""
    import re

    message = re.sub(r"'[^']*'", "'?'", message)
    return re.sub(r"\b[0-9a-f]{6,}\b|\d+", "#", message)
