"""core.numbering: numbers per sequence (key) and year in each schema, gapless or fast.

The first tests run in the per-test transaction of the ``db`` fixture (gapless counters are
rolled back with it; fast sequences are not: they are created and advanced on committed
connections, so those tests use keys of their own). The concurrency tests need transactions
of their own on several connections: they run with the blocker lifted (as
tests/requests/test_concurrency.py does; ``transactional_db`` would flush the session's
agencies) on the session's committed agencies, each thread on its own connection, with keys
no other test uses. Every test body runs as the app role, which may not create anything
(tests/conftest.py): the fast numbers prove the SECURITY DEFINER function does it for it."""

import threading
import time
import uuid
from importlib import import_module

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django_tenants.utils import schema_context
from psycopg import errors

from core.numbering import NO_YEAR, number_last, number_next, reference_format
from core.numbering.function import FUNCTION
from core.numbering.models import Counter
from tests import roles

YEAR = 2030
WAIT = 10  # seconds: the most any thread is given to reach a point it must reach


class Failed(Exception):
    pass


def _key() -> str:
    return f"test_{uuid.uuid4().hex[:16]}"


def _sql(statement: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def _sequences(key: str) -> list[tuple[str, str]]:
    """(schema, name) of the sequences of ``key`` (any schema, any year)."""
    return _sql(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
        "c.relnamespace WHERE c.relkind = 'S' AND c.relname LIKE %s ORDER BY 1, 2",
        [f"num\\_{_like(key)}\\_%"],
    )


def _like(text: str) -> str:
    return text.replace("_", "\\_")


# --- formatting ------------------------------------------------------------------------------


def test_reference_format_pads_the_number():
    assert reference_format("MOH", 2026, 123) == "MOH-2026-000123"
    assert reference_format("FIN", 2026, 7, width=4) == "FIN-2026-0007"
    assert reference_format("FIN", 2026, 1234567) == "FIN-2026-1234567"  # never cut


# --- gapless ---------------------------------------------------------------------------------


def test_gapless_sequences_per_key_and_year_are_independent(agency_a):
    with schema_context(agency_a.schema_name):
        assert number_last("test_vouchers", year=YEAR) == 0
        assert [number_next("test_vouchers", year=YEAR, gapless=True) for _ in range(3)] == [
            1,
            2,
            3,
        ]
        assert number_next("test_vouchers", year=YEAR + 1, gapless=True) == 1
        assert number_next("test_receipts", year=YEAR, gapless=True) == 1
        assert number_next("test_vouchers", gapless=True) == 1  # no year: a sequence of its own
        assert number_next("test_vouchers", year=YEAR, gapless=True) == 4
        assert number_last("test_vouchers", year=YEAR) == 4
        assert number_last("test_vouchers", year=YEAR + 1) == 1
        assert number_last("test_vouchers") == 1
        rows = set(
            Counter.objects.filter(key__in=["test_vouchers", "test_receipts"]).values_list(
                "key", "year"
            )
        )
    assert rows == {
        ("test_vouchers", YEAR),
        ("test_vouchers", YEAR + 1),
        ("test_vouchers", NO_YEAR),
        ("test_receipts", YEAR),
    }


def test_gapless_sequences_per_agency_are_independent(agency_a, agency_b):
    with schema_context(agency_a.schema_name):
        assert number_next("test_vouchers", year=YEAR, gapless=True) == 1
        assert number_next("test_vouchers", year=YEAR, gapless=True) == 2
    with schema_context(agency_b.schema_name):
        assert number_next("test_vouchers", year=YEAR, gapless=True) == 1
    # The public schema has its own counters too.
    connection.set_schema_to_public()
    assert number_next("test_vouchers", year=YEAR, gapless=True) == 1
    with schema_context(agency_a.schema_name):
        assert number_next("test_vouchers", year=YEAR, gapless=True) == 3
        assert number_last("test_vouchers", year=YEAR) == 3
    with schema_context(agency_b.schema_name):
        assert number_last("test_vouchers", year=YEAR) == 1


def test_a_rolled_back_transaction_gives_its_gapless_number_back(agency_a):
    with schema_context(agency_a.schema_name):
        assert number_next("test_vouchers", year=YEAR, gapless=True) == 1
        with pytest.raises(Failed), transaction.atomic():
            assert number_next("test_vouchers", year=YEAR, gapless=True) == 2
            raise Failed("the voucher failed after it was numbered")
        assert number_last("test_vouchers", year=YEAR) == 1
        assert number_next("test_vouchers", year=YEAR, gapless=True) == 2


# --- fast ------------------------------------------------------------------------------------


def test_fast_sequences_per_key_year_and_agency_are_independent(agency_a, agency_b):
    key, other = _key(), _key()
    with schema_context(agency_a.schema_name):
        assert [number_next(key, year=YEAR) for _ in range(3)] == [1, 2, 3]
        assert number_next(key, year=YEAR + 1) == 1
        assert number_next(other, year=YEAR) == 1
        assert number_next(key) == 1  # no year
        assert number_next(key, year=YEAR) == 4
    with schema_context(agency_b.schema_name):
        assert number_next(key, year=YEAR) == 1
    connection.set_schema_to_public()
    assert number_next(key, year=YEAR) == 1
    with schema_context(agency_a.schema_name):
        assert number_next(key, year=YEAR) == 5
    # One sequence per schema, key and year, owned by the owner role, not the app.
    assert _sequences(key) == sorted(
        [
            (agency_a.schema_name, f"num_{key}_{YEAR}"),
            (agency_a.schema_name, f"num_{key}_{YEAR + 1}"),
            (agency_a.schema_name, f"num_{key}_0"),
            (agency_b.schema_name, f"num_{key}_{YEAR}"),
            ("public", f"num_{key}_{YEAR}"),
        ]
    )
    owners = _sql(
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relname LIKE %s",
        [f"num\\_{_like(key)}\\_%"],
    )
    assert len(owners) == 1
    if roles.two_roles():
        assert owners[0][0] != connection.settings_dict["USER"]


def test_a_rolled_back_transaction_may_leave_a_hole_in_fast_numbers(agency_a):
    """Documented: nextval is not transactional, so a fast number is never given twice, but a
    rolled-back transaction's number is lost. Use gapless where holes matter."""
    key = _key()
    with schema_context(agency_a.schema_name):
        assert number_next(key, year=YEAR) == 1
        with pytest.raises(Failed), transaction.atomic():
            assert number_next(key, year=YEAR) == 2
            raise Failed("the request failed after it was numbered")
        assert number_next(key, year=YEAR) == 3  # 2 is a hole


def test_fast_numbers_outside_a_transaction(agencies, django_db_blocker):
    key = _key()
    with django_db_blocker.unblock():
        try:
            assert not connection.in_atomic_block
            with schema_context(agencies["alpha"].schema_name):
                assert [number_next(key, year=YEAR) for _ in range(2)] == [1, 2]
        finally:
            connection.set_schema_to_public()


# --- refusals --------------------------------------------------------------------------------

BAD_KEYS = ["", "Vouchers", "vouchers-2026", "a" * 41, "x; DROP SCHEMA public", "k\n", "رقم", None]
BAD_YEARS = [0, -1, 10_000, True, "2026", 2026.0]


def test_bad_keys_and_years_are_refused_and_create_nothing(agency_a):
    with schema_context(agency_a.schema_name):
        before = (
            _sql("SELECT count(*) FROM pg_class WHERE relkind = 'S'"),
            Counter.objects.count(),
        )
        for key in BAD_KEYS:
            for gapless in (False, True):
                with pytest.raises(ValueError, match="key"):
                    number_next(key, year=YEAR, gapless=gapless)
                with pytest.raises(ValueError, match="key"):
                    number_next(key, gapless=gapless)
        for year in BAD_YEARS:
            for gapless in (False, True):
                with pytest.raises(ValueError, match="year"):
                    number_next("test_vouchers", year=year, gapless=gapless)
        with pytest.raises(ValueError):
            number_last("Vouchers")
        after = (_sql("SELECT count(*) FROM pg_class WHERE relkind = 'S'"), Counter.objects.count())
    assert after == before


def test_the_database_refuses_bad_keys_and_schemas_too(agency_a):
    """Called directly (as the app role could), the function checks what it is given; the
    counter table refuses a bad key whatever writes it."""
    with schema_context(agency_a.schema_name):
        sequences = _sql("SELECT count(*) FROM pg_class WHERE relkind = 'S'")
        for key in ["", "Vouchers", "a-b", "a" * 41, 'k"; DROP SCHEMA public; --', None]:
            with pytest.raises(DatabaseError) as info, transaction.atomic():
                _sql(
                    "SELECT public.muamalat_number_next(%s, %s, %s)",
                    [agency_a.schema_name, key, YEAR],
                )
            assert isinstance(info.value.__cause__, errors.InvalidParameterValue), key
        for year in [-1, 10_000, None]:
            with pytest.raises(DatabaseError) as info, transaction.atomic():
                _sql(
                    "SELECT public.muamalat_number_next(%s, 'test_vouchers', %s)",
                    [agency_a.schema_name, year],
                )
            assert isinstance(info.value.__cause__, errors.InvalidParameterValue), year
        for schema in [
            settings.TENANT_BASE_SCHEMA,  # the template, copied into every new agency
            "pg_catalog",
            "information_schema",
            "agency_does_not_exist",
            'public"; DROP SCHEMA public; --',
            "",
            None,
        ]:
            with pytest.raises(DatabaseError) as info, transaction.atomic():
                _sql("SELECT public.muamalat_number_next(%s, 'test_vouchers', 2030)", [schema])
            assert isinstance(info.value.__cause__, errors.InvalidSchemaName), schema
        assert _sql("SELECT count(*) FROM pg_class WHERE relkind = 'S'") == sequences
        with pytest.raises(DatabaseError) as info, transaction.atomic():
            _sql("INSERT INTO numbering_counter (key, year, last) VALUES ('Bad-Key', 2030, 1)")
        assert isinstance(info.value.__cause__, errors.CheckViolation)


def test_a_gapless_number_is_refused_outside_a_transaction(agencies, django_db_blocker):
    """Outside a transaction the counter would be committed at once, whatever became of what it
    numbered: a hole. Refused, and nothing written."""
    key = _key()
    with django_db_blocker.unblock():
        try:
            with schema_context(agencies["alpha"].schema_name):
                assert not connection.in_atomic_block
                with pytest.raises(RuntimeError, match="transaction"):
                    number_next(key, year=YEAR, gapless=True)
                assert number_last(key, year=YEAR) == 0
        finally:
            connection.set_schema_to_public()


def test_only_the_function_lets_the_app_role_create_sequences(agency_a):
    """The app role may not create a sequence (nor anything else) itself; the function is owned
    by the owner, runs with its rights, and no role but the app may call it."""
    if not roles.two_roles():
        pytest.skip("one database role for owner and app: nothing to tell apart")
    assert connection.settings_dict["USER"] == settings.DATABASE_APP_ROLE
    for schema in (agency_a.schema_name, "public"):
        with pytest.raises(DatabaseError) as info, transaction.atomic():
            _sql(f"CREATE SEQUENCE {schema}.num_forged_{YEAR}")
        assert isinstance(info.value.__cause__, errors.InsufficientPrivilege), schema
    owner, definer, config = _sql(
        "SELECT pg_get_userbyid(proowner), prosecdef, proconfig FROM pg_proc "
        "WHERE oid = to_regprocedure(%s)",
        [FUNCTION],
    )[0]
    assert owner != settings.DATABASE_APP_ROLE and definer
    assert config == ["search_path=pg_catalog, pg_temp"]
    assert _sql("SELECT has_function_privilege(%s, 'EXECUTE')", [FUNCTION]) == [(True,)]
    assert _sql("SELECT has_function_privilege('public', %s, 'EXECUTE')", [FUNCTION]) == [(False,)]


# --- the migration of requests' references ---------------------------------------------------


def test_the_reference_counters_migration_copies_every_year():
    """requests_app 0007's SQL, run by the owner in a scratch schema shaped like an agency's
    before it (rolled back): each year's counter lands under the references' key."""
    migration = import_module("requests_app.migrations.0007_reference_numbering").Migration
    ((forwards, params),) = migration.operations[0].sql
    ((backwards, back_params),) = migration.operations[0].reverse_sql
    with roles.owner_cursor() as cursor:
        cursor.execute("CREATE SCHEMA numbering_scratch")
        cursor.execute("SET search_path = numbering_scratch")
        cursor.execute(
            "CREATE TABLE requests_app_referencecounter (year smallint PRIMARY KEY, last int)"
        )
        cursor.execute(
            'CREATE TABLE numbering_counter ("key" varchar(40), "year" smallint, '
            '"last" bigint, PRIMARY KEY ("key", "year"))'
        )
        cursor.execute("INSERT INTO requests_app_referencecounter VALUES (2025, 812), (2026, 41)")
        cursor.execute("INSERT INTO numbering_counter VALUES ('test_vouchers', 2026, 9)")
        cursor.execute(forwards, params)
        cursor.execute('SELECT "key", "year", "last" FROM numbering_counter ORDER BY 1, 2')
        assert cursor.fetchall() == [
            ("requests_reference", 2025, 812),
            ("requests_reference", 2026, 41),
            ("test_vouchers", 2026, 9),
        ]
        cursor.execute("DELETE FROM requests_app_referencecounter")
        cursor.execute("UPDATE numbering_counter SET last = last + 1")
        cursor.execute(backwards, back_params)
        cursor.execute("SELECT year, last FROM requests_app_referencecounter ORDER BY 1")
        assert cursor.fetchall() == [(2025, 813), (2026, 42)]


# --- concurrency -----------------------------------------------------------------------------


@pytest.fixture
def committed(agencies, django_db_blocker):
    """Autocommit access for this thread and (the blocker being process-wide) the worker
    threads; the session's agencies are committed. Threads close their own connections."""
    assert not connection.in_atomic_block
    with django_db_blocker.unblock():
        try:
            yield agencies["alpha"].schema_name
        finally:
            connection.set_schema_to_public()


class Holder(threading.Thread):
    """Takes a number in a transaction of its own and keeps it open until released (or rolls
    it back)."""

    def __init__(self, schema: str, key: str, *, gapless: bool, rollback: bool = False):
        super().__init__(daemon=True)
        self.schema, self.key, self.gapless, self.rollback = schema, key, gapless, rollback
        self.taken = threading.Event()
        self.release = threading.Event()
        self.number: int | None = None
        self.error: BaseException | None = None

    def run(self):
        try:
            with schema_context(self.schema), transaction.atomic():
                self.number = number_next(self.key, year=YEAR, gapless=self.gapless)
                self.taken.set()
                if not self.release.wait(WAIT * 3):
                    raise TimeoutError("never released")
                if self.rollback:
                    transaction.set_rollback(True)
        except BaseException as exc:  # reported to the test
            self.error = exc
            self.taken.set()
        finally:
            connections.close_all()


class Taker(threading.Thread):
    """Takes one number in a transaction of its own, telling its backend's pid first."""

    def __init__(self, schema: str, key: str, *, gapless: bool):
        super().__init__(daemon=True)
        self.schema, self.key, self.gapless = schema, key, gapless
        self.pid: int | None = None
        self.connected = threading.Event()
        self.number: int | None = None
        self.error: BaseException | None = None

    def run(self):
        try:
            with schema_context(self.schema), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    self.pid = cursor.fetchone()[0]
                self.connected.set()
                self.number = number_next(self.key, year=YEAR, gapless=self.gapless)
        except BaseException as exc:
            self.error = exc
        finally:
            self.connected.set()
            connections.close_all()


def _waits_on_a_lock(pid: int) -> bool:
    """Whether backend ``pid`` is waiting on a heavyweight lock (seen for WAIT seconds)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        rows = _sql("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        if rows and rows[0][0] == "Lock":
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("rollback", [False, True], ids=["commit", "rollback"])
def test_gapless_callers_wait_for_the_open_transaction(committed, rollback):
    """A second caller waits on the counter row until the first transaction ends: it then gets
    the next number after a commit, and the same number after a rollback (no hole)."""
    key = _key()
    with schema_context(committed), transaction.atomic():
        assert number_next(key, year=YEAR, gapless=True) == 1
    first = Holder(committed, key, gapless=True, rollback=rollback)
    second = Taker(committed, key, gapless=True)
    first.start()
    try:
        assert first.taken.wait(WAIT) and first.error is None, first.error
        assert first.number == 2
        second.start()
        assert second.connected.wait(WAIT) and second.pid, second.error
        assert _waits_on_a_lock(second.pid), "the second caller did not wait for the first"
        assert second.is_alive() and second.number is None
    finally:
        first.release.set()
        first.join(WAIT)
        second.join(WAIT)
    assert first.error is None and second.error is None, (first.error, second.error)
    assert second.number == (2 if rollback else 3)
    with schema_context(committed):
        assert number_last(key, year=YEAR) == second.number


def test_concurrent_gapless_transactions_leave_no_hole_and_no_duplicate(committed):
    """8 threads, each with its own connection, take 12 numbers each in transactions of their
    own, every third of which rolls back: the committed numbers are exactly 1…N."""
    key = _key()
    threads, rounds = 8, 12
    start = threading.Barrier(threads)
    committed_numbers: list[int] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work(index: int):
        try:
            start.wait(WAIT)
            with schema_context(committed):
                for i in range(rounds):
                    with transaction.atomic():
                        number = number_next(key, year=YEAR, gapless=True)
                        if (index + i) % 3 == 0:
                            transaction.set_rollback(True)
                            continue
                    with lock:
                        committed_numbers.append(number)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT * 6)
    assert not failures, failures
    assert not any(worker.is_alive() for worker in workers)
    expected = sum(1 for t in range(threads) for i in range(rounds) if (t + i) % 3)
    assert sorted(committed_numbers) == list(range(1, expected + 1))
    with schema_context(committed):
        assert number_last(key, year=YEAR) == expected


def test_fast_numbers_do_not_wait_for_an_open_transaction(committed):
    """The first transaction takes the sequence's very first number (creating it) and stays
    open; a second caller gets the next number at once. Again with the sequence existing."""
    key = _key()
    for expected in (1, 3):
        first = Holder(committed, key, gapless=False)
        second = Taker(committed, key, gapless=False)
        first.start()
        try:
            assert first.taken.wait(WAIT) and first.error is None, first.error
            assert first.number == expected
            second.start()
            second.join(WAIT)
            assert not second.is_alive(), "the second caller waited for the open transaction"
            assert first.is_alive()  # still open
        finally:
            first.release.set()
            first.join(WAIT)
            second.join(WAIT)
        assert first.error is None and second.error is None, (first.error, second.error)
        assert second.number == expected + 1


def test_concurrent_fast_numbers_are_unique(committed):
    """8 threads start together on a sequence that does not exist yet (so they race to create
    it), half of them inside transactions: 200 numbers, each given once."""
    key = _key()
    threads, rounds = 8, 25
    start = threading.Barrier(threads)
    numbers: list[int] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work(index: int):
        try:
            with schema_context(committed):
                start.wait(WAIT)
                taken = []
                if index % 2:
                    with transaction.atomic():
                        taken = [number_next(key, year=YEAR) for _ in range(rounds)]
                else:
                    taken = [number_next(key, year=YEAR) for _ in range(rounds)]
            with lock:
                numbers.extend(taken)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT * 6)
    assert not failures, failures
    assert sorted(numbers) == list(range(1, threads * rounds + 1))
    assert _sequences(key) == [(committed, f"num_{key}_{YEAR}")]
