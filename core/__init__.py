"""Plumbing shared by every app: the expected-failure exception, job dispatch and live events.

The bottom layer: core <- accounts <- campaigns <- texting. It knows no model.
"""
