"""`maitred demo`: the hub and partner stand-ins on loopback, playing a short service."""
