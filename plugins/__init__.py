"""Feature plugins shipped with Contacts; each registers through the contacts.plugins entry point."""
