"""Employees' calendars (R-20): appointments and their reminders. Every module puts entries in
them (agenda.services.entry_add) without the agenda knowing the modules."""
