from django import template

from accounts import two_factor

register = template.Library()


@register.simple_tag(takes_context=True)
def two_factor_status(context) -> dict:
    """For the two-factor pages: whether the user must use it and where they were going."""
    request = context["request"]
    user = request.user
    return {
        "required": two_factor.user_is_required_to_use_two_factor(user),
        "verified": two_factor.session_is_two_factor_verified(request.session, user),
        "next": two_factor.next_url(request),
    }
