from core.modules import EMPLOYEE, INAPP, Event, MenuEntry, Module, Permissions

PINGED = "throwaway.pinged"


class Perm(Permissions):
    USE = "throwaway.use", "Use the throwaway module"


MODULE = Module(
    name="throwaway",
    permissions=Perm,
    default_grants={EMPLOYEE: [Perm.USE]},
    events={PINGED: Event("Throwaway ping", (INAPP,))},
    menu=[MenuEntry("workspace:throwaway_home", "Throwaway desk", (Perm.USE,), order=45)],
    workspace_urls="tests.throwaway_module.urls.workspace_urlpatterns",
)
