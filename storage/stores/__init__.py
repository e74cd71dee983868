"""The repository's parts, one per aggregate: each a ``Store`` holding the SQL of its tables.

``storage.testimonials.Repository`` inherits them all, so the bot gets one object with every
method; each store also works alone on a ``Database`` (what its tests may use).
"""
