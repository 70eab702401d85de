"""What each part of finance declares to the platform (merged in finance.module)."""
