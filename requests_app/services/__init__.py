"""Request use cases, one function each (see the modules for details)."""

from requests_app.services.actions import (
    attachment_add,
    comment_add,
    request_ask_information,
    request_reject,
    request_reopen,
    request_resolve,
    request_start,
)
from requests_app.services.catalogue import (
    distribution_rule_save,
    employee_profile_save,
    leave_add,
    transaction_type_save,
)
from requests_app.services.distribution import distribution_assign
from requests_app.services.submission import request_submit

__all__ = [
    "attachment_add",
    "comment_add",
    "distribution_assign",
    "distribution_rule_save",
    "employee_profile_save",
    "leave_add",
    "request_ask_information",
    "request_reject",
    "request_reopen",
    "request_resolve",
    "request_start",
    "request_submit",
    "transaction_type_save",
]
