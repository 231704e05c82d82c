"""Pure statistics and charts for the portfolio and executive dashboards (numpy, no SQL, no HTTP).

numpy ships in its own Lambda layer, so nothing outside the functions that need these modules may
import them; this package's ``__init__`` imports nothing for the same reason.
"""
