"""What the public request index tells the apps above it."""

from django.dispatch import Signal

# Sent by ``index_sync`` inside its transaction after each rewrite of a request's index row,
# with ``agency``, ``previous`` (the row as it was, None for a new row) and ``row`` (as it is
# now). The statistics app moves its rollups by the difference (insights.signals); a receiver's
# error rolls the whole change back.
index_changed = Signal()
