"""Spatial core of the Shilongxi grid-management map service.

Models, database access, import/export and analysis. Nothing here imports Flask, so every
function can be called from a script, a test or the web shell alike.
"""
