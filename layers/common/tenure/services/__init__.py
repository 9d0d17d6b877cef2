"""Use cases, one verb each: load through ports, call the domain, save in one commit."""
