"""Navigation menus: each entry appears only when the user may open it (R-17)."""

from django.urls import reverse

from core.modules import PERMISSION_PREFIX, menu_entries

# The entries come from every installed module's declaration (core.modules.MenuEntry), in their
# declared order.


def navigation(request):
    agency = getattr(request, "agency", None)
    user = getattr(request, "user", None)
    if agency is None or user is None or not user.is_authenticated:
        return {"workspace_menu": []}
    if getattr(request, "membership", None) is None:
        return {"workspace_menu": []}
    path = request.path
    menu = []
    for entry in menu_entries():
        if entry.permissions and not any(
            user.has_perm(PERMISSION_PREFIX + code) for code in entry.permissions
        ):
            continue
        url = reverse(entry.url_name, kwargs={"agency_slug": agency.slug})
        menu.append({"url": url, "label": entry.label, "current": False})
    # The current entry is the longest URL the page is under (the overview only on itself).
    matches = [
        item
        for item in menu
        if path == item["url"] or (path.startswith(item["url"]) and item is not menu[0])
    ]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["current"] = True
    return {"workspace_menu": menu}
