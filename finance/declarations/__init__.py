"""What each part of the finance app declares to the platform (merged in finance.module)."""
