"""URLs of the review chain (R-41), under /a/<slug>/ in the "workspace" namespace (assembled
in finance.urls)."""

from django.urls import path

import core.converters  # noqa: F401 - registers <id:…>
from finance.views import review as views

_VOUCHER = "finance/review/vouchers/<id:voucher_id>/"

workspace_urlpatterns: list = [
    path("finance/review/", views.inbox, name="finance_review_inbox"),
    path(_VOUCHER, views.voucher_page, name="finance_review_voucher"),
    path(_VOUCHER + "submit/", views.voucher_submit, name="finance_review_submit"),
    path(_VOUCHER + "approve/", views.voucher_approve, name="finance_review_approve"),
    path(_VOUCHER + "return/", views.voucher_return, name="finance_review_return"),
    path(_VOUCHER + "reject/", views.voucher_reject, name="finance_review_reject"),
    path("finance/review/chains/", views.chain_list, name="finance_review_chains"),
    path("finance/review/chains/new/", views.chain_edit, name="finance_review_chain_new"),
    path("finance/review/chains/<id:chain_id>/", views.chain_edit, name="finance_review_chain"),
    path(
        "finance/review/chains/<id:chain_id>/delete/",
        views.chain_delete,
        name="finance_review_chain_delete",
    ),
    path("finance/review/delegations/", views.delegations, name="finance_review_delegations"),
    path(
        "finance/review/delegations/<id:delegation_id>/end/",
        views.delegation_end,
        name="finance_review_delegation_end",
    ),
]
