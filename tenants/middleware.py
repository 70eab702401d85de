"""Resolves the agency from /a/<slug>/ and points the connection at its schema."""

import re

from django.db import connection
from django.http import Http404
from django.utils.translation import gettext as _

from tenants.models import Agency

AGENCY_PATH = re.compile(r"^/a/([^/]+)/")


class AgencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        connection.set_schema_to_public()
        request.agency = None
        match = AGENCY_PATH.match(request.path_info)
        if match:
            agency = Agency.objects.filter(slug=match[1], is_active=True).first()
            if agency is None:
                raise Http404(_("No such agency."))
            request.agency = request.tenant = agency
            connection.set_tenant(agency)
        try:
            return self.get_response(request)
        finally:
            connection.set_schema_to_public()
