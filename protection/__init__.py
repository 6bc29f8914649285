"""Tenant data protected: payload encryption, key rings, identities.

Plain Python on `cryptography` and the Temporal SDK's codec interface; imports nothing of
the project's own, so the worker, the client, the CLI, the codec server and the tests all
seal and open payloads the same way.
"""
