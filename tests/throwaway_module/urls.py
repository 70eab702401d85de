from django.http import HttpResponse
from django.urls import path

from tenants.decorators import workspace_view
from tests.throwaway_module.module import Perm


@workspace_view(Perm.USE)
def home(request):
    return HttpResponse(f"throwaway desk of {request.agency.slug}")


workspace_urlpatterns = [path("throwaway/", home, name="throwaway_home")]
