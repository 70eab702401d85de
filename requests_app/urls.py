from django.urls import path

import core.converters  # noqa: F401 - registers <id:…>
from requests_app import views_public, views_workspace

app_name = "requests"

urlpatterns = [
    path("", views_public.my_requests, name="mine"),
    path("new/", views_public.new_request_choose_agency, name="choose_agency"),
    path("documents/", views_public.my_documents, name="documents"),
    path("new/<slug:agency_slug>/", views_public.new_request, name="new"),
    path("new/<slug:agency_slug>/check/", views_public.new_request_check, name="check"),
    path("<slug:agency_slug>/<str:reference>/", views_public.request_detail, name="detail"),
    path(
        "<slug:agency_slug>/<str:reference>/submitted/",
        views_public.request_submitted,
        name="submitted",
    ),
    path(
        "<slug:agency_slug>/<str:reference>/files/<id:file_id>/",
        views_public.request_file,
        name="file",
    ),
]

guide_patterns = [
    path("", views_public.catalogue, name="catalogue"),
    path("<slug:agency_slug>/<id:type_id>/", views_public.catalogue_entry, name="entry"),
]

api_patterns = [
    path("requests/", views_public.api_my_requests, name="api_mine"),
    path(
        "requests/<slug:agency_slug>/<str:reference>/",
        views_public.api_request_detail,
        name="api_detail",
    ),
]

workspace_urlpatterns = [
    path("requests/", views_workspace.queue, name="queue"),
    path("requests/<id:request_id>/", views_workspace.request_detail, name="request_detail"),
    path(
        "requests/<id:request_id>/comment/",
        views_workspace.request_comment,
        name="request_comment",
    ),
    path("requests/<id:request_id>/start/", views_workspace.request_start, name="request_start"),
    path("requests/<id:request_id>/ask/", views_workspace.request_ask, name="request_ask"),
    path(
        "requests/<id:request_id>/resolve/",
        views_workspace.request_resolve,
        name="request_resolve",
    ),
    path("requests/<id:request_id>/reject/", views_workspace.request_reject, name="request_reject"),
    path("requests/<id:request_id>/reopen/", views_workspace.request_reopen, name="request_reopen"),
    path(
        "requests/<id:request_id>/files/<id:file_id>/",
        views_workspace.request_file,
        name="request_file",
    ),
    path("catalogue/", views_workspace.catalogue_list, name="catalogue_list"),
    path("catalogue/<id:type_id>/", views_workspace.catalogue_edit, name="catalogue_edit"),
    path("distribution/", views_workspace.distribution_list, name="distribution_list"),
    path("distribution/<id:rule_id>/", views_workspace.distribution_list, name="distribution_edit"),
    path(
        "requests/<id:request_id>/reassign/",
        views_workspace.request_reassign,
        name="request_reassign",
    ),
    path(
        "requests/<id:request_id>/postpone/",
        views_workspace.request_postpone,
        name="request_postpone",
    ),
    path("approvals/", views_workspace.approval_list, name="approval_list"),
    path("approvals/<id:approval_id>/", views_workspace.approval_decide, name="approval_decide"),
    path("service-levels/", views_workspace.sla_settings, name="sla_settings"),
    path("satisfaction/", views_workspace.satisfaction, name="satisfaction"),
    path("archive/", views_workspace.archive, name="archive"),
    path(
        "staff/<id:membership_id>/availability/",
        views_workspace.employee_availability,
        name="employee_availability",
    ),
]
