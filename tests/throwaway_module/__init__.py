"""A throwaway module, installed only by tests/test_module_contract.py: it shows that an app
declaring itself in module.py gets its permission, menu entry, URL and event into the platform
without any core file being edited."""
