from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

DECISION_LABELS = {
    "assigned": _("assigned"),
    "no_candidates": _("no employee can work this service"),
    "nobody_available": _("nobody available: waiting in the unassigned queue"),
    "missing_skills": _("missing the required skills"),
    "out_of_office": _("out of office"),
    "on_leave": _("on leave"),
    "outside_working_hours": _("outside working hours"),
    "at_capacity": _("at the cap of open requests"),
    "round_robin": _("round robin"),
    "least_load": _("least open requests"),
    "weighted": _("weighted"),
}


@register.filter
def decision_label(code: str) -> str:
    """Readable, translated text for the distribution engine's codes."""
    return DECISION_LABELS.get(code, code)
