from django.urls import path

from insights import views

app_name = "insights"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("report/", views.report, name="report"),
    path("agencies/<slug:agency_slug>/", views.agency, name="agency"),
]

workspace_urlpatterns = [
    path("statistics/", views.workspace_statistics, name="statistics"),
    path("statistics/report/", views.workspace_report, name="statistics_report"),
    path("statistics/evaluation/", views.evaluation_settings, name="evaluation_settings"),
]
