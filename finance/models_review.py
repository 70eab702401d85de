"""The review chain of vouchers (R-41): levels the agency configures, the chain frozen on a
voucher when it is submitted, the decisions taken at each level, delegations."""
