"""Territories (issue 13): AML platforms and ASLL lots as data, who is attached to them, and scoping.

``scope`` says which territory a document or a measure belongs to and which a user reads (the
policy asks it); ``services`` edits the configuration, attachments and grants, and resolves a
document's recipients; ``views`` are the administrator's pages (docs/territories.md).
"""
