"""The review panel of a voucher page (finance/includes/review_panel.html), whatever view
includes it: ``{% review_panel_data voucher as panel %}`` reads the history and what the
current user may do through the selector and the policies."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def review_panel_data(context, voucher) -> dict:
    from finance.views.review import review_panel_context

    return review_panel_context(context["request"], voucher)


@register.filter
def waited(delta) -> str:
    """A wait as days and hours ("2 d 3 h"), or minutes under an hour."""
    from django.utils.translation import gettext as _

    if delta is None:
        return ""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(d)s d %(h)s h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    return _("%(m)s min") % {"m": minutes}
