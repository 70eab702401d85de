"""The archive (R-21): an agency searches its documents and attachments per request, per
beneficiary and per type (supervisors within their department; plain employees not at all);
a beneficiary lists their own documents across every agency from the public document index,
never another person's and never internal files. Query counts do not grow with the rows."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape
from django_tenants.utils import schema_context

from core.files.storage import reset_private_storage
from requests_app import services
from requests_app.constants import Visibility
from requests_app.models import Attachment, Request
from requests_app.public.models import DocumentIndex
from tenants.services import department_save
from tenants.staff.models import Membership
from tests.factories import (
    PDF_BYTES,
    PNG_BYTES,
    make_beneficiary,
    make_employee,
    make_request,
    make_type,
)
from tests.jobs import run_pending_jobs


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    reset_private_storage()
    yield
    reset_private_storage()


def pdf(name: str):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def png(name: str):
    return SimpleUploadedFile(name, PNG_BYTES, content_type="image/png")


CONTENT = {".pdf": PDF_BYTES, ".png": PNG_BYTES}


class World:
    """Agency A with departments D1 and D2 (a supervisor and a worker each), an admin and a
    plain employee; agency B with an admin. Beneficiaries Mohammed (``ben``) and Sara
    (``sara``). Files:

    - A1 (Mohammed, D1 licence): contract.pdf (his), stamped-permit.png (agency, external),
      internal-memo.pdf (internal);
    - A2 (Sara, D2 complaint): passport-sara.png (hers);
    - B1 (Mohammed, agency B): beta-letter.pdf (his), beta-reply.png (agency, external),
      beta-secret.pdf (internal).
    """

    def __init__(self, alpha, beta):
        self.alpha, self.beta = alpha, beta
        self.admin = make_employee(alpha, roles=("admin",))
        self.plain = make_employee(alpha)
        self.sup1 = make_employee(alpha, roles=("supervisor",))
        self.sup2 = make_employee(alpha, roles=("supervisor",))
        self.worker1 = make_employee(alpha)
        self.worker2 = make_employee(alpha)
        with schema_context(alpha.schema_name):
            self.d1 = department_save(actor=self.admin, name_ar="التراخيص", name_en="Licences")
            self.d2 = department_save(actor=self.admin, name_ar="الشكاوى", name_en="Complaints")
            Membership.objects.filter(user_id__in=[self.sup1.pk, self.worker1.pk]).update(
                department=self.d1
            )
            Membership.objects.filter(user_id__in=[self.sup2.pk, self.worker2.pk]).update(
                department=self.d2
            )
        self.t1 = make_type(
            alpha, actor=self.admin, department=self.d1, name_ar="رخصة محل", name_en="Shop licence"
        )
        self.t2 = make_type(
            alpha, actor=self.admin, department=self.d2, name_ar="شكوى خدمة", name_en="Complaint"
        )
        self.admin_b = make_employee(beta, roles=("admin",))
        self.tb = make_type(beta, actor=self.admin_b, name_ar="خطاب", name_en="Letter")
        self.ben = make_beneficiary(email="mohammed.archive@example.sa")
        self.sara = make_beneficiary(
            email="sara.archive@example.sa",
            first_name_ar="سارة",
            family_name_ar="الزهراني",
            first_name_en="Sara",
            family_name_en="Alzahrani",
        )
        self.a1 = make_request(
            alpha, beneficiary=self.ben, request_type=self.t1, attachments=[pdf("contract.pdf")]
        )
        self.a2 = make_request(
            alpha,
            beneficiary=self.sara,
            request_type=self.t2,
            attachments=[png("passport-sara.png")],
        )
        self.b1 = make_request(
            beta, beneficiary=self.ben, request_type=self.tb, attachments=[pdf("beta-letter.pdf")]
        )
        self.staff_files(alpha, self.a1, self.admin, "stamped-permit.png", "internal-memo.pdf")
        self.staff_files(beta, self.b1, self.admin_b, "beta-reply.png", "beta-secret.pdf")
        run_pending_jobs()

    @staticmethod
    def staff_files(agency, item, actor, external: str, internal: str) -> None:
        with schema_context(agency.schema_name):
            services.attachment_add(
                agency=agency,
                request_obj=item,
                author=actor,
                visibility=Visibility.EXTERNAL,
                files=[png(external)],
            )
            services.comment_add(
                agency=agency,
                request_obj=item,
                author=actor,
                body="للفريق",
                visibility=Visibility.INTERNAL,
                attachments=[pdf(internal)],
            )

    def attachment(self, name: str, agency=None) -> Attachment:
        with schema_context((agency or self.alpha).schema_name):
            return Attachment.objects.get(original_name=name)


@pytest.fixture
def world(agency_a, agency_b) -> World:
    return World(agency_a, agency_b)


ARCHIVE = reverse("workspace:archive", kwargs={"agency_slug": "alpha"})
DOCUMENTS = reverse("requests:documents")


def listed(response) -> list[str]:
    """File names of the rows of a result table, in order."""
    assert response.status_code == 200
    return [
        a.original_name if hasattr(a, "original_name") else a.name for a in response.context["page"]
    ]


def archive(client, **params) -> list[str]:
    return sorted(listed(client.get(ARCHIVE, params)))


ALPHA_FILES = ["contract.pdf", "internal-memo.pdf", "passport-sara.png", "stamped-permit.png"]


# --- the agency's archive ---------------------------------------------------------------------


def test_admin_searches_per_request_beneficiary_type_and_name(client, world):
    client.force_login(world.admin)
    assert archive(client) == ALPHA_FILES  # the whole agency, internal files included, not B's
    # per request (the full reference, or a part of it)
    assert archive(client, reference=world.a1.reference) == [
        "contract.pdf",
        "internal-memo.pdf",
        "stamped-permit.png",
    ]
    assert archive(client, reference=world.a2.reference.lower()) == ["passport-sara.png"]
    assert archive(client, reference="NO-SUCH-REF") == []
    # per beneficiary: email, Arabic or English name (any part)
    assert archive(client, beneficiary="sara.archive@") == ["passport-sara.png"]
    assert archive(client, beneficiary="الزهراني") == ["passport-sara.png"]
    assert archive(client, beneficiary="alzah") == ["passport-sara.png"]
    assert archive(client, beneficiary="سارة") == ["passport-sara.png"]
    assert archive(client, beneficiary="mohammed.archive") == [
        "contract.pdf",
        "internal-memo.pdf",
        "stamped-permit.png",
    ]
    # per type
    assert archive(client, type=str(world.t2.pk)) == ["passport-sara.png"]
    assert archive(client, type=str(world.t1.pk)) == [
        "contract.pdf",
        "internal-memo.pdf",
        "stamped-permit.png",
    ]
    assert archive(client, type=str(world.tb.pk + 10_000)) == []
    assert archive(client, type="nonsense") == ALPHA_FILES  # ignored
    # per file name, and combined
    assert archive(client, name="PERMIT") == ["stamped-permit.png"]
    assert archive(client, name=".pdf", beneficiary="mohammed") == [
        "contract.pdf",
        "internal-memo.pdf",
    ]
    assert archive(client, name=".pdf", type=str(world.t2.pk)) == []


def test_archive_page_shows_each_file_with_its_request_and_links_that_work(client, world):
    client.force_login(world.admin)
    response = client.get(ARCHIVE)
    html = response.content.decode()
    for name in ALPHA_FILES:
        attachment = world.attachment(name)
        link = reverse(
            "workspace:request_file",
            kwargs={
                "agency_slug": "alpha",
                "request_id": attachment.request_id,
                "file_id": attachment.pk,
            },
        )
        assert f'href="{link}"' in html
        download = client.get(link)
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == CONTENT[name[-4:]]
    for item in (world.a1, world.a2):
        assert item.reference in html
    assert escape("سارة") in html and "رخصة محل" in html and "شكوى خدمة" in html
    assert "beta-letter.pdf" not in html and "beta-secret.pdf" not in html
    # the internal file is marked as such
    memo_row = next(row for row in html.split("<tr>") if "internal-memo.pdf" in row)
    assert 'class="tag"' in memo_row


def test_supervisors_search_their_department_only(client, world):
    client.force_login(world.sup1)
    assert archive(client) == ["contract.pdf", "internal-memo.pdf", "stamped-permit.png"]
    assert archive(client, beneficiary="sara") == []
    assert archive(client, reference=world.a2.reference) == []
    assert archive(client, type=str(world.t2.pk)) == []
    # and cannot download another department's file by its URL
    passport = world.attachment("passport-sara.png")
    url = reverse(
        "workspace:request_file",
        kwargs={"agency_slug": "alpha", "request_id": passport.request_id, "file_id": passport.pk},
    )
    assert client.get(url).status_code == 404

    client.force_login(world.sup2)
    assert archive(client) == ["passport-sara.png"]
    assert archive(client, beneficiary="mohammed") == []


def test_plain_employees_and_outsiders_have_no_archive(client, world):
    for user in (world.plain, world.worker1, world.admin_b, world.ben):
        client.force_login(user)
        assert client.get(ARCHIVE).status_code == 403, user.email
        client.logout()
    response = client.get(ARCHIVE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_archive_query_count_does_not_grow(client, world):
    client.force_login(world.admin)
    client.get(ARCHIVE)

    def count(**params) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(ARCHIVE, params).status_code == 200
        return len(queries)

    small, small_filtered = count(), count(beneficiary="a", name="p")
    for n in range(4):  # more requests, beneficiaries, types and uploaders
        item = make_request(
            world.alpha,
            beneficiary=make_beneficiary(),
            request_type=make_type(world.alpha, actor=world.admin, department=world.d1),
            attachments=[pdf(f"more-{n}.pdf"), png(f"more-{n}.png")],
        )
        World.staff_files(world.alpha, item, world.sup1, f"extra-{n}.png", f"memo-{n}.pdf")
    assert len(listed(client.get(ARCHIVE))) == 4 + 16
    assert count() == small
    assert count(beneficiary="a", name="p") == small_filtered


# --- the beneficiary's documents ---------------------------------------------------------------


def test_beneficiary_sees_own_external_documents_of_every_agency(client, world):
    client.force_login(world.ben)
    response = client.get(DOCUMENTS)
    names = listed(response)
    assert sorted(names) == [
        "beta-letter.pdf",
        "beta-reply.png",
        "contract.pdf",
        "stamped-permit.png",
    ]
    html = response.content.decode()
    assert "internal-memo.pdf" not in html and "beta-secret.pdf" not in html
    assert "passport-sara.png" not in html
    assert "جهة ألفا" in html and "جهة بيتا" in html
    assert world.a1.reference in html and world.b1.reference in html
    # newest first
    rows = list(response.context["page"])
    assert [r.created_at for r in rows] == sorted((r.created_at for r in rows), reverse=True)
    # who uploaded: the agency's files say so
    by_name = {row.name: row for row in rows}
    assert by_name["stamped-permit.png"].uploaded_by_agency
    assert by_name["beta-reply.png"].uploaded_by_agency
    assert not by_name["contract.pdf"].uploaded_by_agency

    # every link downloads the file
    links = re.findall(r'href="(/requests/[a-z]+/[^/"]+/files/\d+/)"', html)
    assert len(links) == 4
    for row in rows:
        link = reverse(
            "requests:file",
            kwargs={
                "agency_slug": row.agency.slug,
                "reference": row.reference,
                "file_id": row.attachment_id,
            },
        )
        assert link in links
        download = client.get(link)
        assert download.status_code == 200, row.name
        assert b"".join(download.streaming_content) == CONTENT[row.name[-4:]]

    # search
    assert sorted(listed(client.get(DOCUMENTS, {"q": "beta"}))) == [
        "beta-letter.pdf",
        "beta-reply.png",
    ]
    assert listed(client.get(DOCUMENTS, {"q": world.a1.reference})) == [
        "stamped-permit.png",
        "contract.pdf",
    ]
    assert listed(client.get(DOCUMENTS, {"q": "رخصة"})) == ["stamped-permit.png", "contract.pdf"]
    assert listed(client.get(DOCUMENTS, {"q": "secret"})) == []


def test_index_holds_only_external_files(world):
    rows = DocumentIndex.objects.filter(beneficiary__in=[world.ben, world.sara])
    assert sorted(rows.values_list("name", flat=True)) == [
        "beta-letter.pdf",
        "beta-reply.png",
        "contract.pdf",
        "passport-sara.png",
        "stamped-permit.png",
    ]
    for row in rows:
        agency = world.alpha if row.agency_id == world.alpha.pk else world.beta
        attachment = world.attachment(row.name, agency)
        with schema_context(agency.schema_name):
            item = Request.objects.get(pk=attachment.request_id)
        assert attachment.visibility == Visibility.EXTERNAL
        assert (row.request_id, row.reference, row.beneficiary_id) == (
            item.pk,
            item.reference,
            item.beneficiary_id,
        )
        assert (row.size, row.content_type) == (attachment.size, attachment.content_type)


def test_another_beneficiary_sees_only_their_own(client, world):
    client.force_login(world.sara)
    assert listed(client.get(DOCUMENTS)) == ["passport-sara.png"]
    assert listed(client.get(DOCUMENTS, {"q": "contract"})) == []
    # Mohammed's files are not Sara's to download, even with the right URL
    for name, agency, item in (
        ("contract.pdf", world.alpha, world.a1),
        ("stamped-permit.png", world.alpha, world.a1),
        ("beta-letter.pdf", world.beta, world.b1),
    ):
        attachment = world.attachment(name, agency)
        url = reverse(
            "requests:file",
            kwargs={
                "agency_slug": agency.slug,
                "reference": item.reference,
                "file_id": attachment.pk,
            },
        )
        assert client.get(url).status_code == 404, name
    # nor is an internal file Mohammed's
    client.force_login(world.ben)
    memo = world.attachment("internal-memo.pdf")
    url = reverse(
        "requests:file",
        kwargs={"agency_slug": "alpha", "reference": world.a1.reference, "file_id": memo.pk},
    )
    assert client.get(url).status_code == 404
    # Sara's file id under Mohammed's request is not found either
    passport = world.attachment("passport-sara.png")
    url = reverse(
        "requests:file",
        kwargs={"agency_slug": "alpha", "reference": world.a1.reference, "file_id": passport.pk},
    )
    assert client.get(url).status_code == 404


def test_documents_need_signing_in(client, world):
    response = client.get(DOCUMENTS)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(make_beneficiary())
    response = client.get(DOCUMENTS)
    assert listed(response) == []


def test_documents_query_count_does_not_grow(client, world):
    client.force_login(world.ben)
    client.get(DOCUMENTS)

    def count(**params) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(DOCUMENTS, params).status_code == 200
        return len(queries)

    small, small_search = count(), count(q="pdf")
    for agency, admin, request_type in (
        (world.alpha, world.admin, world.t2),
        (world.beta, world.admin_b, world.tb),
    ):
        for n in range(3):
            item = make_request(
                agency,
                beneficiary=world.ben,
                request_type=request_type,
                attachments=[pdf(f"{agency.slug}-more-{n}.pdf")],
            )
            World.staff_files(
                agency, item, admin, f"{agency.slug}-x-{n}.png", f"{agency.slug}-i-{n}.pdf"
            )
    assert len(listed(client.get(DOCUMENTS))) == 4 + 12
    assert count() == small
    assert count(q="pdf") == small_search
