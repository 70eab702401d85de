"""Employees' calendars (R-20): appointments and their reminders. Every module puts entries in
them (appointments.services.entry_add) without the appointments knowing the modules."""
