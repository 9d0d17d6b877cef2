"""Emails to customers: what is owed (planner), how it reads (render), how it goes (mailers),
and the signed links it carries (links)."""
