"""The ``pretix-shredder`` command-line client for the shredder API.

HTTP only and standard library only: nothing in this package may import pretix or Django, so the client can be
installed and run on any machine that can reach the pretix server.
"""
