"""Notifications (issue 14): what happened to a document, told to the people it concerns.

``services.notify`` records one notification per recipient in the caller's transaction, never
for someone who may not open the document (``policy``), and asks for an e-mail to those who
chose "immediat" (``mail``, queue ``courriels``); a daily digest gathers the others'.
``events`` says which move of the lifecycle tells whom: the lifecycle calls it through
``register_listener`` and names no notification. ``views``: the centre, read marks, preferences.
"""
