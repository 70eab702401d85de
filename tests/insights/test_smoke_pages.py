"""Each statistics page answers for the people it is for (full permission tables are in
test_permissions.py)."""

from accounts.models import User
from tests.factories import make_beneficiary, make_employee
from tests.insights.dataset import build
from tests.two_factor import sign_in


def _oversight():
    user = make_beneficiary()
    User.objects.filter(pk=user.pk).update(is_oversight=True)
    return User.objects.get(pk=user.pk)


def test_pages_render(client, db, agency_a):
    data = build(agency_a)
    viewer = _oversight()
    sign_in(client, viewer)
    q = "?start=2026-10-01&end=2026-10-31&grain=week"
    page = client.get("/oversight/" + q)
    assert page.status_code == 200, page.content[:2000]
    assert agency_a.name_ar in page.content.decode()
    page = client.get(f"/oversight/agencies/{agency_a.slug}/" + q)
    assert page.status_code == 200, page.content[:2000]
    assert "التراخيص" in page.content.decode()
    assert client.get("/oversight/" + q + "&export=csv").status_code == 200
    assert client.get("/oversight/" + q + "&export=xlsx").status_code == 200
    pdf = client.get("/oversight/report/?month=2026-10")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    admin = make_employee(agency_a, roles=("admin",))
    sign_in(client, admin)
    page = client.get(f"/a/{agency_a.slug}/statistics/" + q)
    assert page.status_code == 200, page.content[:2000]
    pdf = client.get(f"/a/{agency_a.slug}/statistics/report/?month=2026-10")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    page = client.get(f"/a/{agency_a.slug}/statistics/evaluation/")
    assert page.status_code == 200
    sign_in(client, data.beneficiaries[0])
    page = client.get("/me/statistics/")
    assert page.status_code == 200
    assert agency_a.name_ar in page.content.decode()


def test_the_agency_table_pages_and_sorts_and_exports_every_agency(client, db, agency_a):
    from tenants.models import Agency

    Agency.objects.bulk_create(
        Agency(
            schema_name=f"agency_bulk{n}",
            slug=f"bulk{n}",
            code=f"B{n:02d}",
            name_ar=f"جهة رقم {n:02d}",
            name_en=f"Agency {n:02d}",
        )
        for n in range(60)
    )
    build(agency_a)
    sign_in(client, _oversight())
    q = "?start=2026-10-01&end=2026-10-31&grain=day"
    first = client.get("/oversight/" + q).content.decode()
    # most requests first: the agency with the data set leads page 1 of 50 rows
    assert first.index(agency_a.name_ar) < first.index("جهة رقم")
    assert first.count('href="/oversight/agencies/') == 50
    total = Agency.objects.exclude(schema_name="public").filter(is_active=True).count()
    second = client.get("/oversight/" + q + "&page=2").content.decode()
    assert second.count('href="/oversight/agencies/') == total - 50
    by_name = client.get("/oversight/" + q + "&sort=name").content.decode()
    assert by_name.index("جهة رقم 00") < by_name.index("جهة رقم 01")
    rows = client.get("/oversight/" + q + "&export=csv").content.decode().splitlines()
    assert len(rows) == 1 + total  # the export has every agency
    assert client.get("/oversight/" + q + "&page=999&sort=bogus").status_code == 200
