from django.urls import reverse
from django_tenants.utils import schema_exists

from tenants.models import Agency
from tests.factories import make_beneficiary, make_employee
from tests.two_factor import sign_in


def test_platform_page_is_for_operators_only(client, agency_a):
    url = reverse("portal:platform_agencies")
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    for user in (make_beneficiary(), make_employee(agency_a, roles=("admin",))):
        sign_in(client, user)
        assert client.get(url).status_code == 403
        assert (
            client.post(
                url, {"slug": "hack", "name_ar": "x", "name_en": "x", "admin_email": "a@b.example"}
            ).status_code
            == 403
        )
    assert not Agency.objects.filter(slug="hack").exists()


def test_operator_onboards_an_agency_from_the_ui(client, agencies, db):
    operator = make_beneficiary(is_staff=True)
    sign_in(client, operator)
    response = client.post(
        reverse("portal:platform_agencies"),
        {
            "slug": "omega",
            "code": "OMG",
            "name_ar": "أوميغا",
            "name_en": "Omega",
            "admin_email": "admin@omega.example",
        },
    )
    assert response.status_code == 302
    assert schema_exists("agency_omega")
    response = client.post(
        reverse("portal:platform_agencies"),
        {"slug": "omega", "name_ar": "مكرر", "name_en": "Dup", "admin_email": "x@y.example"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["slug"]


def test_home_lists_workspaces_without_visiting_schemas(
    client, agency_a, agency_b, django_assert_max_num_queries
):
    employee = make_employee(agency_a)
    same_person = make_employee(agency_b, email=employee.email)  # same person, two agencies
    assert same_person.pk == employee.pk
    sign_in(client, same_person)
    with django_assert_max_num_queries(8):
        html = client.get("/").content.decode()
    assert f"/a/{agency_a.slug}/" in html and f"/a/{agency_b.slug}/" in html
