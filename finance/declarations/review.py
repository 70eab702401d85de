"""What the review chain (R-41) declares to the platform (merged in finance.module)."""

from django.utils.translation import gettext_lazy as _

from core.modules import EMAIL, INAPP, SMS, Event, MenuEntry

AUDIT_ACTIONS: dict = {
    "finance.review_chain_save": _("Review chain of vouchers saved"),
    "finance.review_chain_delete": _("Review chain of vouchers deleted"),
    "finance.review_delegation_create": _("Review delegated during an absence"),
    "finance.review_delegation_end": _("Review delegation ended"),
    "finance.voucher_submit": _("Voucher submitted for review"),
    "finance.voucher_approve": _("Voucher approved at a review level"),
    "finance.voucher_return": _("Voucher returned for correction"),
    "finance.voucher_reject": _("Voucher rejected"),
}
EVENTS: dict[str, Event] = {
    "finance.review_waiting": Event(_("A voucher waits for your review"), (INAPP, EMAIL, SMS)),
    "finance.voucher_returned": Event(
        _("Your voucher was returned for correction"), (INAPP, EMAIL, SMS)
    ),
    "finance.voucher_rejected": Event(_("Your voucher was rejected"), (INAPP, EMAIL, SMS)),
    "finance.voucher_approved": Event(
        _("Your voucher was approved and posted"), (INAPP, EMAIL, SMS)
    ),
}
MENU: list[MenuEntry] = [
    MenuEntry(
        "workspace:finance_review_inbox",
        _("Vouchers waiting for me"),
        ("finance.review", "finance.approve"),
        order=61,
    ),
    MenuEntry(
        "workspace:finance_review_chains", _("Review chains"), ("finance.configure",), order=68
    ),
]
